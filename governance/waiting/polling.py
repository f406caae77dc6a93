"""Waiting by polling the approval store: for runs outside Prefect (scripts, tests) and as the
fallback of the Prefect waiter. Imports no Prefect."""

from __future__ import annotations

import time

from governance.approvals.records import ApprovalRequest
from governance.approvals.store import Approvals
from governance.waiting.listeners import waiting


class PollingWaiter:
    """Waits by reading the approval store every `interval_s` seconds."""

    def __init__(self, approvals: Approvals, interval_s: float = 1.0) -> None:
        self._approvals = approvals
        self._interval_s = interval_s

    def wait(self, request: ApprovalRequest) -> None:
        announced = False
        while (current := self._approvals.expire_if_due(request.id)).status == "pending":
            if not announced:
                waiting(current)
                announced = True
            time.sleep(self._interval_s)
