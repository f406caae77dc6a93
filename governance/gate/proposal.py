"""What flows through the Gate: one `Proposal`, filled in step by step, and the `Outcome` that
comes back.

An interceptor is any callable `(proposal, call_next) -> Outcome`. It may answer at once (a
replay, a deny, a refusal), or hand `call_next` the proposal (or a copy with more filled in,
`dataclasses.replace(proposal, decision=...)`) and return, or wrap, what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from audit.ledger import Event
from governance.gate.verify import Verify
from governance.models import Action, Decision, OnDivergence, Outcome, OutcomeStatus

Effect = Callable[[Action], dict[str, Any]]
Lookup = Callable[[Action], dict[str, Any] | None]
Preview = Callable[[Action], dict[str, Any]]


@dataclass(frozen=True)
class Proposal:
    """One side effect on its way through the Gate.

    A robot gives the first four fields (and `harmless`, and `verify`: how to read the effect
    back, see `governance.gate.verify`); the interceptors add the rest:
    `decision` (policy), `findings` (entries to commit with the decision, such as a shadow
    policy's difference) and `approval_id` (approval). An approver's edit replaces `action`.
    """

    action: Action
    perform: Effect
    reconcile: Lookup | None = None
    preview: Preview | None = None
    harmless: bool = False
    decision: Decision | None = None
    findings: tuple[Event, ...] = ()
    approval_id: str | None = None
    verify: Verify | None = None

    @property
    def decided(self) -> Decision:
        """The policy's decision; a step that needs one before the policy step is misplaced."""
        if self.decision is None:
            raise RuntimeError(f"{self.action.kind}: no policy decision yet; put the Policy "
                               "interceptor before the steps that act on its decision")
        return self.decision

    def answer(self, status: OutcomeStatus, *, result: dict[str, Any] | None = None,
               message: str = "", approval_id: str | None = None,
               on_divergence: OnDivergence | None = None) -> Outcome:
        """The outcome of this proposal, with its decision and approval so far."""
        return Outcome(status=status, action_id=self.action.id, action_kind=self.action.kind,
                       decision=self.decision, approval_id=approval_id or self.approval_id,
                       result=result or {}, message=message, on_divergence=on_divergence)


CallNext = Callable[[Proposal], Outcome]


class Interceptor(Protocol):
    """One step of the Gate."""

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome: ...
