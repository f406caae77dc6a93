"""The Gate's chain itself, with real regorus and a real SQLite ledger: the order of what it
writes for each path, a step added by a test, plan mode, and a chain that cannot act without
a decision."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.gate import Gate, Proposal, compose
from governance.gate.execute import Execute
from governance.gate.record import Record
from governance.models import Action, Outcome
from governance.policy.regorus import RegorusEngine
from governance.waiting.polling import PollingWaiter
from proctor.composition import Governance
from tests.conftest import approvers
from tests.test_gate import Effect, action, kinds


def gate(governance: Governance, policy_dir: Path, **options: object) -> Gate:
    return Gate(RegorusEngine(policy_dir), governance.writer, governance.reader,
                governance.approvals, PollingWaiter(governance.approvals, 0.05),
                **options)  # type: ignore[arg-type]


def test_the_chain_runs_in_the_documented_order(governance: Governance,
                                                policy_dir: Path) -> None:
    names = [type(step).__name__ for step in
             gate(governance, policy_dir, shadow=RegorusEngine(policy_dir)).chain]
    assert names == ["Tracing", "OneAtATime", "Replay", "Policy", "Shadow", "Record",
                     "Approval", "Verification", "Execute"]
    planning = [type(step).__name__ for step in gate(governance, policy_dir, plan=True).chain]
    assert planning == ["Tracing", "Plan", "Policy", "Rehearse"]


def test_ledger_order_for_allow_deny_approval_and_replay(governance: Governance) -> None:
    effect = Effect()
    assert governance.gate.submit(action(), effect).status == "succeeded"
    allowed = ["action.proposed", "policy.decided", "action.started", "action.succeeded"]
    assert kinds(governance) == allowed
    assert governance.gate.submit(action(), effect).status == "already_done"  # replay
    assert kinds(governance) == allowed  # a replay writes nothing
    assert governance.gate.submit(action(amount="999999.00"), effect).status == "denied"
    assert kinds(governance) == [*allowed, "action.proposed", "policy.decided"]
    approver = approvers(governance, ("bob", "approve"))
    approved = governance.gate.submit(action(amount="48500.00"), effect)
    approver.join()
    assert approved.status == "succeeded" and len(effect.done) == 2
    after = kinds(governance)[len(allowed) + 2:]
    assert after[:3] == ["action.proposed", "policy.decided", "approval.requested"]
    assert after[-3:] == ["approval.used", "action.started", "action.succeeded"]
    assert "approval.approved" in after[3:-3]
    started = governance.reader.query(kind="action.started")[-1].data()
    assert started["approval_id"] == approved.approval_id
    assert governance.reader.verify().ok


class Spy:
    """A step added by the test: notes what it sees, and what the ledger holds, then hands on
    (or, as a veto, answers itself)."""

    def __init__(self, governance: Governance, veto: bool = False) -> None:
        self.governance, self.veto = governance, veto
        self.seen: list[tuple[Proposal, list[str]]] = []

    def __call__(self, proposal: Proposal, call_next) -> Outcome:  # type: ignore[no-untyped-def]
        self.seen.append((proposal, kinds(self.governance)))
        if self.veto:
            return proposal.answer("denied", message="vetoed by the spy")
        return call_next(proposal)


def test_an_added_interceptor_sees_the_decided_proposal_before_execute(
        governance: Governance, policy_dir: Path) -> None:
    spy = Spy(governance)
    effect = Effect()
    approver = approvers(governance, ("bob", "approve"))
    outcome = gate(governance, policy_dir, interceptors=[spy]).submit(
        action(amount="48500.00"), effect)
    approver.join()
    assert outcome.status == "succeeded" and len(effect.done) == 1
    ((proposal, ledger),) = spy.seen
    assert proposal.action == effect.done[0]
    assert proposal.decision is not None and proposal.decision.outcome == "require_approval"
    assert proposal.approval_id == outcome.approval_id is not None
    assert "approval.used" in ledger and "action.started" not in ledger


def test_an_added_interceptor_that_answers_stops_the_effect(governance: Governance,
                                                            policy_dir: Path) -> None:
    effect = Effect()
    outcome = gate(governance, policy_dir, interceptors=[Spy(governance, veto=True)]).submit(
        action(), effect)
    assert outcome.status == "denied" and outcome.message == "vetoed by the spy"
    assert effect.done == [] and "action.started" not in kinds(governance)


def test_a_denied_proposal_never_reaches_an_added_interceptor(governance: Governance,
                                                              policy_dir: Path) -> None:
    spy = Spy(governance)
    gate(governance, policy_dir, interceptors=[spy]).submit(action(amount="999999.00"),
                                                             Effect())
    assert spy.seen == []


def test_plan_mode_asks_the_policy_and_records_and_performs_nothing(
        governance: Governance, policy_dir: Path) -> None:
    planner = gate(governance, policy_dir, plan=True)
    effect = Effect()
    outcomes = [planner.submit(action(amount=amount), effect)
                for amount in ("100.00", "48500.00", "999999.00")]
    assert [o.status for o in outcomes] == ["planned"] * 3
    assert [o.decision.outcome for o in outcomes if o.decision] == [
        "allow", "require_approval", "deny"]
    assert outcomes[0].message.startswith("would run")
    assert outcomes[2].message.startswith("would be denied")
    assert effect.done == [] and governance.reader.count() == 0
    assert governance.approvals.list("pending") == []
    assert [(a.params["amount"], o) for a, o in planner.planned] == list(zip(
        ("100.00", "48500.00", "999999.00"), outcomes, strict=True))
    login = Action(kind="acme.login", target="acme-payables", robot="robot:acme-payables",
                   requested_by="alice")
    signed_in = planner.submit(login, lambda a: {"signed_in": True}, harmless=True)
    assert signed_in.status == "succeeded" and signed_in.result == {"signed_in": True}
    assert governance.reader.count() == 0


def test_a_chain_without_a_decision_acts_on_nothing(governance: Governance) -> None:
    effect = Effect()
    chain = compose([Record(governance.writer), Execute(governance.writer)])
    with pytest.raises(RuntimeError, match="no policy decision"):
        chain(Proposal(action(), effect))
    assert effect.done == [] and governance.reader.count() == 0
