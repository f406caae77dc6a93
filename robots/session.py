"""Staying logged in to a legacy app: log in through the Gate, keep the login for the worker's
next transactions, and log in again only when the app asks (its login page, or a 401).

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

The login form needs no description for most apps: the password is the form's one password
box (labelled or not), the user name the field labelled "Username", "User name", "Email"...,
or else the one text or email field of the form holding the password. When that does not fit,
declare the labels (`Login(username_label=Field("Member number"))`); the error says so and
lists the labels the page has.

Each attempt is a fresh browser context; an `AppSession` keeps the cookies and local storage of
its last login in memory only (never written to disk, and read and restored outside any trace),
puts them into each new attempt's context, and logs in again only when the app shows its login
page or answers 401. One session per worker (it belongs to the worker's thread, like its pool).
"""

from __future__ import annotations

import json
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from pydantic import SecretStr

from governance.errors import ApplicationError, BusinessRuleError
from governance.models import Action, Outcome
from robots.attempt import Attempt
from robots.forms import AmbiguousField, Field, FieldNotFound, Form, count_matches, labels_on

if TYPE_CHECKING:
    from governance.gate import Gate

# The names a user name field goes by, when the login does not declare its label.
USERNAME_NAMES = ("Username", "User name", "User", "Login", "Login name", "User ID", "Email",
                  "E-mail", "Email address", "Account")


def shows_password_field(page: Page) -> bool:
    """The usual sign of a login page: a visible password field."""
    return page.locator("input[type=password]").filter(visible=True).count() > 0


@dataclass(frozen=True)
class Login:
    """How to log in to one app: where, as whom, with which button, and how to recognise that
    a page is the login page. `app` names the action (`<app>.login`); `target` is the app as
    policies and concurrency limits know it (`app` when not given).

    `username_label` / `password_label` are needed only when the defaults do not find the
    fields (see the module's docstring); `within` narrows the search to part of the page."""

    app: str
    url: str
    username: str
    password: SecretStr
    submit: tuple[str, ...] = ("Log in", "Login", "Sign in", "Log on", "Submit")
    username_label: Field | None = None
    password_label: Field | None = None
    is_login_page: Callable[[Page], bool] = shows_password_field
    target: str | None = None
    labels_only: bool = False  # find the fields by their tied labels only (see find_form)
    within: str | None = None


class AppSession:
    """Opens pages of an app, logging in (through the Gate) when the app asks for it, and
    reusing the last login across the worker's attempts (`reuse=False`: log in in each)."""

    def __init__(self, login: Login, gate: Gate, *, requested_by: str, robot: str,
                 flow_run_id: str | None = None, flow_author: str | None = None,
                 reuse: bool = True) -> None:
        self.login = login
        self.reuse = reuse
        self._gate = gate
        self._requested_by = requested_by
        self._robot = robot
        self._flow_run_id = flow_run_id
        self._flow_author = flow_author
        self._state: dict[str, Any] | None = None
        self._resumed: weakref.WeakSet[Attempt] = weakref.WeakSet()
        self.logins = 0

    @property
    def kept(self) -> bool:
        """Whether a login is kept for the next attempts."""
        return self._state is not None

    def open(self, attempt: Attempt, url: str) -> None:
        """Go to `url` (with the kept login, if any); if the app answers with its login page
        or a 401, log in and go there again."""
        self.resume(attempt)
        response = attempt.goto(url)
        if not self._asks_for_login(attempt, response):
            return
        self.forget()
        self.log_in(attempt)
        if self._asks_for_login(attempt, attempt.goto(url)):
            raise ApplicationError(f"{self.login.app} asks for a login again right after one "
                                   f"succeeded, at {url}: the session is not being kept")

    def resume(self, attempt: Attempt) -> bool:
        """Put the kept login (cookies, local storage) into this attempt's fresh context,
        outside its trace; False when there is none to put (or it is there already)."""
        if not self.reuse or self._state is None or attempt in self._resumed:
            return False
        state = self._state
        with attempt.untraced():
            if state.get("cookies"):
                attempt.context.add_cookies(state["cookies"])
            if state.get("origins"):
                attempt.context.add_init_script(script=_RESTORE_JS % json.dumps(
                    state["origins"]))
        self._resumed.add(attempt)
        return True

    def forget(self) -> None:
        """Drop the kept login (the app ended the session): the next page asked logs in."""
        self._state = None

    def log_in(self, attempt: Attempt, *, check: bool = True) -> Outcome:
        """Log in now. With `check`, a login that did not go through (the app refused the
        password, the policy denied it) is a `BusinessRuleError`: trying again cannot help.
        Without, its `Outcome` is returned for the robot to report as a step."""
        login = self.login
        if not login.is_login_page(attempt.page):
            attempt.goto(login.url)
        form = self.login_form(attempt)
        action = Action(kind=f"{login.app}.login", target=login.target or login.app,
                        robot=self._robot, requested_by=self._requested_by,
                        flow_run_id=self._flow_run_id, flow_author=self._flow_author,
                        step=f"login {login.username}", params={"username": login.username},
                        context=form.facts())

        def perform(a: Action) -> dict[str, str]:
            form.fill()
            said = ""
            try:
                form.submit()
            except BusinessRuleError as exc:  # refused, if the login page is still shown
                said = f": {exc}"
            if login.is_login_page(attempt.page):
                raise BusinessRuleError(f"{login.app} refused the login of "
                                        f"{login.username!r}{said}")
            if self.reuse:
                with attempt.untraced():  # cookies are credentials: never in a trace
                    self._state = dict(attempt.context.storage_state())
                self._resumed.add(attempt)
            return {"logged_in_as": login.username}

        outcome = attempt.submit(self._gate, action, perform, harmless=True)
        if outcome.done:
            self.logins += 1
        elif check:
            raise BusinessRuleError(f"login to {login.app} as {login.username!r} did not go "
                                    f"through: {outcome.status} ({outcome.message})")
        return outcome

    def login_form(self, attempt: Attempt) -> Form:
        """The login form on the attempt's page: the declared labels, else the defaults."""
        login = self.login
        page = attempt.page
        within = login.within
        passwords = 0
        if within is None:
            within, passwords = _mark_login_form(page, min(attempt.timeout_ms, 5_000))
        password = login.password_label
        if password is None:
            if passwords == 0:
                raise FieldNotFound(
                    f"no password field on the login page {page.url} (looked for a shown "
                    "<input type=password>): declare it, Login(..., password_label=Field("
                    f"'<its label>')). Fields on the page: {_shown(page, None)}",
                    url=page.url, labels=["password"])
            password = Field(kind="password") if passwords == 1 else Field("Password",
                                                                            kind="password")
        username = login.username_label or _username_field(page, within, login.labels_only)
        return attempt.form({username: login.username, password: login.password},
                            submit=login.submit, within=within, labels_only=login.labels_only)

    def _asks_for_login(self, attempt: Attempt, response: Response | None) -> bool:
        return (response is not None and response.status == 401) or \
            self.login.is_login_page(attempt.page)


