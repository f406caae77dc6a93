"""The robot toolkit in real Chromium against small pages served here: forms found by meaning
on any layout, refusals that touch nothing, waits on page state, retries, kept traces."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from governance.errors import ApplicationError, BusinessRuleError
from robots.attempt import Attempt
from robots.browser import BrowserPool
from robots.forms import AmbiguousField, Field, FieldNotFound, ValueNotOffered, find_form
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

pytestmark = pytest.mark.chromium

_SCRIPT = "<script>document.querySelector('form').onsubmit = () => true;</script>"

# The same invoice form three ways, as versions of a legacy app render it.
CLASSIC = """<!doctype html><title>New invoice</title><form method=post action=/save>
<p><label for=v>Vendor</label><select id=v name=vendor><option></option><option value=g>Globex
</option><option value=i>Initech GmbH</option></select></p>
<p><label for=n>Invoice number</label><input id=n name=number></p>
<p><label for=a>Amount</label><input id=a name=amount type=number step=0.01></p>
<p><label for=d>Due date</label><input id=d name=due type=date></p>
<p><label><input type=checkbox name=urgent value=yes> Urgent</label></p>
<p><label><input type=radio name=pay value=bank> Bank transfer</label>
   <label><input type=radio name=pay value=card> Card</label></p>
