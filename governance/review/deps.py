"""Who is calling the review service, and what they must prove: the dependencies the routes
share.

- the wired `Governance` and the `WebSessions` of the app serving the request;
- for `/api`: the caller's bearer token (`Caller`), the roles a route needs (`Reader`, `Voter`,
  `Auditor`, `Admin`; the table is `governance.identity.access`), and password confirmation;
- for the pages: the session cookie, the form's CSRF token, re-authentication and login
  throttling (`PageAuth`).

Every refusal is recorded in the ledger as `access.refused` before it is answered.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from governance.identity import access
from governance.identity.users import User
from governance.review.sessions import TOO_MANY_PASSWORDS, WebSession, WebSessions
from governance.services import Governance

LOGIN_COOKIE = "proctor_login"
ADDRESS_FACTOR = 4  # failed logins allowed per client address, as a multiple of per user


async def governance_of(request: Request) -> Governance:
    """The `Governance` the serving app was made over (`create_app`)."""
    governance: Governance = request.app.state.governance
    return governance


GovernanceDep = Annotated[Governance, Depends(governance_of)]


def record_refusal(request: Request, who: str, why: str) -> None:
    """Write `access.refused` for this request to the ledger."""
    governance: Governance = request.app.state.governance
    governance.writer.append("access.refused", actor=who, payload={
        "path": request.url.path, "method": request.method, "reason": why})


# --- /api: bearer tokens and roles -----------------------------------------------------------

def refuse(request: Request, status: int, who: str, why: str,
           headers: dict[str, str] | None = None) -> HTTPException:
    """Record the refusal; the HTTP error to raise (401s name the Bearer scheme)."""
    record_refusal(request, who, why)
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": "Bearer"}
    return HTTPException(status, why, headers=headers)


def caller(request: Request) -> User:
    """The user whose bearer token the request carries."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise refuse(request, 401, "anonymous", "missing bearer token")
    user = request.app.state.governance.identity.authenticate_token(token.strip())
    if user is None:
        raise refuse(request, 401, "anonymous", "unknown or revoked token")
    return user


def needs(permission: access.Permission) -> Any:
    """A dependency: the caller, if their roles grant `permission`."""

    def check(request: Request, user: Annotated[User, Depends(caller)]) -> User:
        if not access.allowed(user, permission):
            roles = " or ".join(sorted(access.PERMISSIONS[permission]))
            raise refuse(request, 403, user.name, f"role {roles} required")
        return user

    return Depends(check)


Caller = Annotated[User, Depends(caller)]
Auditor = Annotated[User, needs("audit.read")]
Reader = Annotated[User, needs("queue.read")]
Voter = Annotated[User, needs("vote")]
Admin = Annotated[User, needs("users.manage")]


def confirm_password(request: Request, user: User, password: str | None) -> None:
    """Raise unless `password` is `user`'s: 403 when missing or wrong, 429 while too many
    wrong ones were given (every refusal recorded)."""
    if not password:
        raise refuse(request, 403, user.name, "your password is required for this")
    governance: Governance = request.app.state.governance
    sessions: WebSessions = request.app.state.sessions
    review = governance.settings.review
    why = sessions.recheck_password(governance.identity, user.name, password,
                                    attempts=review.login_attempts,
                                    window_s=review.login_window_s)
    if why == TOO_MANY_PASSWORDS:
        wait = sessions.throttled({f"user:{user.name}": review.login_attempts},
                                  review.login_window_s)
        raise refuse(request, 429, user.name, why, {"Retry-After": str(max(wait, 1))})
    if why is not None:
        raise refuse(request, 403, user.name, why)


def reauthenticated(request: Request, user: User, password: str | None) -> bool:
    """True when `password` is given and right; False when none is given; raises when wrong."""
    if not password:
        return False
    confirm_password(request, user, password)
    return True


# --- pages: session cookies, CSRF, re-authentication, login throttling ----------------------

def session_cookie(secure: bool) -> str:
    # The __Host- prefix pins the cookie to this host, path / and HTTPS.
    return "__Host-proctor_session" if secure else "proctor_session"


class PageAuth:
    """The session side of the review pages: who is signed in, and what a form must carry."""

    def __init__(self, governance: Governance, sessions: WebSessions) -> None:
        self.governance = governance
        self.sessions = sessions
        self.settings = governance.settings.review
        self.cookie = session_cookie(self.settings.secure_cookies)

    def refuse(self, request: Request, status: int, who: str, why: str) -> None:
        """Record the refusal (answered with `status` by the caller)."""
        record_refusal(request, who or "anonymous", why)

    def login_redirect(self, request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        response.delete_cookie(self.cookie, path="/")
        return response

    def user(self, request: Request) -> tuple[User, WebSession] | None:
        """The signed-in, active user and their session; None when there is none."""
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

    def check_voter(self, request: Request, user: User) -> None:
        """Raise 403 (recorded) unless `user` may vote."""
        if not access.allowed(user, "vote"):
            self.refuse(request, 403, user.name, "role approver required")
            raise HTTPException(403, "Only approvers vote.")

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

    def login_wait(self, request: Request, name: str) -> tuple[list[str], int]:
        """The failure keys of a sign-in as `name`, and the seconds to wait before it may be
        tried (0: now). Counted per user name and, more generously (offices share addresses),
        per client address."""
        address = request.client.host if request.client else "unknown"
        keys = [f"user:{name}", f"addr:{address}"]
        attempts = self.settings.login_attempts
        wait = self.sessions.throttled({keys[0]: attempts, keys[1]: attempts * ADDRESS_FACTOR},
                                       self.settings.login_window_s)
        return keys, wait


async def page_auth(request: Request) -> PageAuth:
    return PageAuth(request.app.state.governance, request.app.state.sessions)


Pages = Annotated[PageAuth, Depends(page_auth)]
