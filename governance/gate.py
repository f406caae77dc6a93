"""The Gate: the interceptor every side effect of a robot passes through.

    outcome = gate.submit(action, perform=robot_effect)

1. replay   : a business transaction already recorded as done is not done again
2. policy   : the engine decides; anything unclear is a deny
3. ledger   : proposal and decision are appended in one commit (with the policy revision)
4. approval : if required, a request bound to the action's digest; wait; read the store; an
              action an approver edited goes through policy again before it may run
5. execute  : 'started' is durable before the effect runs; then 'succeeded' or 'failed'

In plan mode (`Gate(..., plan=True)`, `proctor run FLOW --plan`) the Gate only asks the policy
and answers `planned` with the decision: it records nothing, opens no approval and runs no
effect, except those the robot marks `harmless` (signing in to read what the policy needs),
which run when the policy allows them. `gate.planned` lists every step with its decision.

A ledger write that fails raises `audit.LedgerWriteError` and stops the action before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit import LedgerReader, LedgerWriter
from audit.ledger import Event
from audit.locks import TransactionBusy, transaction_lock
from governance.approvals.store import Approvals
from governance.errors import ApprovalError, BusinessRuleError
from governance.models import Action, Decision, Outcome, OutcomeStatus
from governance.policy.port import PolicyEngine
from governance.tracing import current_trace_id, tracer
from governance.waiting.port import ApprovalWaiter

Effect = Callable[[Action], dict[str, Any]]
Lookup = Callable[[Action], dict[str, Any] | None]
Preview = Callable[[Action], dict[str, Any]]
MAX_EDIT_ROUNDS = 3


class Gate:
    """Decides, records, waits for people, and only then lets the robot act."""

    def __init__(
        self,
        policy: PolicyEngine,
        writer: LedgerWriter,
        reader: LedgerReader,
        approvals: Approvals,
        waiter: ApprovalWaiter,
        *,
        shadow: PolicyEngine | None = None,
        plan: bool = False,
        busy_wait_s: float = 60.0,
    ) -> None:
        self.policy = policy
        self.shadow = shadow
        self.plan = plan
        self.busy_wait_s = busy_wait_s
        self.planned: list[tuple[Action, Outcome]] = []
        self._writer = writer
        self._reader = reader
        self._approvals = approvals
        self._waiter = waiter

    def submit(self, action: Action, perform: Effect, reconcile: Lookup | None = None,
               preview: Preview | None = None, *, harmless: bool = False) -> Outcome:
        """Take `action` through policy, ledger and approval, then call `perform(action)`.

        `reconcile(action)` looks in the application for the effect of an earlier attempt whose
        outcome is unknown (it started, then crashed or failed for a system reason); it returns
        what it found, or None. Without it, such an action is left `in_doubt`, not repeated.
        `preview(action)` is called, when a person must approve, to capture evidence for them
        (e.g. a screenshot of the filled form); it must change nothing.

        `perform` gets the action to carry out: the one proposed, or the one an approver
        edited (after policy has decided on it again).
        """
        with tracer.start_as_current_span("proctor.action", attributes={
                "proctor.action.kind": action.kind, "proctor.action.id": action.id,
                "proctor.action.target": action.target,
                "proctor.action.idempotency_key": action.idempotency_key or ""}) as span:
            outcome = self._one_at_a_time(action, perform, reconcile, preview, harmless)
            span.set_attribute("proctor.outcome", outcome.status)
            return outcome

    def _one_at_a_time(self, action: Action, perform: Effect, reconcile: Lookup | None,
                       preview: Preview | None, harmless: bool) -> Outcome:
        """Two attempts at one business transaction never overlap: the second waits for the
        first and then finds its outcome in the ledger (or, after waiting too long, stops)."""
        if not action.idempotency_key or self.plan:
            return self._submit(action, perform, reconcile, preview, harmless)
        try:
            with transaction_lock(self._writer.engine, action.idempotency_key,
                                  self.busy_wait_s):
                return self._submit(action, perform, reconcile, preview, harmless)
        except TransactionBusy as exc:
            return _outcome(action, "in_doubt", message=f"{exc}; not started a second time")

    def _submit(self, action: Action, perform: Effect, reconcile: Lookup | None,
                preview: Preview | None, harmless: bool) -> Outcome:
        if self.plan:
            return self._plan(action, perform, harmless)
        replay = self._replay(action, reconcile)
        if replay is not None:
            return replay
        decision = self._decide(action)
        # Proposal and decision become durable together: one commit, two entries (three when
        # a shadow policy would have decided otherwise).
        self._writer.append_all([
            self._event(action, "action.proposed", {
                "params": action.params, "context": action.context, "digest": action.digest()}),
            self._event(action, "policy.decided", decision.model_dump(), actor="policy"),
            *self._shadow_difference(action, decision),
        ])
        if decision.outcome == "deny":
            return _outcome(action, "denied", decision, message=", ".join(decision.reasons))
        approval_id = None
        if decision.outcome == "require_approval":
            evidence = self._preview(action, preview)
            refusal, approval_id, action, decision = self._await_approval(
                action, decision, evidence)
            if refusal is not None:
                return refusal
        return self._execute(action, perform, decision, approval_id)

    def _preview(self, action: Action, preview: Preview | None) -> dict[str, Any]:
        if preview is None:
            return {}
        try:
            return preview(action)
        except Exception as exc:  # evidence helps the approver; its absence is shown, not fatal
            return {"preview_error": f"{type(exc).__name__}: {exc}"}

    def _decide(self, action: Action) -> Decision:
        """The policy's decision; an engine that raises instead of answering denies."""
        with tracer.start_as_current_span("proctor.policy.decide") as span:
            try:
                decision = self.policy.decide(action.policy_input())
            except Exception as exc:
                decision = Decision.deny(f"policy_error: {type(exc).__name__}: {exc}",
                                         getattr(self.policy, "revision", ""))
            span.set_attribute("proctor.decision", decision.outcome)
            span.set_attribute("proctor.policy_revision", decision.policy_revision)
            return decision

    def _plan(self, action: Action, perform: Effect, harmless: bool) -> Outcome:
        """What a real run would need for `action`; nothing recorded, nothing done (except a
        harmless step the policy allows)."""
        last = self._reader.last_outcome(action.idempotency_key) \
            if action.idempotency_key else None
        if last is not None and last.kind in ("action.succeeded", "action.reconciled"):
            outcome = _outcome(action, "already_done",
                               message=f"done earlier (ledger entry {last.seq})")
        else:
            decision = self._decide(action)
            if harmless and decision.outcome == "allow":
                outcome = _outcome(action, "succeeded", decision, result=perform(action))
            else:
                outcome = _outcome(action, "planned", decision, message=_needs(decision))
        self.planned.append((action, outcome))
        return outcome

    def _shadow_difference(self, action: Action, live: Decision) -> list[Event]:
        """The candidate policy's decision, as an entry, when it differs from the live one."""
        if self.shadow is None:
            return []
        try:
            candidate = self.shadow.decide(action.policy_input())
        except Exception as exc:  # a broken candidate is a finding, never a live problem
            candidate = Decision.deny(f"policy_error: {type(exc).__name__}: {exc}",
                                      getattr(self.shadow, "revision", ""))
        if (candidate.outcome, sorted(candidate.reasons), candidate.approver_group) == (
                live.outcome, sorted(live.reasons), live.approver_group):
            return []
        return [self._event(action, "policy.shadow_differs", {
            "live": {"outcome": live.outcome, "reasons": live.reasons,
                     "approver_group": live.approver_group,
                     "policy_revision": live.policy_revision},
            "shadow": {"outcome": candidate.outcome, "reasons": candidate.reasons,
                       "approver_group": candidate.approver_group,
                       "policy_revision": candidate.policy_revision}}, actor="policy:shadow")]

    def _replay(self, action: Action, reconcile: Lookup | None) -> Outcome | None:
        """The recorded outcome of an earlier attempt at the same business transaction."""
        if not action.idempotency_key:
            return None
        last = self._reader.last_outcome(action.idempotency_key)
        if last is None or (last.kind == "action.failed" and last.data().get("business")):
            return None  # never tried, or the app refused it: a new attempt is a new question
        if last.kind in ("action.succeeded", "action.reconciled"):
            return _outcome(action, "already_done", result=last.data().get("result", {}),
                            message=f"done earlier (ledger entry {last.seq})")
        # Started, then crashed or failed for a system reason: it may have happened.
        if reconcile is None:
            self._record(action, "action.in_doubt", {"earlier_entry": last.seq})
            return _outcome(action, "in_doubt", message=(
                f"an earlier attempt (ledger entry {last.seq}) has no certain outcome; check the "
                "application and record the result before running it again"))
        found = reconcile(action)
        if found is None:
            self._record(action, "action.reconcile_checked", {"earlier_entry": last.seq,
                                                              "found": False})
            return None
        self._record(action, "action.reconciled", {"earlier_entry": last.seq, "result": found})
        return _outcome(action, "reconciled", result=found,
                        message=f"found in the application after attempt {last.seq}")

    def _await_approval(
        self, action: Action, decision: Decision, evidence: dict[str, Any]
    ) -> tuple[Outcome | None, str, Action, Decision]:
        """Wait for people; (refusal or None, request id, the action to run, its decision)."""
        for _ in range(MAX_EDIT_ROUNDS):
            request = self._approvals.open(action, decision, evidence)
            with tracer.start_as_current_span("proctor.approval.wait", attributes={
                    "proctor.approval.id": request.id,
                    "proctor.approval.group": request.approver_group}):
                self._waiter.wait(request)
            request = self._approvals.expire_if_due(request.id)  # the store decides, not the waker
            if request.status in ("rejected", "expired"):
                status: OutcomeStatus = "rejected" if request.status == "rejected" else "expired"
                return (_outcome(action, status, decision, request.id,
                                 message=f"approval {request.status}"), request.id, action,
                        decision)
            try:
                to_run = self._approvals.use(request.id, action)
            except ApprovalError as exc:
                return (_outcome(action, "denied", decision, request.id, message=str(exc)),
                        request.id, action, decision)
            if to_run is action:
                return None, request.id, action, decision
            # An approver changed the action: policy decides on what will really be done.
            edited, decision = to_run, self._decide(to_run)
            self._writer.append_all([
                self._event(edited, "action.proposed", {
                    "params": edited.params, "context": edited.context,
                    "digest": edited.digest(), "edited_from": action.id,
                    "approval_id": request.id}),
                self._event(edited, "policy.decided", decision.model_dump(), actor="policy"),
            ])
            if decision.outcome == "deny":
                return (_outcome(edited, "denied", decision, request.id,
                                 message=", ".join(decision.reasons)), request.id, edited,
                        decision)
            if decision.outcome == "allow" or _covers(request, decision):
                return None, request.id, edited, decision
            action = edited  # the edit needs more or other approvers: ask them
        return (_outcome(action, "denied", decision, message="too many edits"), "", action,
                decision)

    def _execute(self, action: Action, perform: Effect, decision: Decision,
                 approval_id: str | None) -> Outcome:
        self._record(action, "action.started", {"approval_id": approval_id})
        try:
            with tracer.start_as_current_span("proctor.robot.perform",
                                              attributes={"proctor.action.kind": action.kind}):
                result = perform(action)
        except BusinessRuleError as exc:
            self._record(action, "action.failed", {"error": str(exc), "business": True,
                                                   "evidence": exc.evidence})
            return _outcome(action, "failed", decision, approval_id, message=str(exc))
        except Exception as exc:
            self._record(action, "action.failed", {
                "error": f"{type(exc).__name__}: {exc}", "business": False,
                "evidence": getattr(exc, "evidence", {})})
            raise
        self._record(action, "action.succeeded", {"result": result})
        return _outcome(action, "succeeded", decision, approval_id, result=result)

    def _record(self, action: Action, kind: str, payload: dict[str, Any],
                actor: str | None = None) -> None:
        self._writer.append_all([self._event(action, kind, payload, actor)])

    @staticmethod
    def _event(action: Action, kind: str, payload: dict[str, Any],
               actor: str | None = None) -> Event:
        trace_id = current_trace_id()
        return Event(kind, actor or action.actor,
                     payload={"requested_by": action.requested_by, **payload,
                              **({"trace_id": trace_id} if trace_id else {})},
                     flow_run_id=action.flow_run_id, action_id=action.id,
                     action_kind=action.kind, idempotency_key=action.idempotency_key,
                     sensitive=action.sensitive)


def _needs(decision: Decision) -> str:
    """What a real run would need, in words."""
    why = ", ".join(decision.reasons)
    if decision.outcome == "require_approval":
        return (f"needs {decision.quorum} approval(s) from {decision.approver_group}: {why}"
                + ("; password confirmed" if decision.reauthenticate else ""))
    return f"{'would run' if decision.outcome == 'allow' else 'would be denied'}: {why}"


def _covers(request: Any, decision: Decision) -> bool:
    """Whether an approval already given also meets what policy asks of the edited action."""
    return (decision.approver_group in request.groups and decision.quorum <= request.quorum
            and (not decision.reauthenticate or request.reauthenticate))


def _outcome(action: Action, status: OutcomeStatus, decision: Decision | None = None,
             approval_id: str | None = None, *, result: dict[str, Any] | None = None,
             message: str = "") -> Outcome:
    return Outcome(status=status, action_id=action.id, action_kind=action.kind,
                   decision=decision, approval_id=approval_id, result=result or {},
                   message=message)
