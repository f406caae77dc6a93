"""Staying logged in to a legacy app: log in through the Gate, and log in again whenever the app
shows its login page instead of the one asked for (the session expired).

    login = Login(app="acme", url=f"{base}/login", username="clerk",
                  password=secrets.get("acme/password"), submit=("Log in", "Sign in"))
    session = AppSession(login, gate, requested_by="alice", robot="robot:acme")
    with pool.attempt("enter invoice 4711") as attempt:
        session.open(attempt, f"{base}/invoices/new")   # logs in first if the app asks for it

Logging in is a side effect like any other: an Action `<app>.login`, decided by policy and
recorded, with the username and the login form's facts. The password is typed into the page
only: it is no parameter of the action, so neither the policy engine nor the ledger sees it.
Signing in changes no business data, so the step is `harmless`: a plan signs in too, to read
what the policy needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playwright.sync_api import Page
from pydantic import SecretStr

from governance.errors import ApplicationError, BusinessRuleError
from governance.models import Action, Outcome
from robots.attempt import Attempt
from robots.forms import Field

if TYPE_CHECKING:
    from governance.gate import Gate


def shows_password_field(page: Page) -> bool:
    """The usual sign of a login page: a visible password field."""
    return page.locator("input[type=password]").filter(visible=True).count() > 0


@dataclass(frozen=True)
class Login:
    """How to log in to one app: where, with which labels and button, and how to recognise
    that a page is the login page. `app` names the action (`<app>.login`); `target` is the app
    as policies and concurrency limits know it (`app` when not given)."""

    app: str
    url: str
    username: str
    password: SecretStr
    submit: tuple[str, ...] = ("Log in", "Login", "Sign in")
    username_label: Field = field(default_factory=lambda: Field("Username", "User name",
                                                                "User", "Login"))
    password_label: Field = field(default_factory=lambda: Field("Password", kind="password"))
    is_login_page: Callable[[Page], bool] = shows_password_field
    target: str | None = None
    labels_only: bool = False  # find the fields by their tied labels only (see find_form)


class AppSession:
    """Opens pages of an app, logging in (through the Gate) when the app asks for it."""

    def __init__(self, login: Login, gate: Gate, *, requested_by: str, robot: str,
                 flow_run_id: str | None = None, flow_author: str | None = None) -> None:
        self.login = login
        self._gate = gate
        self._requested_by = requested_by
        self._robot = robot
        self._flow_run_id = flow_run_id
        self._flow_author = flow_author
        self.logins = 0

    def open(self, attempt: Attempt, url: str) -> None:
        """Go to `url`; if the app answers with its login page, log in and go there again."""
        attempt.goto(url)
        if not self.login.is_login_page(attempt.page):
            return
        self.log_in(attempt)
        attempt.goto(url)
        if self.login.is_login_page(attempt.page):
            raise ApplicationError(f"{self.login.app} asks for a login again right after one "
                                   f"succeeded, at {url}: the session is not being kept")

    def log_in(self, attempt: Attempt, *, check: bool = True) -> Outcome:
        """Log in now. With `check`, a login that did not go through (the app refused the
        password, the policy denied it) is a `BusinessRuleError`: trying again cannot help.
        Without, its `Outcome` is returned for the robot to report as a step."""
        login = self.login
        if not login.is_login_page(attempt.page):
            attempt.goto(login.url)
        form = attempt.form({login.username_label: login.username,
                             login.password_label: login.password}, submit=login.submit,
                            labels_only=login.labels_only)
        action = Action(kind=f"{login.app}.login", target=login.target or login.app,
                        robot=self._robot, requested_by=self._requested_by,
                        flow_run_id=self._flow_run_id, flow_author=self._flow_author,
                        step=f"login {login.username}", params={"username": login.username},
                        context=form.facts())

        def perform(a: Action) -> dict[str, str]:
            form.fill()
            with attempt.expect_navigation():
                form.submit()
            if login.is_login_page(attempt.page):
                raise BusinessRuleError(f"{login.app} refused the login of {login.username!r}")
            return {"logged_in_as": login.username}

        outcome = attempt.submit(self._gate, action, perform, harmless=True)
        if outcome.done:
            self.logins += 1
        elif check:
            raise BusinessRuleError(f"login to {login.app} as {login.username!r} did not go "
                                    f"through: {outcome.status} ({outcome.message})")
        return outcome
