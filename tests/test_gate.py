"""The Gate with real regorus and a real SQLite ledger: decide, record, wait, act; fail closed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event

from audit import LedgerReader, LedgerWriteError, LedgerWriter, open_engine
from governance.approvals.store import Approvals
from governance.errors import ApprovalMismatch, BusinessRuleError, SelfApprovalError
from governance.gate import Gate
from governance.identity.users import Identity
from governance.models import Action
from governance.policy.regorus import RegorusEngine
from governance.waiting.polling import PollingWaiter
from proctor.composition import Governance
from tests.conftest import approvers


def action(kind: str = "acme.release_payment", amount: str = "100.00", **extra) -> Action:
    return Action(
        kind=kind, target="acme-payables", robot="robot:acme-payables", requested_by="alice",
        flow_run_id="run-1", idempotency_key=extra.pop("key", f"release:{amount}"),
        params={"vendor": "Globex Corporation", "invoice_number": "INV-1", "amount": amount,
                "currency": "EUR", **extra},
        context={"invoice_status": "entered"},
    )


class Effect:
    """A real effect with a visible consequence: it counts what it did."""

    def __init__(self) -> None:
        self.done: list[Action] = []

    def __call__(self, a: Action) -> dict:
        self.done.append(a)
        return {"released": a.params["invoice_number"]}


def kinds(governance: Governance) -> list[str]:
    return [e.kind for e in governance.reader.tail(100)]


def test_allowed_action_runs_and_is_recorded_in_order(governance: Governance) -> None:
    effect = Effect()
    outcome = governance.gate.submit(action(), effect)
    assert outcome.status == "succeeded" and len(effect.done) == 1
    assert kinds(governance) == ["action.proposed", "policy.decided", "action.started",
                                 "action.succeeded"]
    decided = governance.reader.query(kind="policy.decided")[0].data()
    assert decided["policy_revision"] == governance.policy.revision
    assert governance.reader.verify().ok


def test_denied_action_does_not_run(governance: Governance) -> None:
    effect = Effect()
    outcome = governance.gate.submit(action(amount="999999.00"), effect)
    assert outcome.status == "denied" and effect.done == []
    assert "amount_over_hard_limit" in outcome.message
    assert "action.started" not in kinds(governance)


def test_broken_policy_denies_and_nothing_executes(governance: Governance,
                                                    policy_dir: Path) -> None:
    (policy_dir / "proctor.rego").write_text("package proctor\ndecision := {")
    gate = Gate(RegorusEngine(policy_dir), governance.writer, governance.reader,
                governance.approvals, PollingWaiter(governance.approvals))
    effect = Effect()
    assert gate.submit(action(), effect).status == "denied"
    assert effect.done == []


def test_engine_that_raises_denies(governance: Governance) -> None:
    class Exploding:
        revision = "r1"

        def decide(self, policy_input: dict) -> None:
            raise ConnectionError("policy server unreachable")

    gate = Gate(Exploding(), governance.writer, governance.reader, governance.approvals,
                PollingWaiter(governance.approvals))
    effect = Effect()
    outcome = gate.submit(action(), effect)
    assert outcome.status == "denied" and "policy server unreachable" in outcome.message
    assert effect.done == []


@pytest.mark.parametrize("failure", ["locked", "read_only", "disk_full"])
def test_unwritable_ledger_stops_the_action(tmp_path: Path, policy_dir: Path,
                                            failure: str) -> None:
    db = tmp_path / "ledger.db"
    LedgerWriter(open_engine(f"sqlite:///{db}")).append("genesis", actor="test")
    if failure == "read_only":
        engine = open_engine(f"sqlite:///file:{db}?mode=ro&uri=true")
    else:
        engine = open_engine(f"sqlite:///{db}", busy_timeout_ms=100)
    if failure == "disk_full":
        @event.listens_for(engine, "connect")
        def _cap(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")
        engine.dispose()
    writer, reader = LedgerWriter(engine), LedgerReader(engine)
    store = open_engine(f"sqlite:///{tmp_path / 'approvals.db'}")
    approvals = Approvals(store, writer, Identity(store))
    gate = Gate(RegorusEngine(policy_dir), writer, reader, approvals, PollingWaiter(approvals))
    effect = Effect()
    if failure == "locked":
        import sqlite3

        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
    # Big parameters make even the first append need new pages on the capped database.
    with pytest.raises(LedgerWriteError):
        gate.submit(action(memo="x" * 20000), effect)
    assert effect.done == []


def test_approved_action_runs_once_approved(governance: Governance) -> None:
    effect = Effect()
    approver = approvers(governance, ("bob", "approve"))
    outcome = governance.gate.submit(action(amount="48500.00"), effect)
    approver.join()
    assert outcome.status == "succeeded" and len(effect.done) == 1
    request = governance.approvals.get(outcome.approval_id)
    assert request.status == "approved" and request.used_at is not None
    assert {"approval.requested", "approval.voted", "approval.approved",
            "approval.used"} <= set(kinds(governance))


def test_rejected_action_does_not_run(governance: Governance) -> None:
    effect = Effect()
    approver = approvers(governance, ("bob", "reject"))
    outcome = governance.gate.submit(action(amount="48500.00"), effect)
    approver.join()
    assert outcome.status == "rejected" and effect.done == []
    assert "action.started" not in kinds(governance)


def test_requester_cannot_approve_their_own_request(governance: Governance) -> None:
    decision = governance.policy.decide(action(amount="48500.00").policy_input())
    request = governance.approvals.open(action(amount="48500.00"), decision)
    for who in ("alice", "robot:acme-payables"):
        with pytest.raises(SelfApprovalError):
            governance.approvals.approve(request.id, who)
    assert governance.approvals.get(request.id).status == "pending"
    refused = governance.reader.query(kind="approval.refused")
    assert [e.actor for e in refused] == ["alice", "robot:acme-payables"]


def test_approval_for_one_action_cannot_release_another(governance: Governance) -> None:
    approved = action(amount="48500.00")
    decision = governance.policy.decide(approved.policy_input())
    request = governance.approvals.open(approved, decision)
    governance.approvals.approve(request.id, "bob")
    # Same invoice, one invisible character added to the vendor name.
    other = action(amount="48500.00", vendor="Globex\u200b Corporation")
    with pytest.raises(ApprovalMismatch):
        governance.approvals.use(request.id, other)
    governance.approvals.use(request.id, approved)
    with pytest.raises(Exception, match="already used"):
        governance.approvals.use(request.id, approved)


def test_expired_request_denies(governance: Governance, policy_dir: Path) -> None:
    data = (policy_dir / "data.json").read_text().replace('"expires_in_s": 86400',
                                                          '"expires_in_s": 1')
    (policy_dir / "data.json").write_text(data)
    gate = Gate(RegorusEngine(policy_dir), governance.writer, governance.reader,
                governance.approvals, PollingWaiter(governance.approvals, 0.05))
    effect = Effect()
    outcome = gate.submit(action(amount="48500.00"), effect)
    assert outcome.status == "expired" and effect.done == []
    assert governance.approvals.get(outcome.approval_id).status == "expired"


def test_replayed_transaction_is_not_done_twice(governance: Governance) -> None:
    effect = Effect()
    first = governance.gate.submit(action(), effect)
    again = governance.gate.submit(action(), effect)
    assert first.status == "succeeded" and again.status == "already_done"
    assert again.result == first.result and len(effect.done) == 1


def test_started_without_outcome_is_in_doubt(governance: Governance) -> None:
    a = action()
    governance.writer.append("action.started", actor=a.robot, idempotency_key=a.idempotency_key)
    effect = Effect()
    assert governance.gate.submit(a, effect).status == "in_doubt"
    assert effect.done == []


def test_business_refusal_is_recorded_not_raised(governance: Governance) -> None:
    def refuse(a: Action) -> dict:
        raise BusinessRuleError("Invoice number INV-1 already exists for this vendor")

    outcome = governance.gate.submit(action(), refuse)
    assert outcome.status == "failed" and "already exists" in outcome.message
    failed = governance.reader.query(kind="action.failed")[0].data()
    assert failed["business"] is True


def test_system_failure_is_recorded_and_raised(governance: Governance) -> None:
    def crash(a: Action) -> dict:
        raise TimeoutError("app did not answer")

    with pytest.raises(TimeoutError):
        governance.gate.submit(action(), crash)
    assert governance.reader.query(kind="action.failed")[0].data()["business"] is False


def test_unknown_outcome_found_in_the_app_is_reconciled(governance: Governance) -> None:
    a = action()
    governance.writer.append("action.started", actor=a.robot, idempotency_key=a.idempotency_key)
    effect = Effect()
    outcome = governance.gate.submit(a, effect, reconcile=lambda act: {"found": "in list"})
    assert outcome.status == "reconciled" and outcome.done and effect.done == []
    assert governance.gate.submit(a, effect).status == "already_done"


def test_unknown_outcome_not_in_the_app_is_done_once(governance: Governance) -> None:
    def crash(a: Action) -> dict:
        raise ConnectionError("reset by peer")

    with pytest.raises(ConnectionError):
        governance.gate.submit(action(), crash)
    effect = Effect()
    looked: list[str] = []
    outcome = governance.gate.submit(action(), effect,
                                     reconcile=lambda act: looked.append(act.id) or None)
    assert outcome.status == "succeeded" and len(effect.done) == 1 and len(looked) == 1
    assert "action.reconcile_checked" in kinds(governance)
