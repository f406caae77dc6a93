"""Acme Payables over real HTTP on loopback: sessions, CSRF, validation, and its fault knobs."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from demo.acme import AcmeConfig, list_invoices, list_vendors
from demo.acme.forms import iban_is_valid
from demo.acme.server import serve

INVOICE = {"vendor": "Globex Corporation", "invoice_number": "INV-1", "amount": "1250.00",
           "currency": "EUR", "issue_date": "2026-11-01", "due_date": "2026-12-01",
           "description": "Paper"}


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: httpx.Client, password: str = "acme-clerk-pw") -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"username": "clerk", "password": password,
                                       "csrf_token": csrf(page.text)})


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[httpx.Client, Path]]:
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db)) as url, httpx.Client(base_url=url) as client:
        yield client, db


def save(client: httpx.Client, **changes: str) -> httpx.Response:
    form = client.get("/invoices/new")
    return client.post("/invoices", data={**INVOICE, **changes, "csrf_token": csrf(form.text)})


def test_pages_need_a_login(app) -> None:
    client, _ = app
    response = client.get("/invoices")
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_wrong_password_is_refused(app) -> None:
    client, _ = app
    response = login(client, password="guess")
    assert "Invalid username or password" in response.text
    assert client.get("/invoices").status_code == 303


def test_login_rotates_the_session_and_logout_ends_it(app) -> None:
    client, _ = app
    client.get("/login")
    before = client.cookies["ACMESESSID"]
    assert login(client).status_code == 303
    assert client.cookies["ACMESESSID"] != before
    assert client.get("/invoices").status_code == 200
    client.get("/logout")
    assert client.get("/invoices").headers["location"] == "/login"


def test_vendors_are_seeded_with_valid_ibans(app) -> None:
    client, db = app
    login(client)
    page = client.get("/vendors").text
    vendors = list_vendors(db)
    assert len(vendors) == 5 and all(iban_is_valid(v["iban"]) for v in vendors)
    assert all(v["name"] in page and v["iban"] in page for v in vendors)


def test_state_changes_need_the_csrf_token(app) -> None:
    client, db = app
    login(client)
    refused = client.post("/invoices", data=INVOICE)
    assert refused.status_code == 403 and "Invalid or missing CSRF token" in refused.text
    assert client.post("/invoices", data={**INVOICE, "csrf_token": "forged"}).status_code == 403
    assert list_invoices(db) == []


def test_invoice_is_saved_listed_and_searchable(app) -> None:
    client, db = app
    login(client)
    saved = save(client)
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert "Invoice INV-1 saved" in page.text
    [invoice] = list_invoices(db)
    assert (invoice["vendor"], invoice["amount"], invoice["status"]) == (
        "Globex Corporation", "1250.00", "entered")
    save(client, invoice_number="INV-2", vendor="Initech GmbH")
    found = client.get("/invoices", params={"q": "INV-2"}).text
    assert "INV-2" in found and "INV-1<" not in found


def test_duplicate_and_bad_amount_are_refused_with_messages(app) -> None:
    client, db = app
    login(client)
    save(client)
    duplicate = save(client, amount="99.00")
    assert duplicate.status_code == 409
    assert "Invoice number INV-1 already exists for this vendor" in duplicate.text
    bad = save(client, invoice_number="INV-3", amount="12,5x")
    assert bad.status_code == 422 and 'class="error"' in bad.text
    assert 'value="INV-3"' in bad.text  # the clerk's input is kept
    for amount in ("0", "1e3", "12.345", "-5"):
        assert save(client, invoice_number="INV-4", amount=amount).status_code == 422, amount
    bad_date = save(client, invoice_number="INV-5", due_date="01.12.2026")
    assert "Due date must be a date (YYYY-MM-DD)" in bad_date.text
    assert save(client, invoice_number="INV-6", amount="1250").status_code == 303
    assert [i["amount"] for i in list_invoices(db)] == ["1250.00", "1250.00"]


def test_release_payment_once(app) -> None:
    client, db = app
    login(client)
    location = save(client).headers["location"]
    invoice_url = location.split("?")[0]
    token = csrf(client.get(invoice_url).text)
    released = client.post(f"{invoice_url}/release", data={"csrf_token": token})
    assert "Payment released for invoice INV-1" in client.get(released.headers["location"]).text
    again = client.post(f"{invoice_url}/release", data={"csrf_token": token})
    assert again.status_code == 409 and "Payment already released" in again.text
    assert list_invoices(db)[0]["status"] == "released"
    assert client.post("/invoices/999/release", data={"csrf_token": token}).status_code == 404


def test_bank_account_change_checks_the_iban(app) -> None:
    client, db = app
    login(client)
    vendor_id = next(v["id"] for v in list_vendors(db) if v["name"] == "Initech GmbH")
    token = csrf(client.get(f"/vendors/{vendor_id}").text)
    bad = client.post(f"/vendors/{vendor_id}/bank-account",
                      data={"new_iban": "DE00123", "csrf_token": token})
    assert bad.status_code == 422 and "Invalid IBAN" in bad.text
    good = client.post(f"/vendors/{vendor_id}/bank-account",
                       data={"new_iban": "DE89 3704 0044 0532 0130 00", "csrf_token": token})
    assert "Bank account updated" in client.get(good.headers["location"]).text
    initech = next(v for v in list_vendors(db) if v["name"] == "Initech GmbH")
    assert initech["iban"] == "DE89370400440532013000"


def test_idle_session_expires(tmp_path: Path) -> None:
    config = AcmeConfig(db_path=tmp_path / "acme.db", session_ttl_s=1)
    with serve(config) as url, httpx.Client(base_url=url) as client:
        login(client)
        assert client.get("/invoices").status_code == 200
        time.sleep(1.3)
        expired = client.get("/invoices")
        assert expired.headers["location"] == "/login?expired=1"
        assert "Your session has expired" in client.get("/login?expired=1").text


def test_alternate_layout_changes_ids_and_order_but_not_labels(tmp_path: Path) -> None:
    pages = {}
    for layout in ("classic", "alternate"):
        config = AcmeConfig(db_path=tmp_path / f"{layout}.db", layout=layout)
        with serve(config) as url, httpx.Client(base_url=url) as client:
            page = client.get("/login")
            names = ("x_login", "x_secret") if layout == "alternate" else ("username", "password")
            client.post("/login", data={names[0]: "clerk", names[1]: "acme-clerk-pw",
                                        "csrf_token": csrf(page.text)})
            pages[layout] = client.get("/invoices/new").text
    labels = {layout: re.findall(r"<label for=\"([^\"]+)\">([^<]+)</label>", html)
              for layout, html in pages.items()}
    assert sorted(t for _, t in labels["classic"]) == sorted(t for _, t in labels["alternate"])
    assert [t for _, t in labels["classic"]] != [t for _, t in labels["alternate"]]
    assert not {i for i, _ in labels["classic"]} & {i for i, _ in labels["alternate"]}


def test_slow_knob_delays_every_response(tmp_path: Path) -> None:
    with serve(AcmeConfig(db_path=tmp_path / "acme.db", slow_ms=400)) as url:
        with pytest.raises(httpx.ReadTimeout):  # an impatient client gives up
            httpx.get(f"{url}/login", timeout=0.1)
        started = time.monotonic()
        assert httpx.get(f"{url}/login", timeout=10).status_code == 200
        assert time.monotonic() - started >= 0.4
