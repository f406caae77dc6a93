"""Waiting for a human inside a Prefect flow run: `PrefectPauseWaiter` and `resume_run_when_paused`.

Inside a Prefect flow run the run waits in Prefect, for an `ApprovalWakeUp` input:

- a short wait *pauses* the run (`pause_flow_run`): the process stays, blocked, and carries on
  where it stopped once resumed;
- a long wait (more than `suspend_after_s` left before the request expires) of a run that
  belongs to a deployment *suspends* it (`suspend_flow_run`): the process exits and frees its
  worker; once resumed, Prefect reschedules the run and it starts again from the top. The
  robot proposes the same action again (same digest: it includes the flow run), `Approvals.open`
  hands back the request already open for it, and the Gate finds it resolved.

`resume_run_when_paused` wakes the run (paused or suspended) once the request is resolved. The
wake-up only names the request: the waiter re-reads the approval store and the Gate reads the
outcome from the store afterwards, so a resume without a decision (say, from Prefect's own UI)
finds the request still pending and waits again. Outside a flow run, the store is polled
(`polling.PollingWaiter`). Prefect itself is imported only when a run waits or is resumed.
"""

from __future__ import annotations

import logging
import time
from functools import cache
from typing import TYPE_CHECKING, Any
from uuid import UUID

from governance.approvals.records import ApprovalRequest
from governance.approvals.store import Approvals
from governance.waiting.listeners import waiting
from governance.waiting.polling import PollingWaiter

if TYPE_CHECKING:  # Prefect takes a second to import; the CLI and the API need it rarely.
    from prefect.context import FlowRunContext
    from prefect.input import RunInput

log = logging.getLogger(__name__)

# A suspended run may be resumed this long after its request expired (so that the expiry,
# applied by whoever sweeps the store, can wake it and the Gate records it); after that
# Prefect fails the run.
SUSPEND_GRACE_S = 600


@cache
def wake_up_input() -> type[RunInput]:
    """The `RunInput` a waiting run asks Prefect for: the id of the request that was resolved.

    Defined on first use so that importing this module does not import Prefect.
    """
    from prefect.input import RunInput
    from pydantic import Field

    class ApprovalWakeUp(RunInput):
        """Wakes a run that waits for an approval. Not a decision: the store holds that."""

        request_id: str = Field(description="the approval request that was resolved")

    ApprovalWakeUp.__module__ = __name__
    return ApprovalWakeUp


def __getattr__(name: str) -> Any:
    if name == "ApprovalWakeUp":
        return wake_up_input()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PrefectPauseWaiter:
    """Waits in Prefect: pauses the current flow run, or suspends it when the wait is long.

    A run is suspended (its process exits, its worker is free) when more than
    `suspend_after_s` seconds are left before the request expires and the run belongs to a
    deployment (Prefect can only reschedule such runs); otherwise it is paused.

    Every wake-up is followed by a fresh read of the approval store: a resume that comes
    without a recorded decision (from Prefect's own UI, or naming another request) finds the
    request still pending and waits again; the action never goes through on such a resume.
    """

    def __init__(self, approvals: Approvals, poll_interval_s: float = 1.0, *,
                 suspend_after_s: float = 300.0) -> None:
        self._approvals = approvals
        self._poll_interval_s = poll_interval_s
        self._suspend_after_s = suspend_after_s
        self._fallback = PollingWaiter(approvals, poll_interval_s)

    def wait(self, request: ApprovalRequest) -> None:
        from prefect.context import FlowRunContext

        context = FlowRunContext.get()
        if context is None or context.flow_run is None:
            self._fallback.wait(request)
            return
        attempt = 0
        while (current := self._approvals.expire_if_due(request.id)).status == "pending":
            attempt += 1
            if attempt == 1:
                waiting(current)
            remaining = current.expires_at_utc.timestamp() - time.time()
            key = f"approval-{request.id}-{attempt}"
            suspended = self._should_suspend(context, current, remaining)
            if suspended:
                try:
                    woken = self._suspend(context, key, remaining)
                except RuntimeError as exc:  # Prefect refused: wait in this process instead
                    log.warning("approval %s: cannot suspend flow run %s (%s); pausing it",
                                request.id, context.flow_run.id, exc)
                    suspended = False
            if not suspended:
                try:
                    woken = self._pause(key, remaining)
                except TimeoutError:
                    self._approvals.expire_if_due(request.id)
                    return
            # Named or not, the wake-up decides nothing: the loop reads the store again.
            if woken != request.id:
                log.warning("approval %s: flow run %s woken %s; reading the store", request.id,
                            context.flow_run.id,
                            f"for request {woken}" if woken else "without a request id")

    def _should_suspend(self, context: FlowRunContext, request: ApprovalRequest,
                        remaining: float) -> bool:
        if remaining <= self._suspend_after_s:
            return False
        run = context.flow_run
        assert run is not None
        if run.deployment_id is None:
            log.info("approval %s: %.0f s to wait, but flow run %s has no deployment, so it "
                     "cannot be suspended and rescheduled; pausing it (the process stays)",
                     request.id, remaining, run.id)
            return False
        if run.parent_task_run_id is not None:
            log.info("approval %s: flow run %s is a subflow, which Prefect cannot suspend; "
                     "pausing it", request.id, run.id)
            return False
        return True

    def _pause(self, key: str, remaining: float) -> str | None:
        """Pause until resumed; the request id the wake-up names. TimeoutError: never resumed
        before the request expired."""
        from prefect.exceptions import FlowPauseTimeout
        from prefect.flow_runs import pause_flow_run

        try:
            woken = pause_flow_run(
                wait_for_input=wake_up_input(),
                timeout=max(1, int(remaining) + 1),
                poll_interval=max(1, int(self._poll_interval_s)),
                key=key,
            )
        except FlowPauseTimeout as exc:
            raise TimeoutError(key) from exc
        except ValueError as exc:  # pydantic: the run was resumed without a usable input
            log.warning("pause %s ended with an input that is not an ApprovalWakeUp: %s", key,
                        exc)
            return None
        return _request_id(woken)

    def _suspend(self, context: FlowRunContext, key: str, remaining: float) -> str | None:
        """Suspend the run: its process exits (raises Prefect's `Pause`). Returns only when
        this key has fired before (a rerun from the top after a resume), with its wake-up."""
        from prefect.client.orchestration import get_client
        from prefect.exceptions import Pause
        from prefect.flow_runs import suspend_flow_run

        run = context.flow_run
        assert run is not None
        # Named explicitly: Prefect refuses to suspend "the current run" from inside a task,
        # but a suspension of the run by id is noticed by its engine like its own.
        try:
            woken = suspend_flow_run(
                wait_for_input=wake_up_input(),
                flow_run_id=run.id,
                timeout=int(remaining) + SUSPEND_GRACE_S,
                key=key,
            )
        except ValueError as exc:
            log.warning("suspension %s ended with an input that is not an ApprovalWakeUp: %s",
                        key, exc)
            return None
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(run.id).state
            if state is not None and state.is_paused():
                log.info("flow run %s suspended (%s); its process exits and a resume "
                         "reschedules it", run.id, key)
                _close_task_run(client, key)
                raise Pause(state=state)
        return _request_id(woken)


