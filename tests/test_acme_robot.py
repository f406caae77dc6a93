"""The Acme Payables robot in real Chromium against the real app, with the Gate in between."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from demo.acme import AcmeConfig, list_invoices, list_vendors
from demo.acme.server import serve
from proctor.composition import Governance
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow
from robots.browser import launch
from robots.settings import BrowserSettings
from tests.conftest import approvers

pytestmark = pytest.mark.chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(BrowserSettings()) as browser:
        yield browser


def row(number: str = "INV-9001", vendor: str = "Initech GmbH", amount: str = "120.00",
        iban: str = "DE02120300000000202051") -> InvoiceRow:
    return InvoiceRow(row=2, invoice_number=number, vendor=vendor, vendor_iban=iban,
                      amount=amount, currency="EUR", issue_date="2026-11-01",
                      due_date="2026-12-01", description="Robot test")


def robot(governance: Governance, browser: Browser, url: str) -> AcmePayablesRobot:
    return AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                             requested_by="alice", flow_run_id=None, timeout_ms=10_000)


@pytest.mark.parametrize("layout", ["classic", "alternate"])
def test_robot_enters_and_releases_on_either_layout(governance: Governance, browser: Browser,
                                                    tmp_path: Path, layout: str) -> None:
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db, layout=layout)) as url:
        result = robot(governance, browser, url).enter_invoice(row())
    assert result.status == "succeeded", result.summary()
    [invoice] = list_invoices(db)
    assert (invoice["invoice_number"], invoice["vendor"], invoice["status"]) == (
        "INV-9001", "Initech GmbH", "released")
    # Each effect was read back from the app's pages and found as approved.
    verified = {e.action_kind: e.data()["compared"]
                for e in governance.reader.query(kind="action.verified")}
    assert verified == {
        "acme.create_invoice": ["amount", "currency", "description", "due_date", "invoice_number",
                                "issue_date", "vendor"],
        "acme.release_payment": ["amount", "currency", "invoice_number", "status", "vendor"]}
    assert not governance.reader.query(kind="action.diverged")
    assert governance.reader.verify().ok


def test_denied_invoice_never_reaches_the_app(governance: Governance, browser: Browser,
                                              tmp_path: Path) -> None:
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db)) as url:
        result = robot(governance, browser, url).enter_invoice(row(amount="300000.00"))
    assert result.status == "denied"
    assert list_invoices(db) == []
    assert "action.started" not in {e.kind for e in governance.reader.query(
        action_kind="acme.create_invoice")}


def test_bank_change_waits_for_treasury_and_is_made_once_approved(
        governance: Governance, browser: Browser, tmp_path: Path) -> None:
    db = tmp_path / "acme.db"
    approver = approvers(governance, ("carol", "approve"))
    with serve(AcmeConfig(db_path=db)) as url:
        result = robot(governance, browser, url).enter_invoice(
            row(iban="DE89370400440532013000"))
    approver.join()
    assert result.status == "succeeded", result.summary()
    initech = next(v for v in list_vendors(db) if v["name"] == "Initech GmbH")
    assert initech["iban"] == "DE89370400440532013000"
    [bank] = governance.reader.query(kind="action.verified",
                                     action_kind="acme.change_bank_account")
    assert bank.data()["compared"] == ["new_iban"]


def test_app_refusal_is_a_business_failure(governance: Governance, browser: Browser,
                                           tmp_path: Path) -> None:
    # The app refuses an impossible date; the policy had no reason to. Recorded, not retried.
    db = tmp_path / "acme.db"
    bad = row().model_copy(update={"due_date": "2026-02-30"})
    with serve(AcmeConfig(db_path=db)) as url:
        result = robot(governance, browser, url).enter_invoice(bad)
    assert result.status == "failed"
    assert "Acme Payables said" in result.steps[-1].message
    assert list_invoices(db) == []


def test_evidence_before_and_after_submit_without_secrets(governance: Governance,
                                                          browser: Browser,
                                                          tmp_path: Path) -> None:
    import hashlib

    from robots.evidence import EvidenceStore

    store = EvidenceStore(tmp_path / "evidence", governance.redactor)
    new_iban, old_iban = "DE89370400440532013000", "DE02120300000000202051"
    approver = approvers(governance, ("carol", "approve"))
    with serve(AcmeConfig(db_path=tmp_path / "acme.db")) as url:
        result = AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                                   requested_by="alice", flow_run_id=None,
                                   evidence=store).enter_invoice(row(iban=new_iban))
    approver.join()
    assert result.status == "succeeded", result.summary()
    succeeded = governance.reader.query(kind="action.succeeded")
    evidence = [e.data()["result"]["evidence"] for e in succeeded if "evidence" in
                e.data()["result"]]
    assert len(evidence) == 3  # bank change, invoice, payment
    for item in evidence:
        for moment in ("before_submit", "after_submit"):
            for kind, digest in item[moment].items():
                path = store.path(digest)
                data = path.read_bytes()
                assert hashlib.sha256(data).hexdigest() == digest  # the ledger proves the file
                if kind == "screenshot":
                    assert data.startswith(b"\x89PNG")
                else:
                    assert new_iban.encode() not in data and old_iban.encode() not in data
    invoice_html = store.path(evidence[1]["before_submit"]["html"]).read_text()
    assert "Save invoice" in invoice_html
    # The approver saw the filled form before anything was submitted, IBANs kept out.
    request = governance.approvals.list()[0]
    assert request.action_kind == "acme.change_bank_account"
    preview = store.path(request.preview["html"]).read_bytes()
    assert b"New IBAN" in preview and new_iban.encode() not in preview
    assert store.path(request.preview["screenshot"]).read_bytes().startswith(b"\x89PNG")
    assert request.step == "change_bank_account Initech GmbH"


def test_one_login_serves_the_workers_transactions_until_the_app_ends_it(
        governance: Governance, browser: Browser, tmp_path: Path) -> None:
    import time

    def logins() -> int:
        return len(governance.reader.query(kind="action.proposed", action_kind="acme.login"))

    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db, session_ttl_s=5)) as url:
        acme = robot(governance, browser, url)
        results = [acme.enter_invoice(row(number=f"INV-93{i:02d}")) for i in range(3)]
        assert [r.status for r in results] == ["succeeded"] * 3, [r.summary() for r in results]
        assert logins() == 1  # the first transaction's login, kept for the next two
        assert [s.action_kind for s in results[1].steps] == ["acme.create_invoice",
                                                             "acme.release_payment"]
        time.sleep(5.5)  # idle past the app's session expiry: it asks for a login again
        late = acme.enter_invoice(row(number="INV-9399"))
    assert late.status == "succeeded", late.summary()
    assert logins() == 2 and acme.session.logins == 2
    assert len(list_invoices(db)) == 4
