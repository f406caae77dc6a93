"""`/api/approvals`: the review queue for approvers (and, read-only, for the other roles):
list, open, approve, reject, approve with edits, bulk-approve.

A vote names the version the approver saw (`view_digest`); high-risk requests also take the
password. Errors map to: 403 not allowed, 401 password needed, 409 changed or already decided,
422 anything else the approvals service refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request

from governance.approvals.store import ApprovalRequest, QueueFilter
from governance.errors import (
    ApprovalError,
    ApprovalForbidden,
    ApprovalMismatch,
    ReauthenticationRequired,
    SelfApprovalError,
)
from governance.identity import access
from governance.identity.users import User
from governance.review.api.models import BulkIn, EditIn, QueueOut, RequestOut, VoteIn, request_out
from governance.review.deps import GovernanceDep, Reader, Voter, reauthenticated, refuse
from governance.services import Governance

router = APIRouter(prefix="/api")


@router.get("/approvals")
def queue(
    user: Reader,
    governance: GovernanceDep,
    status: Literal["pending", "approved", "rejected", "expired", "all"] = "pending",
    group: str | None = None, reason: str | None = None, action_kind: str | None = None,
    min_age_s: Annotated[float | None, Query(ge=0)] = None,
    max_age_s: Annotated[float | None, Query(ge=0)] = None,
    min_amount: float | None = None, max_amount: float | None = None,
    cursor: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> QueueOut:
    """Requests you may see, oldest first; follow `next_cursor` for the next page."""
    wanted = access.scope(governance.identity, user, QueueFilter(
        status=None if status == "all" else status, reason=reason, action_kind=action_kind,
        min_age_s=min_age_s, max_age_s=max_age_s, min_amount=min_amount,
        max_amount=max_amount), group)
    try:
        page = governance.approvals.page(wanted, after=cursor, limit=limit)
    except ApprovalError as exc:
        raise HTTPException(422, str(exc)) from None
    return QueueOut(items=[request_out(r) for r in page.items],
                    next_cursor=page.next_cursor, total=page.total)


def visible(governance: Governance, request: Request, user: User,
            request_id: str) -> ApprovalRequest:
    """The request, expired if due; 404 (recorded) when missing or not `user`'s to see: the
    same answer for both, so ids cannot be probed."""
    try:
        found = governance.approvals.expire_if_due(request_id)
    except ApprovalError:
        found = None
    if found is None or not access.can_view(governance.identity, user, found):
        raise refuse(request, 404, user.name, "request not found or not visible")
    return found


@router.get("/approvals/{request_id}")
def one(request: Request, request_id: str, user: Reader,
        governance: GovernanceDep) -> dict[str, Any]:
    """One request, its votes, and whether you may vote on it."""
    approvals = governance.approvals
    found = visible(governance, request, user, request_id)
    why_not = approvals.may_vote(found, user.name) if access.allowed(user, "vote") \
        else "role approver required"
    return {**request_out(found).model_dump(), "may_vote": why_not is None,
            "why_not": why_not,
            "votes": [v.model_dump(mode="json") for v in approvals.votes(found.id)]}


def decided(act: Callable[[], ApprovalRequest]) -> RequestOut:
    """The request after `act` (a vote), or the HTTP error its refusal maps to."""
    try:
        return request_out(act())
    except (SelfApprovalError, ApprovalForbidden) as exc:
        raise HTTPException(403, str(exc)) from None
    except ReauthenticationRequired as exc:
        raise HTTPException(401, str(exc)) from None
    except ApprovalMismatch as exc:
        raise HTTPException(409, str(exc)) from None
    except ApprovalError as exc:
        raise HTTPException(409 if "already" in str(exc) else 422, str(exc)) from None


@router.post("/approvals/{request_id}/approve")
def approve(request: Request, request_id: str, body: VoteIn, user: Voter,
            governance: GovernanceDep) -> RequestOut:
    """Vote to approve the version you saw (`view_digest`)."""
    found = visible(governance, request, user, request_id)
    again = reauthenticated(request, user, body.password)
    return decided(lambda: governance.approvals.approve(
        found.id, user.name, body.comment, seen=body.view_digest, reauthenticated=again))


@router.post("/approvals/{request_id}/reject")
def reject(request: Request, request_id: str, body: VoteIn, user: Voter,
           governance: GovernanceDep) -> RequestOut:
    """Reject, saying why (`comment` is required)."""
    found = visible(governance, request, user, request_id)
    again = reauthenticated(request, user, body.password)
    return decided(lambda: governance.approvals.reject(
        found.id, user.name, body.comment, seen=body.view_digest, reauthenticated=again))


@router.post("/approvals/{request_id}/edit")
def edit(request: Request, request_id: str, body: EditIn, user: Voter,
         governance: GovernanceDep) -> RequestOut:
    """Approve with edits: a new version; policy decides on the edited action again."""
    found = visible(governance, request, user, request_id)
    again = reauthenticated(request, user, body.password)
    return decided(lambda: governance.approvals.approve_with_edits(
        found.id, user.name, body.edits, body.comment, seen=body.view_digest,
        reauthenticated=again))


@router.post("/approvals/bulk-approve")
def bulk(request: Request, body: BulkIn, user: Voter,
         governance: GovernanceDep) -> list[dict[str, Any]]:
    """Approve requests that share a policy reason; each is voted and recorded on its own."""
    again = reauthenticated(request, user, body.password)
    seen = {}
    for item in body.requests:
        visible(governance, request, user, item.id)
        seen[item.id] = item.view_digest
    return [r.__dict__ for r in governance.approvals.bulk_approve(
        seen, user.name, body.reason, reauthenticated=again)]