# Mark the one form holding the shown password field(s); how many there are (0: none; -n: in
# n different forms, none marked).
_MARK_JS = """(token) => {
  const shown = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 &&
    r.height > 0; };
  const boxes = Array.from(document.querySelectorAll('input[type=password]')).filter(shown);
  if (boxes.length === 0) return 0;
  const forms = new Set(boxes.map((b) => b.form || b.closest('form') || document.body));
  if (forms.size > 1) return -forms.size;
  [...forms][0].setAttribute('data-proctor-login', token);
  return boxes.length;
}"""
_ANY_PASSWORD_JS = """() => Array.from(document.querySelectorAll('input[type=password]'))
  .some((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })"""
# Local storage of the kept login, put back on each page of its origin unless the app has it.
_RESTORE_JS = """(() => { const origins = %s;
  for (const o of origins) {
    if (o.origin !== location.origin) continue;
    for (const {name, value} of o.localStorage || [])
      if (localStorage.getItem(name) === null) localStorage.setItem(name, value);
  } })();"""


def _mark_login_form(page: Page, timeout_ms: float) -> tuple[str | None, int]:
    """The CSS scope of the form holding the password field, and how many password fields it
    has (waiting, on the page, up to `timeout_ms` for one to show)."""
    try:
        page.wait_for_function(_ANY_PASSWORD_JS, timeout=timeout_ms)
    except PlaywrightTimeout:
        return None, 0
    token = uuid.uuid4().hex[:12]
    try:
        count = int(page.evaluate(_MARK_JS, token))
    except PlaywrightError as exc:
        raise ApplicationError(f"could not read the login page {page.url}: "
                               f"{(exc.message or str(exc)).splitlines()[0]}") from None
    if count < 0:
        return None, 2  # password fields in several forms: name them by label
    return f'[data-proctor-login="{token}"]', count


def _username_field(page: Page, within: str | None, labels_only: bool) -> Field:
    """The user name field: by one of the usual labels, else the one text or email field of
    the login form; refused, with what to declare, when neither finds exactly one."""
    by_label = Field(*USERNAME_NAMES, kind="text")
    by_kind = Field(kind="text")
    labelled, typed = count_matches(page, [by_label, by_kind], within=within,
                                    labels_only=labels_only)
    if labelled == 1:
        return by_label
    if labelled == 0 and typed == 1 and within is not None:
        return by_kind
    fix = ("Declare its label: Login(..., username_label=Field('<its label>')), or narrow "
           "the search with Login(..., within='<CSS of the login form>')")
    if labelled > 1:
        raise AmbiguousField(
            f"{labelled} fields on the login page {page.url} could be the user name "
            f"(labelled {', '.join(repr(n) for n in USERNAME_NAMES[:4])}...). {fix}. "
            f"Fields on the page: {_shown(page, within)}", url=page.url, labels=["username"])
    raise FieldNotFound(
        f"no user name field on the login page {page.url}: none is labelled "
        f"{', '.join(repr(n) for n in USERNAME_NAMES[:4])}..., and the login form has "
        f"{typed} text or email fields, not one. {fix}. Fields on the page: "
        f"{_shown(page, within)}", url=page.url, labels=["username"])


def _shown(page: Page, within: str | None) -> str:
    found = labels_on(page, within) or labels_on(page)
    return ", ".join(f"{name!r} ({kind})" for name, kind in found) or "none"
