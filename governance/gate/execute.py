"""Execute: `action.started` is durable before the effect runs; then its outcome."""

from __future__ import annotations

from audit import LedgerWriter
from governance.errors import BusinessRuleError
from governance.gate.entries import record
from governance.gate.proposal import CallNext, Proposal
from governance.models import Outcome


class Execute:
    """The last step: runs `perform` on the action to carry out (the one proposed, or the one
    an approver edited). A business refusal (`BusinessRuleError`) is recorded and answered
    `failed`; any other error is recorded, with the robot's evidence, and raised."""

    def __init__(self, writer: LedgerWriter) -> None:
        self._writer = writer

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        action = proposal.action
        record(self._writer, action, "action.started", {"approval_id": proposal.approval_id})
        try:
            result = proposal.perform(action)
        except BusinessRuleError as exc:
            record(self._writer, action, "action.failed", {
                "error": str(exc), "business": True, "evidence": exc.evidence})
            return proposal.answer("failed", message=str(exc))
        except Exception as exc:
            record(self._writer, action, "action.failed", {
                "error": f"{type(exc).__name__}: {exc}", "business": False,
                "evidence": getattr(exc, "evidence", {})})
            raise
        record(self._writer, action, "action.succeeded", {"result": result})
        return proposal.answer("succeeded", result=result)
