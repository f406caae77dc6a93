"""Who hears that a run starts to wait for a person: process-wide wait listeners.

The waiters (`polling.PollingWaiter`, `prefect.PrefectPauseWaiter`) call `waiting(request)`
once per wait, with the request still pending, before they block. `proctor run` listens to
print the review link of each request its flow waits on. Listeners are best effort: one that
fails is logged and the wait goes on. Imports no Prefect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governance.approvals.records import ApprovalRequest

log = logging.getLogger(__name__)

WaitListener = Callable[["ApprovalRequest"], None]
_listeners: list[WaitListener] = []


def add_wait_listener(listener: WaitListener) -> Callable[[], None]:
    """Call `listener(request)` whenever a run in this process starts to wait on a pending
    request; returns the function that removes it again."""
    _listeners.append(listener)

    def remove() -> None:
        if listener in _listeners:
            _listeners.remove(listener)
    return remove


def waiting(request: ApprovalRequest) -> None:
    """Tell every listener that this process now waits on `request`."""
    for listener in list(_listeners):
        try:
            listener(request)
        except Exception as exc:  # the wait matters, the announcement does not
            log.warning("wait listener failed on approval %s: %s", request.id, exc)
