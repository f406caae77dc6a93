"""Logging in through the Gate, and again when the app's session expires mid-transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from governance.errors import BusinessRuleError
from proctor.composition import Governance
from robots.browser import BrowserPool
from robots.session import AppSession, Login
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

pytestmark = pytest.mark.chromium
PASSWORD = "Tr0ub4dor-3"
LOGIN = """<!doctype html><form method=post action=/login><label>User name
<input name=u></label><label>Password <input type=password name=p></label>
<button>Sign in</button></form>"""


class _App(HtmlHandler):
    logins: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/login" or "session=ok" not in self.headers.get("Cookie", ""):
            return self._send(200, LOGIN)
        self._send(200, "<h1>Invoices</h1>")

    def do_POST(self) -> None:  # noqa: N802
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.logins.append(form.get("u", ""))
        self.send_response(303)
        self.send_header("Location", "/invoices" if form.get("p") == PASSWORD else "/login")
        if form.get("p") == PASSWORD:
            self.send_header("Set-Cookie", "session=ok; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


def session(governance: Governance, app: str, password: str = PASSWORD) -> AppSession:
    login = Login(app="acme", url=f"{app}/login", username="clerk",
                  password=SecretStr(password), submit=("Sign in",))
    return AppSession(login, governance.gate, requested_by="alice", robot="robot:test")


def test_logs_in_when_asked_and_again_after_the_session_expired(
        governance: Governance, app: str, tmp_path: Path) -> None:
    _App.logins.clear()
    robot = session(governance, app)
    with BrowserPool(BrowserSettings(), trace_dir=tmp_path) as pool, \
            pool.attempt("invoices") as attempt:
        robot.open(attempt, f"{app}/invoices")
        assert attempt.page.locator("h1").inner_text() == "Invoices"
        robot.open(attempt, f"{app}/invoices")  # still logged in: no second login
        attempt.context.clear_cookies()  # the app forgets the session
        robot.open(attempt, f"{app}/invoices")
        assert attempt.page.locator("h1").inner_text() == "Invoices"
    assert robot.logins == 2 and _App.logins == ["clerk", "clerk"]
    logins = [e for e in governance.reader.query(action_kind="acme.login")
              if e.kind == "action.succeeded"]
    assert len(logins) == 2
    assert all(PASSWORD not in str(e.data()) for e in governance.reader.query())


def test_a_refused_login_is_a_business_error(governance: Governance, app: str) -> None:
    with BrowserPool(BrowserSettings()) as pool, pool.attempt("bad password") as attempt, \
            pytest.raises(BusinessRuleError, match="did not go through: failed"):
        session(governance, app, password="wrong").open(attempt, f"{app}/invoices")
