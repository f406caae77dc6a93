"""One request's page: what was proposed (and edited), its preview, its votes, and the forms
to approve, reject, or approve with edits (previewed first).

What the approver sees is what their vote is bound to: every form carries the request's
`view_digest`. A request the user may not see answers 404, like one that does not exist.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from governance.approvals.store import ApprovalRequest
from governance.errors import ApprovalError
from governance.identity import access
from governance.identity.users import User
from governance.review.deps import PageAuth, Pages
from governance.review.sessions import WebSession
from governance.review.web.pages import form_of, render

router = APIRouter(include_in_schema=False)


class _NeedLogin(Exception):
    """No signed-in user: answer with the redirect to /login."""


def load(auth: PageAuth, request: Request,
         request_id: str) -> tuple[User, WebSession, ApprovalRequest]:
    """The signed-in user, their session and the request (expired if due)."""
    found = auth.user(request)
    if found is None:
        raise _NeedLogin()
    user, session = found
    try:
        item = auth.governance.approvals.expire_if_due(request_id)
    except ApprovalError:
        item = None
    if item is None or not access.can_view(auth.governance.identity, user, item):
        # The same answer for "missing" and "not yours": ids are not probed this way.
        auth.refuse(request, 404, user.name, "request not found or not visible")
        raise HTTPException(404, "No such request in your queue.")
    return user, session, item


def show(auth: PageAuth, request: Request, user: User, session: WebSession,
         item: ApprovalRequest, status: int = 200, **extra: Any) -> HTMLResponse:
    """The request page, with `extra` context (an error, the edits to confirm)."""
    approvals = auth.governance.approvals
    why_not = (approvals.may_vote(item, user.name) if access.allowed(user, "vote")
               else "Your roles do not include approving.")
    proposed = item.action["params"]
    rows = [{"key": k, "proposed": v, "edited": item.edits.get(k),
             "masked": k in item.sensitive,
             "editable": k not in item.sensitive and isinstance(v, str)}
            for k, v in item.view["params"].items()]
    for row in rows:
        row["proposed"] = proposed.get(row["key"])
    return render(
        request, "request.html", status, user=user, session=session, r=item, rows=rows,
        votes=approvals.votes(item.id), why_not=why_not, may_vote=why_not is None,
        context=item.action.get("context", {}), preview=item.preview,
        needs_password=item.reauthenticate and not auth.sessions.recently_confirmed(
            session, auth.settings.reauth_window_s), **extra)


@router.get("/requests/{request_id}")
def request_page(request: Request, request_id: str, auth: Pages) -> Response:
    try:
        user, session, item = load(auth, request, request_id)
    except _NeedLogin:
        return auth.login_redirect(request)
    return show(auth, request, user, session, item)


@router.get("/requests/{request_id}/preview/{name}")
def preview_file(request: Request, request_id: str, name: str, auth: Pages) -> Response:
    try:
        user, _, item = load(auth, request, request_id)
    except _NeedLogin:
        return auth.login_redirect(request)
    digest = item.preview.get(name)
    path = _evidence_file(auth.governance.settings.evidence.dir, digest) if \
        isinstance(digest, str) else None
    if path is None:
        raise HTTPException(404, "No such preview file for this request.")
    return FileResponse(path, media_type="image/png" if path.suffix == ".png"
                        else "text/plain; charset=utf-8")


async def vote(auth: PageAuth, request: Request, request_id: str, kind: str) -> Response:
    # Votes wait on the ledger, on scrypt and on resuming the flow run: off the event loop.
    return await run_in_threadpool(cast_vote, auth, request, request_id, kind,
                                   await form_of(request))


def cast_vote(auth: PageAuth, request: Request, request_id: str, kind: str,
              form: dict[str, str]) -> Response:
    """Record an approve, reject or edit vote; the page again (409) when it is refused."""
    try:
        user, session, item = load(auth, request, request_id)
    except _NeedLogin:
        return auth.login_redirect(request)
    auth.check_csrf(request, session, form, user.name)
    auth.check_voter(request, user)
    reauth = auth.reauthenticated(request, user, session, form)
    comment = form.get("comment", "")
    seen = form.get("view_digest", "")
    approvals = auth.governance.approvals
    try:
        if kind == "approve":
            approvals.approve(item.id, user.name, comment, seen=seen, reauthenticated=reauth)
        elif kind == "reject":
            approvals.reject(item.id, user.name, comment, seen=seen, reauthenticated=reauth)
        else:
            approvals.approve_with_edits(item.id, user.name, _edits(form), comment, seen=seen,
                                         reauthenticated=reauth)
    except ApprovalError as exc:
        return show(auth, request, user, session, approvals.get(item.id), 409, error=str(exc))
    return RedirectResponse(f"/requests/{item.id}?done={kind}", status_code=303)


@router.post("/requests/{request_id}/approve")
async def approve(request: Request, request_id: str, auth: Pages) -> Response:
    return await vote(auth, request, request_id, "approve")


@router.post("/requests/{request_id}/reject")
async def reject(request: Request, request_id: str, auth: Pages) -> Response:
    return await vote(auth, request, request_id, "reject")


@router.post("/requests/{request_id}/edit")
async def edit(request: Request, request_id: str, auth: Pages) -> Response:
    return await vote(auth, request, request_id, "edit")


@router.post("/requests/{request_id}/edit-preview")
async def edit_preview(request: Request, request_id: str, auth: Pages) -> Response:
    """The diff of the approver's edits, to confirm (nothing is recorded yet)."""
    try:
        user, session, item = load(auth, request, request_id)
    except _NeedLogin:
        return auth.login_redirect(request)
    form = await form_of(request)
    auth.check_csrf(request, session, form, user.name)
    auth.check_voter(request, user)
    current = item.view["params"]
    edits = _edits(form)
    changes = [{"key": k, "old": current.get(k), "new": v} for k, v in edits.items()
               if k in current and v != current.get(k)]
    return show(auth, request, user, session, item, changes=changes, edits=edits,
                comment=form.get("comment", ""))


def _edits(form: dict[str, str]) -> dict[str, str]:
    """The edited parameters of a posted form (fields `param_<name>`)."""
    return {k.removeprefix("param_"): v for k, v in form.items() if k.startswith("param_")}


def _evidence_file(root: Path, digest: str) -> Path | None:
    """The stored screenshot or page of `digest`, or None when there is none."""
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        return None
    for path in (Path(root) / digest[:2]).glob(f"{digest}.*"):
        if path.suffix in (".png", ".html"):
            return path
    return None
