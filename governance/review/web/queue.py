"""The review queue page: filters, paging, and bulk approval of requests that share a policy
reason. Each user sees only what `governance.identity.access.scope` lets them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from governance.approvals.store import QueueFilter
from governance.approvals.views import summary
from governance.errors import ApprovalError
from governance.identity import access
from governance.review.deps import PageAuth, Pages
from governance.review.web.pages import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("pending", "approved", "rejected", "expired")


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


@router.get("/queue")
def queue(request: Request, auth: Pages, status: str = "pending", group: str = "",
          reason: str = "", min_age_h: str = "", max_age_h: str = "", min_amount: str = "",
          max_amount: str = "", after: str = "") -> Response:
    found = auth.user(request)
    if found is None:
        return auth.login_redirect(request)
    user, session = found
    if not access.allowed(user, "queue.read"):
        auth.refuse(request, 403, user.name, "no role that reads the queue")
        raise HTTPException(403, "Your roles do not include reading the review queue.")
    filters = {"status": status, "group": group, "reason": reason, "min_age_h": min_age_h,
               "max_age_h": max_age_h, "min_amount": min_amount, "max_amount": max_amount}
    identity, approvals = auth.governance.identity, auth.governance.approvals
    try:
        wanted = _wanted(filters)
    except ValueError as exc:
        return render(request, "error.html", 422, user=user, session=session,
                      message=str(exc))
    scoped = access.scope(identity, user, wanted, group.strip() or None)
    try:
        result = approvals.page(scoped, after=after or None, limit=PAGE_SIZE)
    except ApprovalError as exc:
        return render(request, "error.html", 422, user=user, session=session,
                      message=str(exc))
    next_url = ("/queue?" + urlencode({**filters, "after": result.next_cursor})
                if result.next_cursor else None)
    groups = sorted(identity.visible_groups(user.name)) if not access.reads_everything(user) \
        else sorted({r.approver_group for r in result.items} | ({group} if group else set()))
    why_not = approvals.may_vote_on(result.items, user.name) \
        if access.allowed(user, "vote") else {}
    rows = [{"r": r, "summary": summary(r), "may_vote": r.id in why_not and why_not[r.id]
             is None} for r in result.items]
    return render(request, "queue.html", user=user, session=session, rows=rows,
                  total=result.total, filters=filters, next_url=next_url,
                  groups=groups, can_vote=access.allowed(user, "vote"),
                  needs_password=any(x["r"].reauthenticate for x in rows))


def _wanted(filters: dict[str, str]) -> QueueFilter:
    """The queue filter the form asks for; ValueError says which field is wrong."""
    status = filters["status"]
    return QueueFilter(
        status=status if status in STATUSES else None,
        reason=filters["reason"].strip() or None,
        min_age_s=_hours(filters["min_age_h"], "minimum age"),
        max_age_s=_hours(filters["max_age_h"], "maximum age"),
        min_amount=_number(filters["min_amount"], "minimum amount"),
        max_amount=_number(filters["max_amount"], "maximum amount"))


@router.post("/queue/bulk-approve")
async def bulk_approve(request: Request, auth: Pages) -> Response:
    return await run_in_threadpool(approve_many, auth, request,
                                   (await request.form()).multi_items())


def approve_many(auth: PageAuth, request: Request, form_items: list[tuple[str, Any]]) -> Response:
    """Approve every ticked request, each bound to the digest of what was shown."""
    found = auth.user(request)
    if found is None:
        return auth.login_redirect(request)
    user, session = found
    form = {k: v for k, v in form_items if isinstance(v, str)}
    auth.check_csrf(request, session, form, user.name)
    auth.check_voter(request, user)
    ids = [v for k, v in form_items if k == "request_id" and isinstance(v, str)]
    reason = form.get("reason", "").strip()
    if not reason or not ids:
        return render(request, "error.html", 422, user=user, session=session,
                      message="Bulk approval needs a policy reason (filter the queue "
                              "by reason) and at least one selected request.")
    seen = {k.removeprefix("seen_"): v for k, v in form.items() if k.startswith("seen_")}
    reauth = auth.reauthenticated(request, user, session, form)
    # A request ticked without the digest of what was shown is refused (stale view).
    results = auth.governance.approvals.bulk_approve(
        {i: seen.get(i, "") for i in ids}, user.name, reason, reauthenticated=reauth)
    return render(request, "bulk.html", user=user, session=session, results=results,
                  reason=reason)


def _hours(text: str, what: str) -> float | None:
    value = _number(text, what)
    return None if value is None else value * 3600


def _number(text: str, what: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"The {what} must be a number, not {text!r}.") from None
    if value < 0 or value != value:
        raise ValueError(f"The {what} cannot be negative.")
    return value

