"""How a flow waits for a human: the `ApprovalWaiter` port and its two adapters.

Inside a Prefect flow run the run is paused (`pause_flow_run`, typed input) and resumed by
`resume_run_when_paused` once the request is resolved; outside one, the store is polled. Either
way the Gate reads the outcome from the approval store afterwards: the resume input is a wake-up
call, never a decision.
"""

from __future__ import annotations

import logging
import time
from typing import Protocol
from uuid import UUID

from governance.approvals import ApprovalRequest, Approvals

log = logging.getLogger(__name__)


class ApprovalWaiter(Protocol):
    def wait(self, request: ApprovalRequest) -> None:
        """Return once `request` is no longer pending, or its time has run out."""
        ...


class PollingWaiter:
    """Waits by reading the approval store every `interval_s` seconds."""

    def __init__(self, approvals: Approvals, interval_s: float = 1.0) -> None:
        self._approvals = approvals
        self._interval_s = interval_s

    def wait(self, request: ApprovalRequest) -> None:
        while self._approvals.expire_if_due(request.id).status == "pending":
            time.sleep(self._interval_s)


class PrefectPauseWaiter:
    """Pauses the current Prefect flow run until the request is resolved.

    A resume that comes without a recorded decision (say, from Prefect's own UI) finds the
    request still pending and pauses again; the action never goes through on such a resume.
    """

    def __init__(self, approvals: Approvals, poll_interval_s: float = 1.0) -> None:
        self._approvals = approvals
        self._poll_interval_s = poll_interval_s
        self._fallback = PollingWaiter(approvals, poll_interval_s)

    def wait(self, request: ApprovalRequest) -> None:
        from prefect.context import FlowRunContext

        if FlowRunContext.get() is None:
            self._fallback.wait(request)
            return
        attempt = 0
        while (current := self._approvals.expire_if_due(request.id)).status == "pending":
            attempt += 1
            if not self._pause(current, attempt):
                self._approvals.expire_if_due(request.id)
                return

    def _pause(self, request: ApprovalRequest, attempt: int) -> bool:
        """Pause once; False when the pause timed out."""
        from prefect.exceptions import FlowPauseTimeout
        from prefect.flow_runs import pause_flow_run

        remaining = max(1, int(request.expires_at_utc.timestamp() - time.time()) + 1)
        try:
            pause_flow_run(
                timeout=remaining,
                poll_interval=max(1, int(self._poll_interval_s)),
                key=f"approval-{request.id}-{attempt}",
            )
        except FlowPauseTimeout:
            return False
        return True


def resume_run_when_paused(request: ApprovalRequest, patience_s: float = 15.0) -> bool:
    """Resume the flow run that waits on `request`; True when a resume was sent.

    The run pauses a moment after it opens the request, so a decision can arrive first: wait up
    to `patience_s` for the run to reach Paused. A run still busy after that will read the store
    before it pauses again, so nothing is lost.
    """
    if not request.flow_run_id:
        return False
    from prefect.client.orchestration import get_client
    from prefect.flow_runs import resume_flow_run

    run_id = UUID(request.flow_run_id)
    deadline = time.monotonic() + patience_s
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            state = client.read_flow_run(run_id).state
            if state is not None and state.is_paused():
                resume_flow_run(run_id)
                return True
            if state is not None and state.is_final():
                return False
            time.sleep(0.2)
    log.warning("flow run %s did not pause within %.0f s; it will read the decision itself",
                request.flow_run_id, patience_s)
    return False