def _close_task_run(client: Any, key: str) -> None:
    """The task that waited will not finish in this process; say so, rather than leave it
    Running for ever (the rerun makes a new task run)."""
    from prefect.context import TaskRunContext
    from prefect.states import Cancelled

    task = TaskRunContext.get()
    if task is None:
        return
    try:
        client.set_task_run_state(task.task_run.id, Cancelled(
            name="Suspended", message=f"the flow run was suspended to wait ({key}); it runs "
            "again from the top when resumed"), force=True)
    except Exception as exc:  # cosmetic: the flow run's state is what counts
        log.warning("could not mark task run %s as suspended: %s", task.task_run.id, exc)


def _request_id(woken: object) -> str | None:
    return getattr(woken, "request_id", None) or None


def takes_input(client: Any, run_id: UUID, state: Any) -> bool:
    """Whether a paused run can be resumed with input yet.

    Prefect sets the Paused state first and stores the schema of the input it waits for just
    after; a resume in between is refused ("Run input schema not found")."""
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    keyset = state.state_details.run_input_keyset
    if not keyset:
        return True
    try:
        client.read_flow_run_input(run_id, keyset["schema"])
    except ObjectNotFound:
        return False
    except PrefectHTTPStatusError as exc:
        if exc.response.status_code == 404:
            return False
        raise
    return True


def resume_run_when_paused(request: ApprovalRequest, patience_s: float = 15.0) -> bool:
    """Wake the flow run that waits on `request`; True when a resume was sent.

    Works on paused runs (they carry on) and suspended ones (Prefect reschedules them and they
    start again from the top). The resume carries an `ApprovalWakeUp` naming the request, and
    nothing else: the run reads the outcome from the store.

    The run pauses a moment after it opens the request, so a decision can arrive first: wait up
    to `patience_s` for the run to reach Paused (or Suspended) and take input. A run still
    busy after that will read the store before it waits again, so nothing is lost.
    """
    if not request.flow_run_id:
        return False
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    try:
        run_id = UUID(request.flow_run_id)
    except ValueError:
        return False  # not a Prefect run (a test, a script)
    deadline = time.monotonic() + patience_s
    with get_client(sync_client=True) as client:
        while True:
            try:
                state = client.read_flow_run(run_id).state
            except ObjectNotFound:
                return False
            if state is not None and state.is_paused() and not takes_input(client, run_id,
                                                                            state):
                pass  # paused a moment ago: Prefect stores the input's schema just after
            elif state is not None and state.is_paused():
                return _resume(client, run_id, request, state)
            if state is not None and state.is_final():
                return False
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    log.warning("flow run %s did not pause within %.0f s; it will read the decision itself",
                request.flow_run_id, patience_s)
    return False


def _resume(client: Any, run_id: UUID, request: ApprovalRequest, state: Any) -> bool:
    """Resume the paused (or suspended) run with a wake-up naming `request`; False when
    Prefect refuses (resumed by someone else, timed out)."""
    from prefect.client.schemas.responses import SetStateStatus

    suspended = bool(state.state_details.pause_reschedule)
    # The sync client itself: prefect.flow_runs.resume_flow_run turns into an
    # un-awaited coroutine when called from an event loop (the review service).
    try:
        answer = client.resume_flow_run(run_id, run_input={"request_id": request.id})
    except Exception as exc:
        answer, why = None, exc
    else:
        why = answer.details.reason if answer.status != SetStateStatus.ACCEPT else None
    if answer is None or why is not None:  # resumed by someone else, timed out
        log.warning("could not resume flow run %s for approval %s: %s",
                    run_id, request.id, why)
        return False
    log.info("resumed %s flow run %s for approval %s (%s)",
             "suspended" if suspended else "paused", run_id, request.id, request.status)
    return True
