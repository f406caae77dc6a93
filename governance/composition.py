"""The composition root: the one place that reads settings and picks the adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit import Checkpoints, LedgerReader, LedgerWriter, open_engine
from audit.keys import load_or_create_signing_key
from audit.redaction import Redactor, load_or_create_key
from governance.approvals import Approvals
from governance.gate import Gate
from governance.identity import Identity
from governance.policy_regorus import RegorusEngine
from governance.settings import Settings
from governance.waiting import PrefectPauseWaiter, resume_run_when_paused


@dataclass(frozen=True)
class Governance:
    """Everything a flow or a command needs, wired together."""

    settings: Settings
    writer: LedgerWriter
    reader: LedgerReader
    checkpoints: Checkpoints
    approvals: Approvals
    identity: Identity
    redactor: Redactor
    policy: RegorusEngine
    gate: Gate


def build(settings: Settings | None = None, *, resume_runs: bool = True) -> Governance:
    """Wire the default stack: SQLite/PostgreSQL ledger, regorus policy, Prefect pauses.

    With `resume_runs`, resolving a request resumes the paused flow run waiting on it.
    """
    settings = settings or Settings()
    _ensure_sqlite_folder(settings.ledger.url)
    engine = open_engine(settings.ledger.url, busy_timeout_ms=settings.ledger.busy_timeout_ms)
    checkpoints = Checkpoints(engine, load_or_create_signing_key(settings.ledger.signing_key),
                              settings.ledger.checkpoint_dir)
    redactor = Redactor(load_or_create_key(settings.ledger.redaction_key))
    writer = LedgerWriter(engine, redactor=redactor, checkpoints=checkpoints,
                          checkpoint_every=settings.ledger.checkpoint_every)
    reader = LedgerReader(engine, redactor=redactor)
    patience = settings.approvals.resume_patience_s
    approvals = Approvals(
        engine,
        writer,
        on_resolved=(lambda r: resume_run_when_paused(r, patience)) if resume_runs else None,
    )
    policy = RegorusEngine(settings.policy.dir, timeout_ms=settings.policy.timeout_ms)
    waiter = PrefectPauseWaiter(approvals, settings.approvals.poll_interval_s)
    gate = Gate(policy, writer, reader, approvals, waiter)
    return Governance(settings, writer, reader, checkpoints, approvals, Identity(engine), redactor,
                      policy, gate)


def _ensure_sqlite_folder(url: str) -> None:
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        Path(url[len(prefix):].split("?")[0]).parent.mkdir(parents=True, exist_ok=True)
