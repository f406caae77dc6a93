"""The review UI: server-rendered pages for approvers (and read-only for authors, auditors and
administrators), usable without JavaScript.

Every page needs a session (`/login`); every state change is a POST carrying the session's CSRF
token; a high-risk request asks for the password again; what the approver sees is what their
vote is bound to (the form carries the request's `view_digest`).
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from governance.approvals.store import ApprovalRequest, QueueFilter
from governance.errors import ApprovalError
from governance.identity import access
from governance.identity.users import User
from governance.review.sessions import TOO_MANY_PASSWORDS, WebSession, WebSessions
from proctor.composition import Governance

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
LOGIN_COOKIE = "proctor_login"
PAGE_SIZE = 50
ADDRESS_FACTOR = 4  # failed logins allowed per client address, as a multiple of per user


def session_cookie(secure: bool) -> str:
    # The __Host- prefix pins the cookie to this host, path / and HTTPS.
    return "__Host-proctor_session" if secure else "proctor_session"


def visible(text: Any) -> str:
    """`text` with invisible and control characters shown as ⟨U+XXXX⟩: reviewers see exactly
    what will be entered."""
    out = []
    for ch in str(text):
        if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs", "Cn") or \
                0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


TEMPLATES.env.filters["visible"] = visible


def summary(request: ApprovalRequest) -> str:
    params = request.view["params"]
    parts = [str(params[k]) for k in ("invoice_number", "vendor") if params.get(k)]
    if params.get("amount"):
        parts.append(f"{params['amount']} {params.get('currency', '')}".strip())
    return " · ".join(parts)


class Page:
    """Rendering and session helpers shared by the routes."""

    def __init__(self, governance: Governance, sessions: WebSessions) -> None:
        self.governance = governance
        self.sessions = sessions
        self.settings = governance.settings.review
        self.cookie = session_cookie(self.settings.secure_cookies)

    def render(self, request: Request, template: str, status: int = 200,
               **context: Any) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, template, context, status_code=status)

    def refuse(self, request: Request, status: int, who: str, why: str) -> None:
        self.governance.writer.append("access.refused", actor=who or "anonymous", payload={
            "path": request.url.path, "method": request.method, "reason": why})

    def login_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        response.delete_cookie(self.cookie, path="/")
        return response

    def user(self, request: Request) -> tuple[User, WebSession] | None:
        session = self.sessions.current(request.cookies.get(self.cookie))
        if session is None:
            return None
        user = self.governance.identity.get(session.user)
        if user is None or not user.active:
            return None
        return user, session

    def check_csrf(self, request: Request, session: WebSession, form: dict[str, str],
                   who: str) -> None:
        if not hmac.compare_digest(form.get("csrf_token", ""), session.csrf):
            self.refuse(request, 403, who, "missing or wrong CSRF token")
            raise HTTPException(403, "The form was stale or forged (CSRF token); reload it.")

    def reauthenticated(self, request: Request, user: User, session: WebSession,
                        form: dict[str, str]) -> bool:
        """True when the password was typed again now or within the re-auth window."""
        password = form.get("password", "")
        if password:
            why = self.sessions.recheck_password(
                self.governance.identity, user.name, password,
                attempts=self.settings.login_attempts, window_s=self.settings.login_window_s)
            if why is not None:
                self.refuse(request, 429 if why == TOO_MANY_PASSWORDS else 403, user.name, why)
                return False
            self.sessions.confirm_password(request.cookies.get(self.cookie, ""))
            return True
        return self.sessions.recently_confirmed(session, self.settings.reauth_window_s)


def router(governance: Governance, sessions: WebSessions) -> APIRouter:
    page = Page(governance, sessions)
    approvals = governance.approvals
    identity = governance.identity
    routes = APIRouter(include_in_schema=False)

    async def form_of(request: Request) -> dict[str, str]:
        return {k: v for k, v in (await request.form()).multi_items() if isinstance(v, str)}

    # --- signing in and out ----------------------------------------------------------------

    @routes.get("/login")
    def login_form(request: Request, next: str = "/queue") -> Response:
        token = secrets.token_urlsafe(24)
        response = page.render(request, "login.html", csrf=token, next=_local(next))
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                            secure=page.settings.secure_cookies, max_age=900, path="/")
        return response

    @routes.post("/login")
    async def login(request: Request) -> Response:
        return await run_in_threadpool(sign_in, request, await form_of(request))

    def sign_in(request: Request, form: dict[str, str]) -> Response:
        name = form.get("username", "").strip()
        target = _local(form.get("next", "/queue"))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(form.get("csrf_token", ""), expected) \
                or not name:
            page.refuse(request, 403, name, "login form without its CSRF token")
            return page.render(request, "login.html", 403, csrf="", next=target,
                               error="The sign-in form expired; load it again.")
        address = request.client.host if request.client else "unknown"
        keys = [f"user:{name}", f"addr:{address}"]
        # Per user name, and (more generously: offices share addresses) per client address.
        attempts = page.settings.login_attempts
        wait = sessions.throttled({keys[0]: attempts, keys[1]: attempts * ADDRESS_FACTOR},
                                  page.settings.login_window_s)
        if wait:
            page.refuse(request, 429, name, "too many failed logins")
            response = page.render(request, "login.html", 429, csrf=form["csrf_token"],
                                   next=target, error=f"Too many failed attempts. Try again "
                                   f"in {wait} seconds.")
            response.headers["Retry-After"] = str(wait)
            return response
        user = identity.check_password(name, form.get("password", ""))
        if user is None:
            sessions.failed(keys)
            page.refuse(request, 401, name, "wrong user name or password")
            return page.render(request, "login.html", 401, csrf=form["csrf_token"], next=target,
                               error="Wrong user name or password.")
        sessions.succeeded(f"user:{name}")
        token = sessions.start(user.name, replacing=request.cookies.get(page.cookie))
        governance.writer.append("access.login", actor=user.name, payload={"via": "web"})
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(page.cookie, token, httponly=True, samesite="strict",
                            secure=page.settings.secure_cookies, path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @routes.post("/logout")
    async def logout(request: Request) -> Response:
        found = page.user(request)
        if found is not None:
            page.check_csrf(request, found[1], await form_of(request), found[0].name)
        sessions.end(request.cookies.get(page.cookie))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(page.cookie, path="/")
        return response

    # --- the queue -------------------------------------------------------------------------

    @routes.get("/")
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    @routes.get("/queue")
    def queue(request: Request, status: str = "pending", group: str = "", reason: str = "",
              min_age_h: str = "", max_age_h: str = "", min_amount: str = "",
              max_amount: str = "", after: str = "") -> Response:
        found = page.user(request)
        if found is None:
            return page.login_redirect(request)
        user, session = found
        if not access.allowed(user, "queue.read"):
            page.refuse(request, 403, user.name, "no role that reads the queue")
            raise HTTPException(403, "Your roles do not include reading the review queue.")
        try:
            wanted = QueueFilter(
                status=status if status in ("pending", "approved", "rejected", "expired")
                else None,
                reason=reason.strip() or None,
                min_age_s=_hours(min_age_h, "minimum age"),
                max_age_s=_hours(max_age_h, "maximum age"),
                min_amount=_number(min_amount, "minimum amount"),
                max_amount=_number(max_amount, "maximum amount"))
        except ValueError as exc:
            return page.render(request, "error.html", 422, user=user, session=session,
                               message=str(exc))
        scoped = access.scope(identity, user, wanted, group.strip() or None)
        try:
            result = approvals.page(scoped, after=after or None, limit=PAGE_SIZE)
        except ApprovalError as exc:
            return page.render(request, "error.html", 422, user=user, session=session,
                               message=str(exc))
        filters = {"status": status, "group": group, "reason": reason, "min_age_h": min_age_h,
                   "max_age_h": max_age_h, "min_amount": min_amount, "max_amount": max_amount}
        next_url = ("/queue?" + urlencode({**filters, "after": result.next_cursor})
                    if result.next_cursor else None)
        groups = sorted(identity.visible_groups(user.name)) if not access.reads_everything(user) \
            else sorted({r.approver_group for r in result.items} | ({group} if group else set()))
        why_not = approvals.may_vote_on(result.items, user.name) \
            if access.allowed(user, "vote") else {}
        rows = [{"r": r, "summary": summary(r), "may_vote": r.id in why_not and why_not[r.id]
                 is None} for r in result.items]
        return page.render(request, "queue.html", user=user, session=session, rows=rows,
                           total=result.total, filters=filters, next_url=next_url,
                           groups=groups, can_vote=access.allowed(user, "vote"),
                           needs_password=any(x["r"].reauthenticate for x in rows))

    @routes.post("/queue/bulk-approve")
    async def bulk_approve(request: Request) -> Response:
        return await run_in_threadpool(approve_many, request, (await request.form()).multi_items())

    def approve_many(request: Request, form_items: list[tuple[str, Any]]) -> Response:
        found = page.user(request)
        if found is None:
            return page.login_redirect(request)
        user, session = found
        form = {k: v for k, v in form_items if isinstance(v, str)}
        page.check_csrf(request, session, form, user.name)
        if not access.allowed(user, "vote"):
            page.refuse(request, 403, user.name, "role approver required")
            raise HTTPException(403, "Only approvers vote.")
        ids = [v for k, v in form_items if k == "request_id" and isinstance(v, str)]
        reason = form.get("reason", "").strip()
        if not reason or not ids:
            return page.render(request, "error.html", 422, user=user, session=session,
                               message="Bulk approval needs a policy reason (filter the queue "
                                       "by reason) and at least one selected request.")
        seen = {k.removeprefix("seen_"): v for k, v in form.items() if k.startswith("seen_")}
        reauth = page.reauthenticated(request, user, session, form)
        # A request ticked without the digest of what was shown is refused (stale view).
        results = approvals.bulk_approve({i: seen.get(i, "") for i in ids}, user.name, reason,
                                         reauthenticated=reauth)
        return page.render(request, "bulk.html", user=user, session=session, results=results,
                           reason=reason)

    # --- one request -----------------------------------------------------------------------

    def load(request: Request, request_id: str) -> tuple[User, WebSession, ApprovalRequest]:
        found = page.user(request)
        if found is None:
            raise _NeedLogin()
        user, session = found
        try:
            item = approvals.expire_if_due(request_id)
        except ApprovalError:
            item = None
        if item is None or not access.can_view(identity, user, item):
            # The same answer for "missing" and "not yours": ids are not probed this way.
            page.refuse(request, 404, user.name, "request not found or not visible")
            raise HTTPException(404, "No such request in your queue.")
        return user, session, item

    def show(request: Request, user: User, session: WebSession, item: ApprovalRequest,
             status: int = 200, **extra: Any) -> HTMLResponse:
        why_not = (approvals.may_vote(item, user.name) if access.allowed(user, "vote")
                   else "Your roles do not include approving.")
        proposed = item.action["params"]
        rows = [{"key": k, "proposed": v, "edited": item.edits.get(k),
                 "masked": k in item.sensitive,
                 "editable": k not in item.sensitive and isinstance(v, str)}
                for k, v in item.view["params"].items()]
        for row in rows:
            row["proposed"] = proposed.get(row["key"])
        return page.render(
            request, "request.html", status, user=user, session=session, r=item, rows=rows,
            votes=approvals.votes(item.id), why_not=why_not, may_vote=why_not is None,
            context=item.action.get("context", {}), evidence=item.evidence,
            needs_password=item.reauthenticate and not sessions.recently_confirmed(
                session, page.settings.reauth_window_s), **extra)

    @routes.get("/requests/{request_id}")
    def request_page(request: Request, request_id: str) -> Response:
        try:
            user, session, item = load(request, request_id)
        except _NeedLogin:
            return page.login_redirect(request)
        return show(request, user, session, item)

    @routes.get("/requests/{request_id}/evidence/{name}")
    def evidence(request: Request, request_id: str, name: str) -> Response:
        try:
            user, _, item = load(request, request_id)
        except _NeedLogin:
            return page.login_redirect(request)
        digest = item.evidence.get(name)
        path = _evidence_file(governance.settings.evidence.dir, digest) if \
            isinstance(digest, str) else None
        if path is None:
            raise HTTPException(404, "No such evidence for this request.")
        return FileResponse(path, media_type="image/png" if path.suffix == ".png"
                            else "text/plain; charset=utf-8")

    async def vote(request: Request, request_id: str, kind: str) -> Response:
        # Votes wait on the ledger, on scrypt and on resuming the flow run: off the event loop.
        return await run_in_threadpool(cast_vote, request, request_id, kind,
                                       await form_of(request))

    def cast_vote(request: Request, request_id: str, kind: str,
                  form: dict[str, str]) -> Response:
        try:
            user, session, item = load(request, request_id)
        except _NeedLogin:
            return page.login_redirect(request)
        page.check_csrf(request, session, form, user.name)
        if not access.allowed(user, "vote"):
            page.refuse(request, 403, user.name, "role approver required")
            raise HTTPException(403, "Only approvers vote.")
        reauth = page.reauthenticated(request, user, session, form)
        comment = form.get("comment", "")
        seen = form.get("view_digest", "")
        try:
            if kind == "approve":
                approvals.approve(item.id, user.name, comment, seen=seen,
                                  reauthenticated=reauth)
            elif kind == "reject":
                approvals.reject(item.id, user.name, comment, seen=seen, reauthenticated=reauth)
            else:
                edits = {k.removeprefix("param_"): v for k, v in form.items()
                         if k.startswith("param_")}
                approvals.approve_with_edits(item.id, user.name, edits, comment, seen=seen,
                                             reauthenticated=reauth)
        except ApprovalError as exc:
            return show(request, user, session, approvals.get(item.id), 409, error=str(exc))
        return RedirectResponse(f"/requests/{item.id}?done={kind}", status_code=303)

    @routes.post("/requests/{request_id}/approve")
    async def approve(request: Request, request_id: str) -> Response:
        return await vote(request, request_id, "approve")

    @routes.post("/requests/{request_id}/reject")
    async def reject(request: Request, request_id: str) -> Response:
        return await vote(request, request_id, "reject")

    @routes.post("/requests/{request_id}/edit")
    async def edit(request: Request, request_id: str) -> Response:
        return await vote(request, request_id, "edit")

    @routes.post("/requests/{request_id}/edit-preview")
    async def edit_preview(request: Request, request_id: str) -> Response:
        """The diff of the approver's edits, to confirm (nothing is recorded yet)."""
        try:
            user, session, item = load(request, request_id)
        except _NeedLogin:
            return page.login_redirect(request)
        form = await form_of(request)
        page.check_csrf(request, session, form, user.name)
        if not access.allowed(user, "vote"):
            page.refuse(request, 403, user.name, "role approver required")
            raise HTTPException(403, "Only approvers vote.")
        current = item.view["params"]
        edits = {k.removeprefix("param_"): v for k, v in form.items() if k.startswith("param_")}
        changes = [{"key": k, "old": current.get(k), "new": v} for k, v in edits.items()
                   if k in current and v != current.get(k)]
        return show(request, user, session, item, preview=changes, edits=edits,
                    comment=form.get("comment", ""))

    return routes


class _NeedLogin(Exception):
    pass


def _local(target: str) -> str:
    """Only same-site paths as redirect targets (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") \
        and "\\" not in target else "/queue"


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


def _evidence_file(root: Path, digest: str) -> Path | None:
    if not (len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)):
        return None
    for path in (Path(root) / digest[:2]).glob(f"{digest}.*"):
        if path.suffix in (".png", ".html"):
            return path
    return None
