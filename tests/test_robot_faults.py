"""Robots against a misbehaving legacy app, in real Chromium: a lost reply after a save, a
crash between the submit and its recorded outcome, a form whose label went missing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from demo.acme import AcmeConfig, list_invoices
from demo.acme.server import serve
from governance.errors import ApplicationError
from proctor.composition import Governance
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow
from robots.browser import launch
from robots.settings import BrowserSettings

pytestmark = pytest.mark.chromium

ROW = InvoiceRow(row=2, invoice_number="INV-7001", vendor="Initech GmbH",
                 vendor_iban="DE02120300000000202051", amount="320.00", currency="EUR",
                 issue_date="2026-11-01", due_date="2026-12-01", description="Faults")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch(BrowserSettings()) as browser:
        yield browser


def robot(governance: Governance, browser: Browser, url: str) -> AcmePayablesRobot:
    return AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                             requested_by="alice", flow_run_id="run-1")


def kinds(governance: Governance) -> list[str]:
    return [e.kind for e in governance.reader.query(action_kind="acme.create_invoice")]


def test_lost_reply_after_save_is_reconciled_not_resubmitted(governance, browser, tmp_path):
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db, fail_after_save=1)) as url:
        with pytest.raises(ApplicationError, match="500"):
            robot(governance, browser, url).enter_invoice(ROW)  # Prefect would retry this
        again = robot(governance, browser, url).enter_invoice(ROW)
    assert again.status == "reconciled", again.summary()
    assert [(i["invoice_number"], i["status"]) for i in list_invoices(db)] == [
        ("INV-7001", "released")]
    history = kinds(governance)
    assert history == ["action.proposed", "policy.decided", "action.started", "action.failed",
                       "action.reconciled"]  # looked in the app; never submitted twice
    assert governance.reader.verify().ok


@pytest.mark.parametrize(("moment", "expected"), [("after-submit", "reconciled"),
                                                  ("before-submit", "succeeded")])
def test_sigkill_between_submit_and_outcome(governance, browser, settings: Settings,
                                            tmp_path: Path, moment: str, expected: str) -> None:
    db = tmp_path / "acme.db"
    env = {**os.environ, "PROCTOR_LEDGER_URL": settings.ledger.url,
           "PROCTOR_LEDGER_SIGNING_KEY": str(settings.ledger.signing_key),
           "PROCTOR_LEDGER_REDACTION_KEY": str(settings.ledger.redaction_key),
           "PROCTOR_POLICY_DIR": str(settings.policy.dir)}
    with serve(AcmeConfig(db_path=db)) as url:
        crashed = subprocess.run([sys.executable, "-m", "tests.robot_crash_proc", url, moment],
                                 env=env, capture_output=True, text=True, timeout=120)
        assert crashed.returncode == -9, crashed.stderr[-2000:]
        assert kinds(governance)[-1] == "action.started"  # no outcome was recorded
        resumed = robot(governance, browser, url).enter_invoice(ROW)
    assert resumed.status == expected, resumed.summary()
    assert [(i["invoice_number"], i["status"]) for i in list_invoices(db)] == [
        ("INV-7001", "released")]  # exactly once, either way
    assert governance.reader.verify().ok


def test_missing_label_stops_before_filling_anything(governance, browser, tmp_path) -> None:
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db, unlabelled="Due date")) as url, \
            pytest.raises(ApplicationError, match="labelled 'Due date'.*found 0"):
        robot(governance, browser, url).enter_invoice(ROW)
    assert list_invoices(db) == []
    failed = governance.reader.query(kind="action.failed")[-1].data()
    assert failed["business"] is False and "Due date" in failed["error"]
