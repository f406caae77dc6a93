"""Prometheus metrics for operators, read from the ledger and the approval store.

Every worker writes the ledger; the review service reads it. So the service can count what all
workers did without each exposing its own endpoint: at every scrape it reads the entries
appended since the last scrape (one indexed query) and adds them to its counters.

    proctor_decisions_total{outcome}                policy decisions, by outcome
    proctor_actions_total{action_kind,status}       outcomes: succeeded, failed, reconciled, ...
    proctor_robot_step_seconds{action_kind}         from action.started to its outcome
    proctor_ledger_entries_total{kind}              every ledger entry, by kind
    proctor_ledger_last_seq                         the ledger's length
    proctor_approvals_pending{group}                requests waiting for people
    proctor_approvals_oldest_pending_seconds{group} how long the oldest has waited
    proctor_actions_in_flight{target}               started, no outcome yet, per application
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from audit import LedgerReader
from governance.approvals.store import ApprovalRequest

OUTCOMES = ("action.succeeded", "action.failed", "action.reconciled", "action.in_doubt")
# Read-backs, recorded after an effect's outcome: counted apart so no action counts twice.
CHECKS = ("action.verified", "action.diverged", "action.unverified")
STEP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)


class LedgerMetrics:
    """Counters fed from the ledger, gauges from the approval store; `render()` for /metrics."""

    def __init__(self, reader: LedgerReader, engine: Engine) -> None:
        self._reader, self._engine = reader, engine
        self._lock = threading.Lock()
        self._after = 0
        self._started: dict[str, tuple[datetime, str]] = {}  # action id -> (when, kind)
        self.registry = CollectorRegistry()
        r = self.registry
        self.decisions = Counter("proctor_decisions", "policy decisions", ["outcome"], registry=r)
        self.actions = Counter("proctor_actions", "action outcomes", ["action_kind", "status"],
                               registry=r)
        self.checks = Counter("proctor_effects_checked", "effects read back from the app",
                              ["action_kind", "result"], registry=r)
        self.steps = Histogram("proctor_robot_step_seconds", "from started to outcome",
                               ["action_kind"], buckets=STEP_BUCKETS, registry=r)
        self.entries = Counter("proctor_ledger_entries", "ledger entries", ["kind"], registry=r)
        self.last_seq = Gauge("proctor_ledger_last_seq", "entries in the ledger", registry=r)
        self.pending = Gauge("proctor_approvals_pending", "requests waiting", ["group"],
                             registry=r)
        self.oldest = Gauge("proctor_approvals_oldest_pending_seconds",
                            "age of the oldest pending request", ["group"], registry=r)
        self.in_flight = Gauge("proctor_actions_in_flight", "started, no outcome yet",
                               ["target"], registry=r)

    def render(self) -> bytes:
        """Bring the figures up to date and return them in the Prometheus text format."""
        with self._lock:
            self._read_ledger()
            self._read_queue()
            return generate_latest(self.registry)

    def _read_ledger(self) -> None:
        for row in self._reader.rows(after=self._after):
            self._after = row["seq"]
            kind = row["kind"]
            self.entries.labels(kind).inc()
            payload = json.loads(row["payload"] or "{}")
            if kind == "policy.decided":
                self.decisions.labels(payload.get("outcome", "unknown")).inc()
            elif kind == "action.started" and row["action_id"]:
                self._started[row["action_id"]] = (_when(row["recorded_at"]),
                                                   row["action_kind"] or "")
            elif kind in CHECKS:
                self.checks.labels(row["action_kind"] or "", kind.split(".")[1]).inc()
            elif kind in OUTCOMES:
                self.actions.labels(row["action_kind"] or "", kind.split(".")[1]).inc()
                began = self._started.pop(row["action_id"], None)
                if began is not None:
                    seconds = (_when(row["recorded_at"]) - began[0]).total_seconds()
                    self.steps.labels(began[1]).observe(max(0.0, seconds))
        self.last_seq.set(self._after)
        self.in_flight.clear()
        for _, kind in self._started.values():  # the application is the kind's prefix
            self.in_flight.labels(kind.split(".")[0]).inc()

    def _read_queue(self) -> None:
        now = datetime.now(UTC)
        stmt = (select(ApprovalRequest.approver_group, func.count(),
                       func.min(ApprovalRequest.created_at))
                .where(ApprovalRequest.status == "pending")
                .group_by(ApprovalRequest.approver_group))
        self.pending.clear()
        self.oldest.clear()
        with Session(self._engine) as session:
            for group, count, oldest in session.exec(stmt).all():
                self.pending.labels(group).set(count)
                self.oldest.labels(group).set((now - _aware(oldest)).total_seconds())


def _when(text: str) -> datetime:
    return _aware(datetime.fromisoformat(text))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
