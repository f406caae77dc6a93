"""Plan mode: the policy answers, and nothing is recorded, requested or changed.

In plan mode (`Gate(..., plan=True)`, `proctor run FLOW --plan`) the chain is
`Plan -> Policy -> Rehearse`: no ledger entry, no approval request, no effect, except those
the robot marks `harmless` (signing in to read what the policy needs), which run when the
policy allows them; nothing is read back (`verify` is never called: nothing was done).
`Plan.planned` (the Gate's `planned`) lists every step with its outcome.
"""

from __future__ import annotations

from audit import LedgerReader
from governance.events import DIVERGED_KINDS, DONE_KINDS, OUTCOME_KINDS
from governance.gate.proposal import CallNext, Proposal
from governance.models import Action, Decision, Outcome


class Plan:
    """Answers `already_done` for a business transaction the ledger holds as done; otherwise
    asks the rest of the chain. Either way it notes the step and its outcome in `planned`."""

    def __init__(self, reader: LedgerReader, planned: list[tuple[Action, Outcome]]) -> None:
        self._reader = reader
        self.planned = planned

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        key = proposal.action.idempotency_key
        last = self._reader.last_of(key, OUTCOME_KINDS) if key else None
        if last is not None and last.kind in DIVERGED_KINDS:  # as a real run would answer
            outcome = proposal.answer(
                "diverged", on_divergence=last.data().get("on_divergence", "flag"),
                message=f"done earlier, read back other than approved (ledger entry {last.seq})")
        elif last is not None and last.kind in DONE_KINDS:
            outcome = proposal.answer("already_done",
                                      message=f"done earlier (ledger entry {last.seq})")
        else:
            outcome = call_next(proposal)
        self.planned.append((proposal.action, outcome))
        return outcome


class Rehearse:
    """The last step of a plan: says what a real run would need (`planned`, with the decision),
    and runs only a harmless step that the policy allows."""

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        decision = proposal.decided
        if proposal.harmless and decision.outcome == "allow":
            return proposal.answer("succeeded", result=proposal.perform(proposal.action))
        return proposal.answer("planned", message=needs(decision))


def needs(decision: Decision) -> str:
    """What a real run would need, in words."""
    why = ", ".join(decision.reasons)
    if decision.outcome == "require_approval":
        return (f"needs {decision.quorum} approval(s) from {decision.approver_group}: {why}"
                + ("; password confirmed" if decision.reauthenticate else ""))
    return f"{'would run' if decision.outcome == 'allow' else 'would be denied'}: {why}"
