"""The `ApprovalWaiter` port: how the Gate waits for a human's decision on a request.

Adapters: `polling.PollingWaiter` (reads the approval store; in-process runs and tests) and
`prefect.PrefectPauseWaiter` (pauses or suspends the Prefect flow run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from governance.approvals.records import ApprovalRequest


class ApprovalWaiter(Protocol):
    def wait(self, request: ApprovalRequest) -> None:
        """Return once `request` is no longer pending, or its time has run out."""
        ...
