"""The ledger's two sides: `LedgerWriter` appends durable entries, `LedgerReader` reads them.

    writer = LedgerWriter(engine)
    entry = writer.append("action.proposed", actor="robot:acme", payload={...})
    LedgerReader(engine).verify().ok   # True while nobody edited the table behind our back
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from audit.chain import GENESIS_HASH, Verification, canonical_json, entry_hash
from audit.checkpoints import Checkpoint, Checkpoints
from audit.entries import LedgerEntry
from audit.errors import LedgerWriteError
from audit.redaction import Redactor
from audit.store import WRITE_OPTION, lock_for_append
from audit.verify import verify_log

log = logging.getLogger(__name__)

# Outcome kinds that settle what happened to an idempotency key.
OUTCOME_KINDS = ("action.succeeded", "action.failed", "action.started")


class LedgerWriter:
    """Appends entries; `append` returns only once the entry is committed (durable)."""

    def __init__(self, engine: Engine, *, redactor: Redactor | None = None,
                 checkpoints: Checkpoints | None = None, checkpoint_every: int = 0) -> None:
        self._engine = engine
        self._redactor = redactor or Redactor(None)
        self._checkpoints = checkpoints
        self._checkpoint_every = checkpoint_every

    def append(
        self,
        kind: str,
        *,
        actor: str,
        payload: dict[str, Any] | None = None,
        flow_run_id: str | None = None,
        action_id: str | None = None,
        action_kind: str | None = None,
        idempotency_key: str | None = None,
        sensitive: frozenset[str] = frozenset(),
    ) -> LedgerEntry:
        """Record one event at the end of the chain; secrets in `payload` (and fields named in
        `sensitive`) are replaced by keyed hashes before anything is written.

        Raises `LedgerWriteError` when the entry could not be made durable; then nothing was
        recorded and the caller must not carry out what the entry describes.
        """
        fields: dict[str, Any] = {
            "recorded_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "kind": kind,
            "actor": actor,
            "flow_run_id": flow_run_id,
            "action_id": action_id,
            "action_kind": action_kind,
            "idempotency_key": self._redactor.text(idempotency_key) if idempotency_key else None,
            "payload": canonical_json(self._redactor.payload(payload or {}, sensitive)),
        }
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{WRITE_OPTION: True})
                with conn.begin(), Session(bind=conn) as session:
                    lock_for_append(conn)
                    entry = self._chain(session, fields)
                    session.add(entry)
                    session.flush()
                    session.expunge(entry)
        except SQLAlchemyError as exc:
            raise LedgerWriteError(
                f"could not record '{kind}' in the ledger: {_reason(exc)}. Nothing was done; "
                "check that the ledger database is reachable, writable and has free space."
            ) from exc
        if self._checkpoints and self._checkpoint_every and entry.seq % self._checkpoint_every == 0:
            self._checkpoint()
        return entry

    def _checkpoint(self) -> None:
        try:
            self._checkpoints.make()  # type: ignore[union-attr]
        except Exception as exc:  # the entry is durable; a missed checkpoint is made next time
            log.warning("could not make a ledger checkpoint: %s", exc)

    @staticmethod
    def _chain(session: Session, fields: dict[str, Any]) -> LedgerEntry:
        last = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq).desc())).first()
        fields["seq"] = last.seq + 1 if last else 1
        fields["prev_hash"] = last.entry_hash if last else GENESIS_HASH
        return LedgerEntry(**fields, entry_hash=entry_hash(fields))


class LedgerReader:
    """Reads, searches and verifies the ledger."""

    def __init__(self, engine: Engine, *, redactor: Redactor | None = None) -> None:
        self._engine = engine
        self._redactor = redactor or Redactor(None)

    def query(
        self,
        *,
        flow_run_id: str | None = None,
        action_kind: str | None = None,
        actor: str | None = None,
        kind: str | None = None,
        idempotency_key: str | None = None,
        action_id: str | None = None,
        seq: int | None = None,
        limit: int | None = None,
    ) -> list[LedgerEntry]:
        """Entries matching every given filter, oldest first (the last `limit` when given)."""
        filters = {
            "flow_run_id": flow_run_id,
            "action_kind": action_kind,
            "actor": actor,
            "kind": kind,
            "idempotency_key": idempotency_key,
            "action_id": action_id,
            "seq": seq,
        }
        stmt = select(LedgerEntry)
        for name, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(LedgerEntry, name) == value)
        stmt = stmt.order_by(col(LedgerEntry.seq).desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with Session(self._engine) as session:
            return list(reversed(session.exec(stmt).all()))

    def tail(self, n: int = 20) -> list[LedgerEntry]:
        """The last `n` entries, oldest first."""
        return self.query(limit=n)

    def count(self) -> int:
        with Session(self._engine) as session:
            return session.exec(select(func.count()).select_from(LedgerEntry)).one()

    def last_outcome(self, idempotency_key: str) -> LedgerEntry | None:
        """The latest started/succeeded/failed entry for a business transaction, if any."""
        stmt = (
            select(LedgerEntry)
            .where(LedgerEntry.idempotency_key == self._redactor.text(idempotency_key))
            .where(col(LedgerEntry.kind).in_(OUTCOME_KINDS))
            .order_by(col(LedgerEntry.seq).desc())
        )
        with Session(self._engine) as session:
            return session.exec(stmt).first()

    def verify(self, checkpoints: Sequence[Checkpoint] = (),
               public_key: Ed25519PublicKey | None = None, batch: int = 5000) -> Verification:
        """Walk the whole chain, checking each signed checkpoint on the way; report the first
        entry that was altered, removed, moved, forked or truncated."""
        return verify_log(self.rows(batch), checkpoints, public_key)

    def rows(self, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """Every entry as a dict, in order, read in batches (plain rows: verification is hot)."""
        table = LedgerEntry.__table__
        after = 0
        while True:
            with self._engine.connect() as conn:
                page = conn.execute(table.select().where(table.c.seq > after)
                                    .order_by(table.c.seq).limit(batch)).mappings().all()
            if not page:
                return
            yield from (dict(row) for row in page)
            after = page[-1]["seq"]


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    return str(original or exc).splitlines()[0]
