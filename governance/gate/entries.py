"""The ledger entries the Gate writes, each carrying the trace id of the span in progress."""

from __future__ import annotations

from typing import Any

from audit import LedgerWriter
from audit.ledger import Event
from governance.models import Action, Decision
from governance.tracing import current_trace_id


def entry(action: Action, kind: str, payload: dict[str, Any], actor: str | None = None) -> Event:
    """An entry about `action`; the robot is its actor unless another is named."""
    trace_id = current_trace_id()
    return Event(kind, actor or action.robot,
                 payload={"requested_by": action.requested_by, **payload,
                          **({"trace_id": trace_id} if trace_id else {})},
                 flow_run_id=action.flow_run_id, action_id=action.id,
                 action_kind=action.kind, idempotency_key=action.idempotency_key,
                 sensitive=action.sensitive)


def proposed_and_decided(action: Action, decision: Decision, **extra: Any) -> list[Event]:
    """The proposal (bound to its digest) and the policy's decision (with its revision)."""
    return [
        entry(action, "action.proposed", {"params": action.params, "context": action.context,
                                          "digest": action.digest(), **extra}),
        entry(action, "policy.decided", decision.model_dump(), actor="policy"),
    ]


def record(writer: LedgerWriter, action: Action, kind: str, payload: dict[str, Any]) -> None:
    """Append one entry; a write that fails raises `audit.LedgerWriteError`."""
    writer.append_all([entry(action, kind, payload)])
