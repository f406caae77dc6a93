"""What an approver is shown: the masked action, the digest a vote names, and the queue.

- `masked_view` and `mask`: sensitive parameters show only their last four characters;
- `view_digest`: SHA-256 of the rendered action, its run, step, expiry and version, which a
  vote names (`seen`) so that it counts only for what the approver saw;
- `apply_edits`: the action an approver's edits describe;
- `summary`: one line for a queue or a list, from any action's params;
- `QueueFilter` and `queue_conditions`: which requests a queue page lists, paged by a keyset
  cursor (`encode_cursor` / `after_cursor`), oldest first.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import uuid4

from sqlalchemy import or_
from sqlmodel import col

from audit import canonical_json
from governance.approvals.records import ApprovalRequest, aware
from governance.errors import ApprovalError
from governance.models import Action


def mask(value: Any) -> str:
    """A sensitive value as approvers see it: its last four characters (none if it is short)."""
    text = str(value)
    return "••••" + text[-4:] if len(text) > 8 else "••••"


def masked_view(action: Action) -> dict[str, Any]:
    """The action as approvers see it: sensitive params show only their last four characters.

    The store keeps this view; the approval is bound to the digest of the clear action, which
    the robot proposes again, so the clear values never need to be stored.
    """
    view = action.model_dump(mode="json", exclude={"sensitive", "idempotency_key"})
    view["params"] = {k: mask(v) if k in action.sensitive else v
                      for k, v in action.params.items()}
    view["context"] = {k: v for k, v in action.context.items() if k not in action.sensitive}
    return view


def view_digest(request: ApprovalRequest) -> str:
    """SHA-256 of what an approver decides on: the rendered action (with edits), its run, step,
    expiry and version. A vote names it; a different one is refused."""
    view = request.view
    bound = {
        "action": {**{k: view.get(k) for k in ("kind", "target", "requested_by", "params",
                                              "flow_run_id", "step")},
                   # the robot under its first name, so views stored before the rename keep
                   # their digests
                   "actor": view.get("robot", view.get("actor"))},
        "action_digest": request.action_digest,
        "expires_at": request.expires_at_utc.isoformat(),
        "version": request.version,
    }
    return hashlib.sha256(canonical_json(bound).encode("utf-8")).hexdigest()


def apply_edits(action: Action, edits: dict[str, Any]) -> Action:
    """The action an approver's edits describe: a new action (new id) with changed params."""
    return action.model_copy(update={
        "id": uuid4().hex,
        "params": {**action.params, **edits},
        "context": {**action.context, "edited_from": action.id},
    })


SUMMARY_PARAMS = 4
SUMMARY_VALUE_CHARS = 40


def summary(request: ApprovalRequest) -> str:
    """One line for a queue or a list, for any kind of action: its first few params as they
    will be carried out (edits applied, sensitive ones masked), `name value`, with long values
    cut. Nested values are left to the request's page."""
    parts = []
    for name, value in request.view["params"].items():
        if isinstance(value, (dict, list)) or value is None or value == "":
            continue
        text = " ".join(str(value).split())
        if len(text) > SUMMARY_VALUE_CHARS:
            text = text[:SUMMARY_VALUE_CHARS - 1] + "…"
        parts.append(f"{name} {text}")
        if len(parts) == SUMMARY_PARAMS:
            break
    return " · ".join(parts)


def amount_of(value: Any) -> float | None:
    """The `amount` parameter as the queue filters on it; None when it is not a number."""
    try:
        return float(Decimal(str(value))) if value is not None else None
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True)
class QueueFilter:
    """Which requests a queue page shows. `groups` None: every group (auditors, admins)."""

    status: str | None = "pending"
    groups: frozenset[str] | None = None
    requested_by: str | None = None
    reason: str | None = None
    action_kind: str | None = None
    min_age_s: float | None = None
    max_age_s: float | None = None
    min_amount: float | None = None
    max_amount: float | None = None


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue; `next_cursor` asks for the next one (None: this is the last)."""

    items: list[ApprovalRequest]
    next_cursor: str | None
    total: int


def queue_conditions(query: QueueFilter, now: datetime) -> list[Any]:
    """The SQL conditions that select `query`'s requests (ages are counted from `now`)."""
    conditions: list[Any] = []
    if query.status:
        conditions.append(ApprovalRequest.status == query.status)
    if query.groups is not None:
        conditions.append(or_(
            col(ApprovalRequest.approver_group).in_(sorted(query.groups)),
            (col(ApprovalRequest.escalation_group).in_(sorted(query.groups))
             & col(ApprovalRequest.escalated_at).is_not(None))))
    if query.requested_by:
        conditions.append(ApprovalRequest.requested_by == query.requested_by)
    if query.reason:
        conditions.append(col(ApprovalRequest.reasons_json).contains(json.dumps(query.reason)))
    if query.action_kind:
        conditions.append(ApprovalRequest.action_kind == query.action_kind)
    if query.min_age_s is not None:
        conditions.append(col(ApprovalRequest.created_at)
                          <= now - timedelta(seconds=query.min_age_s))
    if query.max_age_s is not None:
        conditions.append(col(ApprovalRequest.created_at)
                          >= now - timedelta(seconds=query.max_age_s))
    if query.min_amount is not None:
        conditions.append(col(ApprovalRequest.amount) >= query.min_amount)
    if query.max_amount is not None:
        conditions.append(col(ApprovalRequest.amount) <= query.max_amount)
    return conditions


def encode_cursor(request: ApprovalRequest) -> str:
    """The cursor of the page that starts after `request`."""
    raw = f"{aware(request.created_at).isoformat()}|{request.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def after_cursor(cursor: str) -> Any:
    """The SQL condition for requests after `cursor` (keyset order: created_at, then id)."""
    created, request_id = _decode_cursor(cursor)
    return or_(col(ApprovalRequest.created_at) > created,
               (col(ApprovalRequest.created_at) == created)
               & (col(ApprovalRequest.id) > request_id))


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, request_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        moment = datetime.fromisoformat(created)
    except (ValueError, UnicodeDecodeError):
        raise ApprovalError(f"cursor {cursor!r} is not one this queue gave out") from None
    return aware(moment).astimezone(UTC), request_id
