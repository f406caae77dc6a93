"""Signing in and out of the review pages.

The sign-in form carries its own CSRF token (a short-lived cookie, since there is no session
yet); failed sign-ins are throttled per user name and per client address; a sign-in always
starts a fresh session (ending the one the browser had).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from governance.review.deps import LOGIN_COOKIE, PageAuth, Pages
from governance.review.web.pages import form_of, render

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_form(request: Request, auth: Pages, next: str = "/queue") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf=token, next=_local(next))
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict",
                        secure=auth.settings.secure_cookies, max_age=900, path="/")
    return response


@router.post("/login")
async def login(request: Request, auth: Pages) -> Response:
    return await run_in_threadpool(sign_in, auth, request, await form_of(request))


def sign_in(auth: PageAuth, request: Request, form: dict[str, str]) -> Response:
    """Check the form's token, the throttle and the password; on success a new session."""
    name = form.get("username", "").strip()
    target = _local(form.get("next", "/queue"))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get("csrf_token", ""), expected) \
            or not name:
        auth.refuse(request, 403, name, "login form without its CSRF token")
        return render(request, "login.html", 403, csrf="", next=target,
                      error="The sign-in form expired; load it again.")
    keys, wait = auth.login_wait(request, name)
    if wait:
        auth.refuse(request, 429, name, "too many failed logins")
        response = render(request, "login.html", 429, csrf=form["csrf_token"],
                          next=target, error=f"Too many failed attempts. Try again "
                          f"in {wait} seconds.")
        response.headers["Retry-After"] = str(wait)
        return response
    user = auth.governance.identity.check_password(name, form.get("password", ""))
    if user is None:
        auth.sessions.failed(keys)
        auth.refuse(request, 401, name, "wrong user name or password")
        return render(request, "login.html", 401, csrf=form["csrf_token"], next=target,
                      error="Wrong user name or password.")
    auth.sessions.succeeded(f"user:{name}")
    token = auth.sessions.start(user.name, replacing=request.cookies.get(auth.cookie))
    auth.governance.writer.append("access.login", actor=user.name, payload={"via": "web"})
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(auth.cookie, token, httponly=True, samesite="strict",
                        secure=auth.settings.secure_cookies, path="/")
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
async def logout(request: Request, auth: Pages) -> Response:
    found = auth.user(request)
    if found is not None:
        auth.check_csrf(request, found[1], await form_of(request), found[0].name)
    auth.sessions.end(request.cookies.get(auth.cookie))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.cookie, path="/")
    return response


def _local(target: str) -> str:
    """Only same-site paths as redirect targets (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") \
        and "\\" not in target else "/queue"
