"""Logging in to an app the toolkit has never seen: the login form found without labels (an
unlabelled password box, a user name known only as the form's one email field), an error that
says what to declare, and one login kept for the worker's next transactions (in memory), done
again only when the app asks: its login page, or a 401."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from governance.errors import BusinessRuleError
from proctor.composition import Governance
from robots.browser import BrowserPool
from robots.forms import Field, FieldNotFound
from robots.session import AppSession, Login
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

pytestmark = pytest.mark.chromium
PASSWORD = "Correct-Battery-9"
RULES = """package proctor

import rego.v1

allow contains "toolkit_test" if startswith(action.kind, "toolkit.")
"""
# Three login pages as strangers' apps draw them; none says "Username" or "Password".
LOGINS = {
    "/login": """<!doctype html><h1>Helpdesk</h1><form method=post action=/login>
<input type=email name=user placeholder="you@example.com"><input type=password name=pw>
<button>Sign in</button></form>""",
    "/login-labelled": """<!doctype html><form method=get action=/search>
<label>Search <input name=q></label></form><form method=post action=/login>
<label>E-mail <input type=email name=user></label><input type=password name=pw>
<button>Sign in</button></form>""",
    "/login-odd": """<!doctype html><form method=post action=/login>
<input name=user placeholder="Member number"><input name=branch placeholder="Branch">
<input type=password name=pw><button>Sign in</button></form>""",
}


class _App(HtmlHandler):
    posts: list[str] = []
    sessions: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802
        if self.path in LOGINS:
            return self._send(200, LOGINS[self.path])
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        logged_in = "sid" in cookie and cookie["sid"].value in self.sessions
        if self.path.startswith("/api/"):
            return self._send(200 if logged_in else 401,
                              "<pre>[7, 8]</pre>" if logged_in else "<pre>401</pre>")
        self._send(200, "<h1>Tickets</h1>" if logged_in else LOGINS["/login"])

    def do_POST(self) -> None:  # noqa: N802
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.posts.append(form.get("user", ""))
        self.send_response(303)
        if form.get("pw") == PASSWORD:
            sid = secrets.token_hex(8)
            self.sessions.add(sid)
            self.send_header("Set-Cookie", f"sid={sid}; Path=/; HttpOnly")
            self.send_header("Location", "/tickets")
        else:
            self.send_header("Location", "/login")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


@pytest.fixture(scope="module")
def pool() -> Iterator[BrowserPool]:
    with BrowserPool(BrowserSettings(timeout_ms=5_000)) as pool:
        yield pool


@pytest.fixture
def policy_dir(policy_dir: Path) -> Path:
    (policy_dir / "toolkit_rules.rego").write_text(RULES)
    return policy_dir


def session(governance: Governance, url: str, *, reuse: bool = True, **declared: object
            ) -> AppSession:
    login = Login(app="toolkit", url=url, username="clerk@example.test",
                  password=SecretStr(PASSWORD), **declared)  # type: ignore[arg-type]
    return AppSession(login, governance.gate, requested_by="alice", robot="robot:test",
                      reuse=reuse)


def logins_recorded(governance: Governance) -> int:
    return sum(1 for e in governance.reader.query(action_kind="toolkit.login")
               if e.kind == "action.succeeded")


def test_an_unlabelled_password_box_and_an_email_field_need_no_declaration(
        governance: Governance, pool: BrowserPool, app: str) -> None:
    _App.posts.clear()
    for page in ("/login", "/login-labelled"):
        robot = session(governance, f"{app}{page}")
        with pool.attempt(f"log in on {page}") as attempt:
            robot.open(attempt, f"{app}/tickets")
            assert attempt.page.locator("h1").inner_text() == "Tickets"
    assert _App.posts == ["clerk@example.test", "clerk@example.test"]


def test_a_login_form_the_defaults_cannot_read_says_what_to_declare(
        governance: Governance, pool: BrowserPool, app: str) -> None:
    robot = session(governance, f"{app}/login-odd")
    with pool.attempt("odd login") as attempt:
        attempt.goto(f"{app}/login-odd")
        with pytest.raises(FieldNotFound) as missing:
            robot.log_in(attempt)
        said = str(missing.value)
        assert "username_label=Field('<its label>')" in said
        assert "'Member number' (text), 'Branch' (text)" in said
    declared = session(governance, f"{app}/login-odd", username_label=Field("Member number"))
    with pool.attempt("odd login, declared") as attempt:
        attempt.goto(f"{app}/login-odd")
        assert declared.log_in(attempt).status == "succeeded"
        assert attempt.page.locator("h1").inner_text() == "Tickets"


@pytest.mark.parametrize(("reuse", "expected"), [(True, 1), (False, 5)])
def test_one_login_serves_the_workers_transactions(governance: Governance, pool: BrowserPool,
                                                   app: str, reuse: bool,
                                                   expected: int) -> None:
    _App.posts.clear()
    robot = session(governance, f"{app}/login", reuse=reuse)
    for n in range(5):  # five business transactions, each in a fresh browser context
        with pool.attempt(f"transaction {n}") as attempt:
            robot.open(attempt, f"{app}/tickets")
            assert attempt.page.locator("h1").inner_text() == "Tickets"
    assert robot.logins == expected and len(_App.posts) == expected
    assert logins_recorded(governance) == expected


def test_logs_in_again_only_when_the_app_asks(governance: Governance, pool: BrowserPool,
                                              app: str) -> None:
    _App.posts.clear()
    robot = session(governance, f"{app}/login")
    for n in range(2):
        with pool.attempt(f"before expiry {n}") as attempt:
            robot.open(attempt, f"{app}/tickets")
    _App.sessions.clear()  # the app ends every session: it shows its login page again
    for n in range(2):
        with pool.attempt(f"after expiry {n}") as attempt:
            robot.open(attempt, f"{app}/tickets")
            assert attempt.page.locator("h1").inner_text() == "Tickets"
    _App.sessions.clear()  # and an API page answers 401 rather than showing a login form
    with pool.attempt("api") as attempt:
        robot.open(attempt, f"{app}/api/tickets")
        assert attempt.page.locator("pre").inner_text() == "[7, 8]"
    assert robot.logins == 3 and len(_App.posts) == 3


def test_a_refused_login_says_what_the_app_said(governance: Governance, pool: BrowserPool,
                                                app: str) -> None:
    robot = AppSession(Login(app="toolkit", url=f"{app}/login", username="clerk",
                             password=SecretStr("wrong")), governance.gate,
                       requested_by="alice", robot="robot:test")
    with pool.attempt("wrong password") as attempt, \
            pytest.raises(BusinessRuleError, match="did not go through: failed"):
        robot.open(attempt, f"{app}/tickets")
    assert not robot.kept
