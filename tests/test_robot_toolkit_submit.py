"""`Form.submit()` waits for the app's answer and raises its error; `Form.read()` and
`page_facts` read values by label. Real Chromium against small pages served here, each a way a
legacy app answers: a new page, an error page, an error shown in place, a notice whose words say
"invalid", a 500, a form the browser will not send, and no answer at all."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
from pydantic import SecretStr

from governance.errors import ApplicationError, BusinessRuleError
from robots.browser import BrowserPool
from robots.forms import AmbiguousField, Field, FieldNotFound, FormError
from robots.pages import Messages, page_facts
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

pytestmark = pytest.mark.chromium

FORM = """<!doctype html><title>New ticket</title><form method=post action=/save>
<p><label for=s>Subject</label><input id=s name=subject></p>
<p><label for=p>Priority</label><select id=p name=priority><option value=1>Low</option>
<option value=3>High</option></select></p>
<p><label><input type=checkbox name=urgent value=yes> Urgent</label></p>
<p><label for=k>Token</label><input id=k name=token type=password></p>
<button>Save ticket</button></form>"""
# The same form answered in place by a script, as single-page apps do.
IN_PAGE = """<!doctype html><form id=f><label>Subject <input name=subject></label>
<button>Save ticket</button></form><div role=alert></div><p id=out></p><script>
document.getElementById('f').onsubmit = (e) => {
  e.preventDefault();
  const subject = e.target.subject.value;
  setTimeout(() => {
    if (subject === 'bad') document.querySelector('[role=alert]').textContent =
      'Subject must not be bad';
    else if (subject === 'worse') document.getElementById('out').innerHTML =
      '<span class=flash>Invalid subject: too worse</span>';
    else if (subject === 'odd') document.getElementById('out').innerHTML =
      '<span class=oops>The vault is closed</span>';
    else if (subject !== 'silent') document.getElementById('out').textContent = 'Saved ' + subject;
  }, 200);
};</script>"""
REQUIRED = """<!doctype html><form method=post action=/save><label>Subject
<input name=subject required></label><button>Save ticket</button></form>"""
DETAILS = """<!doctype html><h1>Ticket 7</h1><table><tr><th>Status</th><td>open</td></tr>
<tr><th>Owner:</th><td>Bob Jones</td></tr></table><dl><dt>Created</dt><dd>2026-11-02</dd></dl>
<p>Queue: Billing</p><p><b>Reporter:</b> Alice</p>
<label>Amount <input name=amount value="120.50"></label>
<label><input type=checkbox name=vip checked> VIP</label>
<label>Secret <input type=password name=pw value="hunter2"></label>
<div><span>Tag</span><span>one</span></div><div><span>Tag</span><span>two</span></div>"""


class _App(HtmlHandler):
    posted: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        pages = {"/form": FORM, "/in-page": IN_PAGE, "/required": REQUIRED,
                 "/details": DETAILS}
        self._send(200 if self.path in pages else 404, pages.get(self.path, "not found"))

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = dict(parse_qsl(body, keep_blank_values=True))
        self.posted.append(form)
        subject = form.get("subject", "")
        if subject == "crash":
            return self._send(500, "<h1>Internal Server Error</h1>")
        if subject == "duplicate":
            return self._send(200, FORM.replace(
                "<form", "<p class=error>A ticket with this subject exists</p><form", 1))
        self.send_response(303)
        self.send_header("Location", "/tickets/7")
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


def test_submit_waits_for_the_new_page_and_returns_it(pool: BrowserPool, app: str) -> None:
    _App.posted.clear()
    with pool.attempt("new ticket") as attempt:
        attempt.goto(f"{app}/form")
        form = attempt.form({"Subject": "printer", "Priority": "High"}, submit="Save ticket")
        form.fill()
        done = form.submit()
        assert done.url == f"{app}/tickets/7" and done.navigated and done.answered
        assert done.page is attempt.page
    assert _App.posted == [{"subject": "printer", "priority": "3", "token": ""}]


def test_the_apps_error_page_is_a_business_error_with_its_text(pool: BrowserPool,
                                                               app: str) -> None:
    with pool.attempt("duplicate") as attempt:
        attempt.goto(f"{app}/form")
        form = attempt.form({"Subject": "duplicate"}, submit="Save ticket")
        form.fill()
        with pytest.raises(BusinessRuleError, match="A ticket with this subject exists"):
            form.submit()


def test_a_5xx_answer_is_an_application_error(pool: BrowserPool, app: str) -> None:
    with pool.attempt("crash") as attempt:
        attempt.goto(f"{app}/form")
        form = attempt.form({"Subject": "crash"}, submit="Save ticket")
        form.fill()
        with pytest.raises(ApplicationError, match="answered 500"):
            form.submit()


@pytest.mark.parametrize(("subject", "said"), [
    ("bad", "Subject must not be bad"),            # an alert region filled in place
    ("worse", "Invalid subject: too worse"),      # a notice whose words say it is an error
])
def test_an_error_shown_in_place_is_recognised(pool: BrowserPool, app: str, subject: str,
                                               said: str) -> None:
    with pool.attempt(f"in place {subject}") as attempt:
        attempt.goto(f"{app}/in-page")
        form = attempt.form({"Subject": subject}, submit="Save ticket")
        form.fill()
        with pytest.raises(BusinessRuleError, match=said):
            form.submit()


def test_an_in_place_answer_is_waited_for(pool: BrowserPool, app: str) -> None:
    with pool.attempt("in place fine") as attempt:
        attempt.goto(f"{app}/in-page")
        form = attempt.form({"Subject": "fine"}, submit="Save ticket")
        form.fill()
        done = form.submit()
        assert (done.navigated, done.answered) == (False, True)
        assert attempt.page.locator("#out").inner_text() == "Saved fine"


def test_no_answer_at_all_is_bounded_by_the_timeout(pool: BrowserPool, app: str) -> None:
    with pool.attempt("silent") as attempt:
        attempt.goto(f"{app}/in-page")
        form = attempt.form({"Subject": "silent"}, submit="Save ticket")
        form.fill()
        started = time.monotonic()
        done = form.submit(timeout_ms=600)
        assert done.answered is False and time.monotonic() - started < 3


def test_the_apps_own_error_marks_are_declared_per_app(pool: BrowserPool, app: str) -> None:
    odd = Messages(error=".oops", error_texts=("closed",))
    declared = BrowserPool.over(pool.browser(), timeout_ms=5_000, messages=odd)
    with declared.attempt("declared") as attempt:
        attempt.goto(f"{app}/in-page")
        form = attempt.form({"Subject": "odd"}, submit="Save ticket")
        form.fill()
        with pytest.raises(BusinessRuleError, match="The vault is closed"):
            form.submit()
        attempt.goto(f"{app}/in-page")
        form = attempt.form({"Subject": "odd"}, submit="Save ticket")
        form.fill()
        assert form.submit(messages=Messages()).answered  # the defaults do not know .oops


def test_a_form_the_browser_will_not_send_is_refused_before_the_click(pool: BrowserPool,
                                                                      app: str) -> None:
    _App.posted.clear()
    with pool.attempt("required") as attempt:
        attempt.goto(f"{app}/required")
        form = attempt.form({"Subject": ""}, submit="Save ticket")
        form.fill()
        with pytest.raises(BusinessRuleError, match="Subject: "):
            form.submit()
    assert _App.posted == []


def test_inside_expect_navigation_submit_only_clicks(pool: BrowserPool, app: str) -> None:
    # The callers that wait for the page themselves (and read the app's answer their own way)
    # keep the behaviour they had: no error raised by submit().
    with pool.attempt("caller waits") as attempt:
        attempt.goto(f"{app}/form")
        form = attempt.form({"Subject": "duplicate"}, submit="Save ticket")
        form.fill()
        with attempt.expect_navigation():
            form.submit()
        assert "exists" in attempt.page.locator(".error").inner_text()


def test_read_gives_current_values_by_label_never_a_password(pool: BrowserPool,
                                                             app: str) -> None:
    with pool.attempt("read") as attempt:
        attempt.goto(f"{app}/form")
        form = attempt.form({"Subject": "printer", "Priority": "High", "Urgent": True,
                             "Token": SecretStr("s3cret")}, submit="Save ticket")
        assert form.read() == {"Subject": "", "Priority": "Low", "Urgent": False}
        form.fill()
        assert form.read() == {"Subject": "printer", "Priority": "High", "Urgent": True}
        attempt.page.locator("#s").fill("changed by the app")
        assert form.read()["Subject"] == "changed by the app"


def test_page_facts_reads_values_by_label_anywhere(pool: BrowserPool, app: str) -> None:
    with pool.attempt("facts") as attempt:
        attempt.goto(f"{app}/details")
        facts = page_facts(attempt.page, ["Status", "Owner", "Created", "Queue", "Reporter",
                                          "Amount", "VIP"])
        assert facts == {"Status": "open", "Owner": "Bob Jones", "Created": "2026-11-02",
                         "Queue": "Billing", "Reporter": "Alice", "Amount": "120.50",
                         "VIP": True}
        assert attempt.page.locator("[data-proctor-field]").count() == 0  # nothing left marked


def test_page_facts_refuses_unknown_ambiguous_and_password_labels(pool: BrowserPool,
                                                                  app: str) -> None:
    with pool.attempt("facts refused") as attempt:
        attempt.goto(f"{app}/details")
        with pytest.raises(FieldNotFound) as unknown:
            page_facts(attempt.page, ["Status", "Priority"])
        assert "'Priority'" in str(unknown.value) and "'Amount' (text)" in str(unknown.value)
        with pytest.raises(AmbiguousField, match=r"'Tag'.*matches 2 values \['one', 'two'\]"):
            page_facts(attempt.page, ["Tag"])
        with pytest.raises(FormError, match="passwords are never read") as secret:
            page_facts(attempt.page, [Field("Secret")])
        assert "hunter2" not in str(secret.value)
