"""What the Acme robot needed from the toolkit, tested on its own: table rows by their column
headers on any column order, a page without the table refused (never read as "no such row"),
forms found by tied labels only, the app's answer read through its declared messages, a pool
over a browser the caller owns, and a secret's fallback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser
from pydantic import SecretStr

from governance.errors import ApplicationError, BusinessRuleError
from robots.browser import BrowserPool, launch
from robots.forms import FieldNotFound
from robots.pages import AmbiguousRow, ColumnNotFound, Messages, confirm, find_row
from robots.secrets import EnvironmentSecrets, SecretNotFound, Secrets
from robots.settings import BrowserSettings
from tests.html_app import HtmlHandler, serving

VENDORS = """<!doctype html><table><tr><th>Name</th><th>IBAN:</th></tr>
<tr><td><a href="/v/1">Initech GmbH</a></td><td>DE02 1203 0000 0000 2020 51</td></tr>
<tr><td><a href="/v/2">Globex</a></td><td>CH93 0076 2011 6238 5295 7</td></tr>
<tr><td colspan=2>2 vendors</td></tr></table>"""
# Another version of the app: columns swapped, a vendor listed twice.
SWAPPED = """<!doctype html><table><thead><tr><th>iban</th><th>NAME</th></tr></thead>
<tbody><tr><td>DE02</td><td>Initech GmbH</td></tr><tr><td>CH93</td><td>Globex</td></tr>
<tr><td>CH94</td><td>Globex</td></tr></tbody></table>"""
FORM = """<!doctype html><form><div><span>Due date</span><input name=due></div>
<div><label for=n>Invoice number</label><input id=n name=number></div></form>"""
ANSWERS = {"/saved": '<p class=flash>Invoice 7 saved</p><p class=note>saved</p>',
           "/refused": '<p class=error>Due date must be a date</p>',
           "/blank": '<p>Nothing to see</p>'}


class _App(HtmlHandler):
    def do_GET(self) -> None:  # noqa: N802
        pages = {"/vendors": VENDORS, "/swapped": SWAPPED, "/form": FORM, **ANSWERS}
        self._send(200, pages.get(self.path, "<p>no table here</p>"))


@pytest.fixture(scope="module")
def app() -> Iterator[str]:
    with serving(_App) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(BrowserSettings()) as browser:
        yield browser


@pytest.fixture(scope="module")
def pool(browser: Browser) -> BrowserPool:
    return BrowserPool.over(browser, timeout_ms=5_000)


@pytest.mark.chromium
def test_rows_by_column_headers_on_either_column_order(pool: BrowserPool, app: str) -> None:
    with pool.attempt("vendors") as attempt:
        attempt.goto(f"{app}/vendors")
        row = find_row(attempt.page, {"Name": "Initech GmbH"})
        assert row is not None and row["IBAN"] == "DE02 1203 0000 0000 2020 51"
        assert list(row.cells) == ["Name", "IBAN:"]  # as shown, in the table's order
        assert find_row(attempt.page, {"Name": "Hooli"}) is None  # the table is there: no such row
        attempt.click("Initech GmbH", within=row.selector)
        attempt.page.wait_for_url(f"{app}/v/1")
        attempt.goto(f"{app}/swapped")
        assert find_row(attempt.page, {"name": "Initech GmbH"})["IBAN"] == "DE02"  # type: ignore[index]
        with pytest.raises(AmbiguousRow, match="2 rows with name='Globex'"):
            find_row(attempt.page, {"name": "Globex"})


@pytest.mark.chromium
def test_a_page_without_the_table_is_refused_not_read_as_no_row(pool: BrowserPool,
                                                                 app: str) -> None:
    with pool.attempt("no table") as attempt:
        attempt.goto(f"{app}/elsewhere")
        with pytest.raises(ColumnNotFound, match="no table with the columns 'Name'"):
            find_row(attempt.page, {"Name": "Initech GmbH"}, timeout_ms=200)
        attempt.goto(f"{app}/vendors")
        with pytest.raises(ColumnNotFound, match="'Status'"):  # a column the app dropped
            find_row(attempt.page, {"Name": "Initech GmbH", "Status": "active"}, timeout_ms=200)


@pytest.mark.chromium
def test_labels_only_refuses_a_field_named_by_nearby_text(pool: BrowserPool, app: str) -> None:
    with pool.attempt("form") as attempt:
        attempt.goto(f"{app}/form")
        assert len(attempt.form({"Due date": "2026-12-01", "Invoice number": "7"}).fields) == 2
        attempt.goto(f"{app}/form")
        with pytest.raises(FieldNotFound, match="labelled 'Due date'.*found 0 \\(only labels"):
            attempt.form({"Due date": "2026-12-01", "Invoice number": "7"}, labels_only=True,
                         timeout_ms=200)
        assert attempt.page.locator("[data-proctor-field]").count() == 0  # nothing marked


@pytest.mark.chromium
def test_the_apps_answer_through_its_declared_messages(pool: BrowserPool, app: str) -> None:
    messages = Messages(confirmation=".flash", error=".error")
    with pool.attempt("answers") as attempt:
        attempt.goto(f"{app}/saved")
        assert confirm(attempt.page, "Invoice 7 saved", messages, app="Acme") == {
            "confirmation": "Invoice 7 saved"}
        attempt.goto(f"{app}/refused")
        with pytest.raises(BusinessRuleError, match="Acme said: Due date must be a date"):
            confirm(attempt.page, "Invoice 7 saved", messages, app="Acme")
        attempt.goto(f"{app}/blank")
        with pytest.raises(ApplicationError, match="no confirmation 'Invoice 7 saved'"):
            confirm(attempt.page, "Invoice 7 saved", messages, app="Acme")


@pytest.mark.chromium
def test_a_pool_over_a_callers_browser_never_closes_it(browser: Browser, app: str) -> None:
    pool = BrowserPool.over(browser, timeout_ms=5_000)
    with pool.attempt("one") as attempt:
        attempt.goto(f"{app}/vendors")
    pool.close()
    assert browser.is_connected() and pool.launches == 0
    with pool.attempt("two") as attempt:  # still usable: the caller's browser is open
        attempt.goto(f"{app}/vendors")
        assert find_row(attempt.page, {"Name": "Globex"}) is not None


def test_a_secret_falls_back_to_a_default_only_when_no_provider_has_it() -> None:
    env = EnvironmentSecrets(environ={"PROCTOR_SECRET_ACME_PASSWORD": "from-env"})
    fallback = SecretStr("demo-pw")
    assert Secrets([env]).get("acme/password", default=fallback).get_secret_value() == \
        "from-env"
    empty = Secrets([EnvironmentSecrets(environ={})])
    assert empty.get("acme/password", default=fallback) is fallback
    with pytest.raises(SecretNotFound):
        empty.get("acme/password")
