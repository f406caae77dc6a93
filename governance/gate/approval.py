"""Approval: people decide on what policy sends them, bound to the action's digest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from audit import LedgerWriter
from governance.approvals.records import ApprovalRequest
from governance.approvals.store import Approvals
from governance.errors import ApprovalError
from governance.gate.entries import proposed_and_decided
from governance.gate.policy import fail_closed
from governance.gate.proposal import CallNext, Proposal
from governance.models import Action, Decision, Outcome, OutcomeStatus
from governance.policy.port import PolicyEngine
from governance.waiting.port import ApprovalWaiter

MAX_EDIT_ROUNDS = 3


class Approval:
    """When policy requires approval: opens a request bound to the action's digest (with the
    robot's preview), waits through the waiter, then reads the outcome from the
    approval store (never from whoever woke the wait). An action an approver edited goes
    through policy again, and is recorded, before it may run; an edit that needs more or other
    approvers than the request had is asked again, up to `MAX_EDIT_ROUNDS` times."""

    def __init__(self, approvals: Approvals, waiter: ApprovalWaiter, policy: PolicyEngine,
                 writer: LedgerWriter) -> None:
        self._approvals = approvals
        self._waiter = waiter
        self._policy = policy
        self._writer = writer

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        if proposal.decided.outcome != "require_approval":
            return call_next(proposal)
        preview = _preview(proposal)
        for _ in range(MAX_EDIT_ROUNDS):
            request = self._approvals.open(proposal.action, proposal.decided, preview)
            self._waiter.wait(request)
            request = self._approvals.expire_if_due(request.id)  # the store decides
            if request.status in ("rejected", "expired"):
                status: OutcomeStatus = "rejected" if request.status == "rejected" else "expired"
                return proposal.answer(status, approval_id=request.id,
                                       message=f"approval {request.status}")
            try:
                to_run = self._approvals.use(request.id, proposal.action)
            except ApprovalError as exc:
                return proposal.answer("denied", approval_id=request.id, message=str(exc))
            if to_run is not proposal.action:  # an approver changed it: policy decides again
                proposal = self._edited(proposal, to_run, request.id)
                decision = proposal.decided
                if decision.outcome == "deny":
                    return proposal.answer("denied", approval_id=request.id,
                                           message=", ".join(decision.reasons))
                if decision.outcome != "allow" and not _covers(request, decision):
                    continue  # the edit needs more or other approvers: ask them
            return call_next(replace(proposal, approval_id=request.id))
        return proposal.answer("denied", message="too many edits")

    def _edited(self, proposal: Proposal, to_run: Action, request_id: str) -> Proposal:
        """The proposal of the edited action with policy's decision on it, both recorded."""
        edited = replace(proposal, action=to_run, decision=fail_closed(self._policy, to_run))
        self._writer.append_all(proposed_and_decided(
            to_run, edited.decided, edited_from=proposal.action.id, approval_id=request_id))
        return edited


def _preview(proposal: Proposal) -> dict[str, Any]:
    """Evidence for the approver; its absence is shown to them, not fatal."""
    if proposal.preview is None:
        return {}
    try:
        return proposal.preview(proposal.action)
    except Exception as exc:
        return {"preview_error": f"{type(exc).__name__}: {exc}"}


def _covers(request: ApprovalRequest, decision: Decision) -> bool:
    """Whether an approval already given also meets what policy asks of the edited action."""
    return (decision.approver_group in request.groups and decision.quorum <= request.quorum
            and (not decision.reauthenticate or request.reauthenticate))