<p><label for=x>Notes</label><textarea id=x name=notes></textarea></p>
<button>Save invoice</button></form>"""

# Other ids, other order, and labels the old way: text beside fields, table headers, ARIA,
# placeholders.
DRIFTED = """<!doctype html><title>Invoice entry</title><form method=post action=/save>
<table><tr><th>Notes:</th><td><textarea name=notes></textarea></td></tr>
<tr><th>Due date</th><td><input name=due type=date></td></tr>
<tr><td><input placeholder="Invoice number" name=number></td></tr>
<tr><td><span>Vendor</span> <select name=vendor><option></option><option value=i>Initech GmbH
</option><option value=g>Globex</option></select></td></tr>
<tr><td><input aria-label="Amount" name=amount></td></tr></table>
<div><input type=radio name=pay value=card id=r1><span>Card</span>
<input type=radio name=pay value=bank aria-label="Bank transfer"></div>
<div class=row><div>Urgent</div><input type=checkbox name=urgent value=yes></div>
<div style="cursor:pointer" onclick="document.forms[0].submit()">Save invoice</div></form>"""

MISSING = CLASSIC.replace("<label for=a>Amount</label>", "<label for=a>Sum</label>")
AMBIGUOUS = CLASSIC.replace("</form>", "<p><label>Amount <input name=amount2></label></p></form>")

SIMPLE = """<!doctype html><form method=post action=/save><label>Invoice number
<input name=number></label><button>Save invoice</button></form>"""

# The form arrives from the server after the page has loaded, when the test lets it.
SLOW = """<!doctype html><div id=app>Loading...</div><script>
fetch('/fragment').then((r) => r.text()).then((html) => {
  document.getElementById('app').innerHTML = html; });</script>"""
# Controls made of ARIA roles rather than inputs, and a field known only by its kind.
ARIA = """<!doctype html><div role=textbox contenteditable aria-label="Comment"
style="min-height:1em;border:1px solid"></div><span id=lbl>Subscribe</span>
<div role=checkbox aria-checked=false aria-labelledby=lbl tabindex=0 style="width:1em;height:1em"
onclick="this.setAttribute('aria-checked', this.getAttribute('aria-checked') !== 'true')"></div>
<input type=date>"""
FRAGMENT_READY = threading.Event()
FLAKY_HITS: list[str] = []


class _App(HtmlHandler):
    pages = {"/classic": CLASSIC, "/drifted": DRIFTED, "/missing": MISSING,
             "/ambiguous": AMBIGUOUS, "/slow": SLOW, "/aria": ARIA}
    saved: list[dict[str, str]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/flaky":
            FLAKY_HITS.append(self.path)
            if len(FLAKY_HITS) == 1:
                return self._send(503, "busy")
            return self._send(200, SIMPLE)
        if self.path == "/fragment":
            FRAGMENT_READY.wait(10)
            return self._send(200, "<form" + SIMPLE.split("<form", 1)[1])
        page = self.pages.get(self.path)
        self._send(200 if page else 404, page or "not found")

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        self.saved.append(dict(parse_qsl(body, keep_blank_values=True)))
        self._send(200, "<p id=flash>Invoice saved</p>")


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserPool]:
    with BrowserPool(BrowserSettings(timeout_ms=5_000),
                     trace_dir=tmp_path_factory.mktemp("traces")) as pool:
        yield pool


INVOICE = {
    "Vendor": "Initech GmbH",
    "Invoice number": "INV-4711",
    "Amount": "120.50",
    "Due date": date(2026, 12, 1),
    "Urgent": True,
    "Bank transfer": True,
    Field("Notes", kind="textarea"): "two pallets",
}


def enter_invoice(attempt: Attempt, url: str) -> None:
    """The robot under test: one description of the form, whatever the layout."""
    attempt.goto(url)
    attempt.form(INVOICE).fill()
    with attempt.page.expect_navigation():
        attempt.click("Save invoice")


def values(attempt: Attempt) -> list[str]:
    return attempt.page.eval_on_selector_all(
        "input, select, textarea",
        "els => els.map(e => (e.type === 'checkbox' || e.type === 'radio') ? "
        "String(e.checked) : e.value)")


@pytest.mark.parametrize("layout", ["classic", "drifted"])
def test_one_description_fills_every_layout(pool: BrowserPool, app: str, layout: str) -> None:
    _App.saved.clear()
    with pool.attempt(f"invoice on {layout}") as attempt:
        enter_invoice(attempt, f"{app}/{layout}")
        assert attempt.page.locator("#flash").inner_text() == "Invoice saved"
    assert _App.saved == [{"vendor": "i", "number": "INV-4711", "amount": "120.50",
                           "due": "2026-12-01", "urgent": "yes", "pay": "bank",
                           "notes": "two pallets"}]


def test_aria_controls_and_a_field_known_by_its_kind(pool: BrowserPool, app: str) -> None:
    with pool.attempt("aria") as attempt:
        attempt.goto(f"{app}/aria")
        form = attempt.form({"Comment": "late delivery", "Subscribe": True,
                             Field(kind="date"): date(2026, 3, 4)})
        assert [f.kind for f in form] == ["text", "checkbox", "date"]
        form.fill()
        page = attempt.page
        assert page.get_by_role("textbox", name="Comment").inner_text() == "late delivery"
        assert page.get_by_role("checkbox", name="Subscribe").get_attribute("aria-checked") == \
            "true"
        assert page.locator("input[type=date]").input_value() == "2026-03-04"
        assert form.facts()["fields"] == {"Comment": "text", "Subscribe": "checkbox",
                                          "date": "date"}


def test_missing_label_stops_with_label_and_page_and_fills_nothing(
        pool: BrowserPool, app: str) -> None:
    _App.saved.clear()
    with pool.attempt("invoice on a page without Amount") as attempt:
        attempt.goto(f"{app}/missing")
        with pytest.raises(FieldNotFound) as refused:
            attempt.form(INVOICE, timeout_ms=500).fill()
        assert "'Amount'" in str(refused.value) and f"{app}/missing" in str(refused.value)
        assert refused.value.labels == ("'Amount'",)
        assert values(attempt) == ["", "", "", "", "false", "false", "false", ""]
        assert attempt.page.locator("[data-proctor-field]").count() == 0
    assert _App.saved == []


def test_ambiguous_label_is_refused_and_nothing_is_filled(pool: BrowserPool, app: str) -> None:
    with pool.attempt("invoice on a page with two Amounts") as attempt:
        attempt.goto(f"{app}/ambiguous")
        with pytest.raises(AmbiguousField, match=r"'Amount' matches 2 fields \(number, text\)"):
            attempt.form(INVOICE).fill()
        assert set(values(attempt)) <= {"", "false"}


def test_ambiguous_button_is_refused(pool: BrowserPool, app: str) -> None:
    with pool.attempt("two save buttons") as attempt:
        attempt.goto(f"{app}/classic")
        attempt.page.evaluate("document.forms[0].append(document.createElement('button'))")
        attempt.page.evaluate("document.querySelectorAll('button')[1].textContent = 'Save invoice'")
        with pytest.raises(AmbiguousField, match="2 buttons or links 'Save invoice'"):
            attempt.click("Save invoice")


def test_select_without_the_wanted_option_is_refused_before_filling(
        pool: BrowserPool, app: str) -> None:
    with pool.attempt("unknown vendor") as attempt:
        attempt.goto(f"{app}/classic")
        with pytest.raises(ValueNotOffered, match="offers no option 'Umbrella'"):
            attempt.form({**INVOICE, "Vendor": "Umbrella"}).fill()
        assert attempt.page.locator("#n").input_value() == ""


def test_form_rendered_late_is_waited_for_not_slept_on(pool: BrowserPool, app: str) -> None:
    _App.saved.clear()
    with pool.attempt("slow page") as attempt:
        FRAGMENT_READY.clear()
        attempt.goto(f"{app}/slow")
        assert attempt.page.locator("input").count() == 0  # the page has loaded, the form has not
        threading.Timer(0.3, FRAGMENT_READY.set).start()
        attempt.form({"Invoice number": "INV-1"}).fill()
        with attempt.page.expect_navigation():
            attempt.click("Save invoice")
    assert _App.saved == [{"number": "INV-1"}]


def test_system_failure_is_retried_in_a_fresh_context_business_failure_is_not(
        pool: BrowserPool, app: str) -> None:
    FLAKY_HITS.clear()
    contexts: list[object] = []

    def work(attempt: Attempt) -> str:
        contexts.append(attempt.context)
        attempt.goto(f"{app}/flaky")  # 503 the first time
        attempt.form({"Invoice number": "INV-2"}).fill()
        return "done"

    assert pool.run("flaky app", work, attempts=3, backoff_s=0.01) == "done"
    assert len(contexts) == 2 and contexts[0] is not contexts[1]

    refusals: list[int] = []

    def refused(attempt: Attempt) -> str:
        refusals.append(1)
        raise BusinessRuleError("duplicate invoice")

    with pytest.raises(BusinessRuleError):
        pool.run("duplicate", refused, attempts=3, backoff_s=0.01)
    assert refusals == [1]


def test_trace_is_kept_only_for_a_failed_attempt(pool: BrowserPool, app: str) -> None:
    assert pool.trace_dir is not None
    before = set(pool.trace_dir.glob("*.zip"))
    with pool.attempt("fine") as attempt:
        attempt.goto(f"{app}/classic")
    assert set(pool.trace_dir.glob("*.zip")) == before
    with pytest.raises(ApplicationError) as failed, pool.attempt("broken") as attempt:
        attempt.goto(f"{app}/classic")
        attempt.page.locator("#nothing-here").click(timeout=200)  # a Playwright timeout
    kept = set(pool.trace_dir.glob("*.zip")) - before
    assert len(kept) == 1 and attempt.trace_paths == [kept.pop()]
    assert any("playwright show-trace" in note for note in failed.value.__notes__)


def test_a_browser_that_died_is_started_again(pool: BrowserPool, app: str) -> None:
    pool.browser().close()
    launches = pool.launches
    with pool.attempt("after a crash") as attempt:
        attempt.goto(f"{app}/classic")
    assert pool.launches == launches + 1


def test_find_form_without_a_guard_refuses_secrets(pool: BrowserPool, app: str) -> None:
    from pydantic import SecretStr

    with pool.attempt("unguarded") as attempt:
        attempt.goto(f"{app}/classic")
        with pytest.raises(ValueError, match="guard"):
            find_form(attempt.page, {"Notes": SecretStr("x")})


def test_pool_refuses_use_from_another_thread(pool: BrowserPool) -> None:
    errors: list[BaseException] = []

    def other() -> None:
        try:
            pool.browser()
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert errors and "another thread" in str(errors[0])


def test_trace_dir_is_a_path(pool: BrowserPool) -> None:
    assert isinstance(pool.trace_dir, Path)
