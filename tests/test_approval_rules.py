"""The approval rules, on the real store and the real policy: separation of duties, quorum,
expiry, escalation, delegation, replay, edits and bulk approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from governance.approvals.store import Approvals, QueueFilter, view_digest
from governance.errors import (
    ApprovalError,
    ApprovalForbidden,
    ApprovalMismatch,
    ApprovalNotPending,
    ReauthenticationRequired,
    SelfApprovalError,
)
from governance.identity.users import Identity, IdentityError
from governance.models import Action, Decision
from proctor.composition import Governance


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def payment(amount: str = "48500.00", **changes: Any) -> Action:
    fields: dict[str, Any] = dict(
        kind="acme.release_payment", target="acme-payables", robot="robot:acme-payables",
        requested_by="alice", flow_run_id="run-1", step="row 4: release",
        idempotency_key=f"release:{amount}",
        params={"vendor": "Globex Corporation", "invoice_number": "INV-4", "amount": amount,
                "currency": "EUR"},
        context={"invoice_status": "entered"})
    fields.update(changes)
    return Action(**fields)


def bank_change() -> Action:
    return Action(kind="acme.change_bank_account", target="acme-payables",
                  robot="robot:acme-payables", requested_by="alice",
                  params={"vendor": "Initech GmbH", "old_iban": "DE02120300000000202051",
                          "new_iban": "CH9300762011623852957"},
                  sensitive=frozenset({"old_iban", "new_iban"}))


def decision(governance: Governance, action: Action, **changes: Any) -> Decision:
    made = governance.policy.decide(action.policy_input())
    return made.model_copy(update=changes) if changes else made


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clocked(governance: Governance, clock: Clock) -> Approvals:
    """The same store and people, on a clock the test controls."""
    return Approvals(governance.engine, governance.writer, Identity(governance.engine,
                                                                   clock=clock), clock=clock)


def refusals(governance: Governance) -> list[tuple[str, str]]:
    return [(e.actor, e.data()["reason"]) for e in governance.reader.query(
        kind="approval.refused")]


# --- separation of duties --------------------------------------------------------------------

def test_requester_flow_author_and_robot_cannot_vote(governance: Governance) -> None:
    action = payment(flow_author="dave")
    request = governance.approvals.open(action, decision(governance, action))
    for who in ("alice", "dave", "robot:acme-payables"):
        with pytest.raises(SelfApprovalError):
            governance.approvals.approve(request.id, who, seen=request.view_digest)
    assert governance.approvals.get(request.id).status == "pending"
    assert [who for who, _ in refusals(governance)] == ["alice", "dave", "robot:acme-payables"]


def test_admins_and_other_groups_get_no_bypass(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action))
    for who in ("adam", "dora", "erin", "nobody"):  # admin, auditor, no group, unknown
        with pytest.raises(ApprovalForbidden, match="not an approver of finance-approvers"):
            governance.approvals.approve(request.id, who)
    with pytest.raises(IdentityError, match="own roles, groups"):
        governance.identity.update_user("adam", by="adam", roles={"admin", "approver"},
                                        groups={"finance-approvers"})
    with pytest.raises(IdentityError, match="delegates to themselves"):
        governance.identity.delegate("bob", "adam", by="adam",
                                     until=datetime.now(UTC) + timedelta(days=1))
    assert governance.approvals.get(request.id).status == "pending"


def test_a_delegate_cannot_vote_for_the_requester(governance: Governance) -> None:
    governance.identity.update_user("alice", by="adam", roles={"author", "approver"},
                                    groups={"finance-approvers"})
    governance.identity.delegate("alice", "erin", by="alice",
                                 until=datetime.now(UTC) + timedelta(days=1))
    action = payment()
    request = governance.approvals.open(action, decision(governance, action))
    with pytest.raises(SelfApprovalError, match="acts for alice"):
        governance.approvals.approve(request.id, "erin")


# --- quorum ----------------------------------------------------------------------------------

def test_quorum_counts_distinct_people(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action, quorum=2))
    assert governance.approvals.approve(request.id, "bob").status == "pending"
    assert governance.approvals.approve(request.id, "bob").status == "pending"  # idempotent
    assert len(governance.approvals.votes(request.id)) == 1
    assert governance.approvals.approve(request.id, "carol").status == "approved"
    approved = governance.reader.query(kind="approval.approved")[0].data()
    assert approved["approvers"] == ["bob", "carol"]


def test_a_delegate_and_their_principal_count_once(governance: Governance) -> None:
    governance.identity.delegate("bob", "erin", by="bob",
                                 until=datetime.now(UTC) + timedelta(days=1))
    action = payment()
    request = governance.approvals.open(action, decision(governance, action, quorum=2))
    governance.approvals.approve(request.id, "erin")
    with pytest.raises(ApprovalError, match="bob has already voted"):
        governance.approvals.approve(request.id, "bob")
    assert governance.approvals.approve(request.id, "dave").status == "approved"
    vote = governance.approvals.votes(request.id)[0]
    assert (vote.voter, vote.on_behalf_of) == ("erin", "bob")


def test_one_rejection_is_final_and_needs_a_reason(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action, quorum=2))
    with pytest.raises(ApprovalError, match="comment"):
        governance.approvals.reject(request.id, "bob", "  ")
    governance.approvals.approve(request.id, "carol")
    assert governance.approvals.reject(request.id, "bob", "vendor on hold").status == "rejected"
    with pytest.raises(ApprovalNotPending):
        governance.approvals.approve(request.id, "dave")


# --- expiry, escalation, delegation ----------------------------------------------------------

def test_expiry_rejects_and_nothing_can_be_voted_after(governance: Governance,
                                                       clocked: Approvals, clock: Clock) -> None:
    action = payment()
    request = clocked.open(action, decision(governance, action))
    clock.advance(seconds=86_401)
    assert clocked.sweep() == (1, 0)
    assert clocked.get(request.id).status == "expired"
    with pytest.raises(ApprovalNotPending):
        clocked.approve(request.id, "bob")
    with pytest.raises(ApprovalNotPending):
        clocked.use(request.id, action)
    assert governance.reader.query(kind="approval.expired")[0].actor == "proctor"


def test_escalation_lets_the_fallback_group_decide(governance: Governance, clocked: Approvals,
                                                   clock: Clock) -> None:
    action = payment()
    made = decision(governance, action)
    assert (made.escalation_group, made.escalate_after_s) == ("risk-committee", 14_400)
    request = clocked.open(action, made)
    with pytest.raises(ApprovalForbidden):
        clocked.approve(request.id, "rita")  # risk committee: not before the deadline
    assert clocked.page(QueueFilter(groups=frozenset({"risk-committee"}))).total == 0
    clock.advance(hours=4, seconds=1)
    assert clocked.sweep() == (0, 1)
    assert clocked.page(QueueFilter(groups=frozenset({"risk-committee"}))).total == 1
    assert clocked.approve(request.id, "rita").status == "approved"
    escalated = governance.reader.query(kind="approval.escalated")
    assert len(escalated) == 1 and escalated[0].data()["escalation_group"] == "risk-committee"


def test_delegation_ends_on_its_date(governance: Governance, clocked: Approvals,
                                     clock: Clock) -> None:
    identity = clocked.identity
    with pytest.raises(IdentityError, match="end date"):
        identity.delegate("dave", "erin", by="dave", until=clock.now - timedelta(hours=1))
    identity.delegate("dave", "erin", by="dave", until=clock.now + timedelta(days=2))
    first, second = payment("20000.00"), payment("30000.00")
    one = clocked.open(first, decision(governance, first, expires_in_s=30 * 86_400))
    two = clocked.open(second, decision(governance, second, expires_in_s=30 * 86_400))
    assert clocked.approve(one.id, "erin").status == "approved"
    clock.advance(days=2)
    with pytest.raises(ApprovalForbidden, match="erin is not an approver"):
        clocked.approve(two.id, "erin")


# --- binding and replay ----------------------------------------------------------------------

def test_approval_is_bound_to_the_exact_action_and_used_once(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action))
    governance.approvals.approve(request.id, "bob", seen=request.view_digest)
    for changed in (payment(params={**action.params, "vendor": "Globex\u200b Corporation"}),
                    payment(params={**action.params, "amount": "48500.01"}),
                    payment(flow_run_id="run-2"), payment(step="row 5: release")):
        with pytest.raises(ApprovalMismatch):
            governance.approvals.use(request.id, changed)
    assert governance.approvals.use(request.id, action) is action
    with pytest.raises(ApprovalNotPending, match="already used"):
        governance.approvals.use(request.id, action)


def test_a_vote_for_a_view_that_changed_is_refused(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action, quorum=2))
    governance.approvals.approve_with_edits(request.id, "bob", {"amount": "4500.00"},
                                            seen=request.view_digest)
    with pytest.raises(ApprovalMismatch, match="changed since it was shown"):
        governance.approvals.approve(request.id, "carol", seen=request.view_digest)
    assert governance.approvals.get(request.id).status == "pending"


def test_same_action_proposed_again_gets_its_open_request(governance: Governance) -> None:
    action = payment()
    first = governance.approvals.open(action, decision(governance, action))
    again = payment()  # a new proposal (new id) of the same action, e.g. after a resume
    assert governance.approvals.open(again, decision(governance, again)).id == first.id
    assert len(governance.approvals.list()) == 1


def test_high_risk_needs_the_password_again(governance: Governance) -> None:
    action = bank_change()
    request = governance.approvals.open(action, decision(governance, action))
    assert request.reauthenticate
    with pytest.raises(ReauthenticationRequired):
        governance.approvals.approve(request.id, "bob")
    assert governance.approvals.approve(request.id, "bob",
                                        reauthenticated=True).status == "approved"


# --- edits -----------------------------------------------------------------------------------

def test_edits_make_a_new_version_that_binds_the_approval(governance: Governance) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action))
    edited = governance.approvals.approve_with_edits(request.id, "bob", {"amount": "450.00"},
                                                     "typo in the workbook")
    assert edited.status == "approved" and edited.version == 2
    assert edited.view["params"]["amount"] == "450.00" and edited.view_digest == view_digest(
        edited) != request.view_digest
    to_run = governance.approvals.use(request.id, action)
    assert to_run.params["amount"] == "450.00" and to_run.id != action.id
    assert to_run.context["edited_from"] == action.id
    change = governance.reader.query(kind="approval.edited")[0].data()["changes"]
    assert change == {"amount": {"from": "48500.00", "to": "450.00"}}


@pytest.mark.parametrize(("edits", "problem"), [
    ({"amount": "450\u200b.00"}, "invisible or control character"),
    ({"vendor": "Globex\U000e0041 Corporation"}, "invisible or control character"),
    ({"iban": "X"}, "not a parameter"),
    ({"amount": " "}, "cannot be empty"),
])
def test_bad_edits_are_refused(governance: Governance, edits: dict[str, str],
                               problem: str) -> None:
    action = payment()
    request = governance.approvals.open(action, decision(governance, action))
    with pytest.raises(ApprovalError, match=problem):
        governance.approvals.approve_with_edits(request.id, "bob", edits)
    assert governance.approvals.get(request.id).version == 1


def test_masked_parameters_cannot_be_edited(governance: Governance) -> None:
    action = bank_change()
    request = governance.approvals.open(action, decision(governance, action))
    assert request.action["params"]["new_iban"] == "••••2957"
    with pytest.raises(ApprovalError, match="masked"):
        governance.approvals.approve_with_edits(request.id, "bob", {"new_iban": "DE89"},
                                                reauthenticated=True)


def _gate_with_approver(governance: Governance, action: Action, vote: Any) -> tuple[Any, list]:
    import threading
    import time

    done: list[Action] = []

    def approver() -> None:
        for _ in range(500):
            pending = governance.approvals.list("pending")
            if pending:
                vote(pending[0])
                return
            time.sleep(0.02)

    thread = threading.Thread(target=approver)
    thread.start()
    outcome = governance.gate.submit(action, lambda a: done.append(a) or {"ok": True})
    thread.join()
    return outcome, done


def test_gate_runs_the_edited_action_after_policy_allows_it(governance: Governance) -> None:
    outcome, done = _gate_with_approver(
        governance, payment(), lambda r: governance.approvals.approve_with_edits(
            r.id, "bob", {"amount": "450.00"}, seen=r.view_digest))
    assert outcome.status == "succeeded" and [a.params["amount"] for a in done] == ["450.00"]
    proposals = governance.reader.query(kind="action.proposed")
    assert proposals[-1].data()["edited_from"] == proposals[0].action_id
    assert governance.reader.query(kind="policy.decided")[-1].data()["outcome"] == "allow"


def test_gate_denies_an_edit_that_policy_denies(governance: Governance) -> None:
    outcome, done = _gate_with_approver(
        governance, payment(), lambda r: governance.approvals.approve_with_edits(
            r.id, "bob", {"amount": "999999.00"}, seen=r.view_digest))
    assert outcome.status == "denied" and "amount_over_hard_limit" in outcome.message
    assert done == [] and "action.started" not in [e.kind for e in governance.reader.query()]


@pytest.mark.race
def test_concurrent_sweeps_apply_each_expiry_and_escalation_once(
        governance: Governance, clock: Clock, clocked: Approvals) -> None:
    """The review service sweeps in the background while queue pages sweep too: each request
    escalates once and expires once (one ledger entry, one notice)."""
    import threading

    for n in range(6):
        action = payment(f"{20000 + n}.00", idempotency_key=f"k{n}", flow_run_id=f"run-{n}")
        clocked.open(action, decision(governance, action))
    notices: list[tuple[str, str]] = []
    clocked.add_listener(lambda event, request: notices.append((event, request.id)))

    def sweep_at_once() -> None:
        sweepers = [threading.Thread(target=clocked.sweep) for _ in range(4)]
        for thread in sweepers:
            thread.start()
        for thread in sweepers:
            thread.join()

    clock.advance(hours=5)  # past escalation (4 h)
    sweep_at_once()
    assert len(governance.reader.query(kind="approval.escalated")) == 6
    clock.advance(days=2)  # past expiry
    sweep_at_once()
    assert len(governance.reader.query(kind="approval.expired")) == 6
    assert sorted(e for e, _ in notices) == ["escalated"] * 6 + ["expired"] * 6
    assert len(set(notices)) == 12


@pytest.mark.race
def test_sweeps_in_two_processes_settle_each_request_once(
        governance: Governance, clock: Clock) -> None:
    """Two review services (two stores on one database, as two processes are) sweep at once:
    the database's compare-and-set lets one of them record each escalation and expiry."""
    import threading

    stores = [Approvals(governance.engine, governance.writer,
                        Identity(governance.engine, clock=clock), clock=clock) for _ in range(2)]
    for n in range(6):
        action = payment(f"{30000 + n}.00", idempotency_key=f"p{n}", flow_run_id=f"run-p{n}")
        stores[0].open(action, decision(governance, action))
    for hours in (5, 48):  # past escalation, then past expiry
        clock.advance(hours=hours)
        threads = [threading.Thread(target=store.sweep) for store in stores * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(governance.reader.query(kind="approval.escalated")) == 6
    assert len(governance.reader.query(kind="approval.expired")) == 6


@pytest.mark.race
def test_an_approval_and_a_rejection_at_once_settle_the_request_one_way(
        governance: Governance) -> None:
    """bob approves while carol rejects, from two stores: exactly one of them settles each
    request, the ledger says which, and the loser is told it changed nothing."""
    import threading

    stores = [governance.approvals, Approvals(governance.engine, governance.writer,
                                              Identity(governance.engine))]
    requests = []
    for n in range(8):
        action = payment(f"{40000 + n}.00", idempotency_key=f"r{n}", flow_run_id=f"run-r{n}")
        requests.append(stores[0].open(action, decision(governance, action)))
    lost: list[str] = []

    def vote(store: Approvals, request_id: str, how: str) -> None:
        try:
            if how == "approve":
                store.approve(request_id, "bob")
            else:
                store.reject(request_id, "carol", "not confirmed")
        except ApprovalNotPending:
            lost.append(request_id)

    for request in requests:
        threads = [threading.Thread(target=vote, args=(stores[0], request.id, "approve")),
                   threading.Thread(target=vote, args=(stores[1], request.id, "reject"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for request in requests:
        settled = [e.kind for e in governance.reader.query(kind="approval.approved")
                   + governance.reader.query(kind="approval.rejected")
                   if e.data()["approval_id"] == request.id]
        assert len(settled) == 1, settled
        assert governance.approvals.get(request.id).status == settled[0].split(".")[1]
    # whichever vote came second, in the race or after it, was told it changed nothing
    assert sorted(lost) == sorted(r.id for r in requests)


# --- bulk ------------------------------------------------------------------------------------

def test_bulk_approval_records_each_request_on_its_own(governance: Governance) -> None:
    ids = []
    for n in range(3):
        action = payment(f"{20000 + n}.00")
        ids.append(governance.approvals.open(action, decision(governance, action)).id)
    own = payment("25000.00", requested_by="bob")
    ids.append(governance.approvals.open(own, decision(governance, own)).id)
    seen = {i: governance.approvals.get(i).view_digest for i in ids}
    results = governance.approvals.bulk_approve(seen, "bob", "amount_over_approval_limit")
    assert [r.ok for r in results] == [True, True, True, False]
    assert "cannot vote" in results[-1].message
    assert len(governance.reader.query(kind="approval.approved")) == 3
    assert len(governance.reader.query(kind="approval.voted")) == 3
    wrong = governance.approvals.bulk_approve({ids[-1]: seen[ids[-1]]}, "carol",
                                              "bank_account_change")
    assert not wrong[0].ok and "not for reason" in wrong[0].message


def test_queue_pages_filter_and_never_skip(governance: Governance) -> None:
    for n in range(7):
        action = payment(f"{11000 + n * 1000}.00")
        governance.approvals.open(action, decision(governance, action))
    change = bank_change()
    governance.approvals.open(change, decision(governance, change))
    seen, after = [], None
    while True:
        page = governance.approvals.page(QueueFilter(), after=after, limit=3)
        seen += [r.id for r in page.items]
        if not (after := page.next_cursor):
            break
    assert len(seen) == len(set(seen)) == 8
    big = governance.approvals.page(QueueFilter(min_amount=15000, max_amount=16000))
    assert [r.amount for r in big.items] == [15000.0, 16000.0]
    treasury = governance.approvals.page(QueueFilter(groups=frozenset({"treasury"})))
    assert [r.action_kind for r in treasury.items] == ["acme.change_bank_account"]
    by_reason = governance.approvals.page(QueueFilter(reason="bank_account_change"))
    assert by_reason.total == 1
    with pytest.raises(ApprovalError, match="cursor"):
        governance.approvals.page(QueueFilter(), after="garbage!")
