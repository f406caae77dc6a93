"""Tracing: the Gate's OpenTelemetry spans, in one place.

`proctor.action` spans the whole chain (with the outcome); beneath it `proctor.policy.decide`
(`TracedPolicy`), `proctor.approval.wait` (`TracedWaiter`) and `proctor.robot.perform` (the
effect, wrapped by `Tracing`). Ledger entries carry the trace id (`governance.gate.entries`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from governance.approvals.records import ApprovalRequest
from governance.gate.proposal import CallNext, Effect, Proposal
from governance.models import Action, Decision, Outcome
from governance.policy.port import PolicyEngine
from governance.tracing import tracer
from governance.waiting.port import ApprovalWaiter


class Tracing:
    """The first step: opens the action's span and traces the effect when it runs."""

    def __call__(self, proposal: Proposal, call_next: CallNext) -> Outcome:
        action = proposal.action
        with tracer.start_as_current_span("proctor.action", attributes={
                "proctor.action.kind": action.kind, "proctor.action.id": action.id,
                "proctor.action.target": action.target,
                "proctor.action.idempotency_key": action.idempotency_key or ""}) as span:
            outcome = call_next(replace(proposal, perform=_traced(proposal.perform)))
            span.set_attribute("proctor.outcome", outcome.status)
            return outcome


def _traced(perform: Effect) -> Effect:
    def perform_traced(action: Action) -> dict[str, Any]:
        with tracer.start_as_current_span("proctor.robot.perform",
                                          attributes={"proctor.action.kind": action.kind}):
            return perform(action)

    return perform_traced


class TracedPolicy:
    """A policy engine whose every decision is a span (with the decision and the revision)."""

    def __init__(self, engine: PolicyEngine) -> None:
        self._engine = engine

    @property
    def revision(self) -> str:
        return getattr(self._engine, "revision", "")

    def decide(self, policy_input: dict[str, Any]) -> Decision:
        with tracer.start_as_current_span("proctor.policy.decide") as span:
            try:
                decision = self._engine.decide(policy_input)
            except Exception:  # the Policy step turns it into a deny (fail closed)
                span.set_attribute("proctor.decision", "deny")
                span.set_attribute("proctor.policy_revision", self.revision)
                raise
            span.set_attribute("proctor.decision", decision.outcome)
            span.set_attribute("proctor.policy_revision", decision.policy_revision)
            return decision


class TracedWaiter:
    """A waiter whose every wait for people is a span (with the request and its group)."""

    def __init__(self, waiter: ApprovalWaiter) -> None:
        self._waiter = waiter

    def wait(self, request: ApprovalRequest) -> None:
        with tracer.start_as_current_span("proctor.approval.wait", attributes={
                "proctor.approval.id": request.id,
                "proctor.approval.group": request.approver_group}):
            self._waiter.wait(request)
