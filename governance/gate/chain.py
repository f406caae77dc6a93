"""The Gate: builds its chain of interceptors from its arguments and sends every proposal
through it."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from audit import LedgerReader, LedgerWriter
from governance.approvals.store import Approvals
from governance.gate.approval import Approval
from governance.gate.execute import Execute
from governance.gate.plan import Plan, Rehearse
from governance.gate.policy import Policy, Shadow
from governance.gate.proposal import CallNext, Effect, Interceptor, Lookup, Preview, Proposal
from governance.gate.record import Record
from governance.gate.replay import Replay
from governance.gate.serial import OneAtATime
from governance.gate.tracing import TracedPolicy, TracedWaiter, Tracing
from governance.gate.verify import ReadBack, Verification, Verify, as_verify
from governance.models import Action, Outcome
from governance.policy.port import PolicyEngine
from governance.waiting.port import ApprovalWaiter


class Gate:
    """Decides, records, waits for people, and only then lets the robot act.

    `interceptors` are extra steps, run after approval and just before the effect: they see
    the action that will run, its decision and its approval. `chain` holds every step, in order.
    """

    def __init__(self, policy: PolicyEngine, writer: LedgerWriter, reader: LedgerReader,
                 approvals: Approvals, waiter: ApprovalWaiter, *,
                 shadow: PolicyEngine | None = None, plan: bool = False,
                 busy_wait_s: float = 60.0, interceptors: Sequence[Interceptor] = ()) -> None:
        self.policy, self.shadow, self.plan, self.busy_wait_s = policy, shadow, plan, busy_wait_s
        self.planned: list[tuple[Action, Outcome]] = []
        decide = TracedPolicy(policy)
        steps: list[Interceptor] = [Tracing()]
        if plan:
            steps += [Plan(reader, self.planned), Policy(decide), *interceptors, Rehearse()]
        else:
            steps += [OneAtATime(writer.engine, busy_wait_s), Replay(reader, writer),
                      Policy(decide), *([Shadow(shadow)] if shadow is not None else []),
                      Record(writer), Approval(approvals, TracedWaiter(waiter), decide, writer),
                      *interceptors, Verification(writer), Execute(writer)]
        self.chain: tuple[Interceptor, ...] = tuple(steps)
        self._first = compose(self.chain)

    def submit(self, action: Action, perform: Effect, reconcile: Lookup | None = None,
               preview: Preview | None = None, *, harmless: bool = False,
               verify: Verify | ReadBack | None = None) -> Outcome:
        """Take `action` through policy, ledger and approval, then call `perform(action)`.

        `reconcile(action)` looks in the application for the effect of an earlier attempt whose
        outcome is unknown (it started, then crashed or failed for a system reason); it returns
        what it found, or None. Without it, such an action is left `in_doubt`, not repeated.
        `preview(action)` is called, when a person must approve, to capture a preview for them
        (e.g. a screenshot of the filled form); it must change nothing. `harmless` marks a step
        that changes nothing (signing in), which a plan may run.

        `verify(action, result)` (or a `Verify` with per-field normalisers) reads the effect
        back from the application after `perform` succeeded; the Gate compares it with the
        approved params and records `action.verified`, `action.diverged` or
        `action.unverified` (`governance.gate.verify`). A plan never calls it.

        `perform` gets the action to carry out: the one proposed, or the one an approver
        edited (after policy has decided on it again).
        """
        return self._first(Proposal(action, perform, reconcile, preview, harmless,
                                    verify=as_verify(verify)))


def compose(chain: Sequence[Interceptor]) -> CallNext:
    """One callable that runs `chain` in order, each step handing on to the next."""
    call: CallNext = _end
    for interceptor in reversed(chain):
        call = partial(_step, interceptor, call)
    return call


def _step(interceptor: Interceptor, call_next: CallNext, proposal: Proposal) -> Outcome:
    return interceptor(proposal, call_next)


def _end(proposal: Proposal) -> Outcome:
    raise RuntimeError(f"{proposal.action.kind}: the Gate's chain ended without an outcome; "
                       "its last step must answer (Execute, or Rehearse in plan mode)")
