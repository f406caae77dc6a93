"""Policy: the engine decides, anything unclear is a deny; a shadow engine only takes notes."""

from __future__ import annotations

from dataclasses import replace

from governance.gate.entries import entry
from governance.gate.proposal import CallNext, Proposal
from governance.models import Action, Decision, Outcome
from governance.policy.port import PolicyEngine


def fail_closed(engine: PolicyEngine, action: Action) -> Decision:
    """The engine's decision on `action`; an engine that raises instead of answering denies."""
    try:
        return engine.decide(action.policy_input())
    except Exception as exc:
        return Decision.deny(f"policy_error: {type(exc).__name__}: {exc}",
                             getattr(engine, "revision", ""))


class Policy:
    """Fills in the live policy's decision. It writes nothing: `Record` does."""

    def __init__(self, engine: PolicyEngine) -> None:
        self._engine = engine

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        return call_next(replace(proposal, decision=fail_closed(self._engine, proposal.action)))


class Shadow:
    """Asks a candidate policy too and, where it would decide otherwise, adds a
    `policy.shadow_differs` entry to be committed with the decision. It never decides: the
    proposal goes on with the live decision, whatever the candidate says (or fails to say)."""

    def __init__(self, engine: PolicyEngine) -> None:
        self._engine = engine

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        live, candidate = proposal.decided, fail_closed(self._engine, proposal.action)
        if _gist(candidate) == _gist(live):
            return call_next(proposal)
        difference = entry(proposal.action, "policy.shadow_differs", {
            "live": _summary(live), "shadow": _summary(candidate)}, actor="policy:shadow")
        return call_next(replace(proposal, findings=(*proposal.findings, difference)))


def _gist(decision: Decision) -> tuple[object, ...]:
    return (decision.outcome, sorted(decision.reasons), decision.approver_group,
            decision.on_divergence)


def _summary(decision: Decision) -> dict[str, object]:
    return {"outcome": decision.outcome, "reasons": decision.reasons,
            "approver_group": decision.approver_group,
            "on_divergence": decision.on_divergence,
            "policy_revision": decision.policy_revision}
