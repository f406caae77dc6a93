"""Plan mode: the robots run up to each side effect, the policy answers, and nothing is
recorded, requested or changed (real Chromium, the real app, the shipped policy)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser

from demo.acme import AcmeConfig, list_invoices, list_vendors
from demo.acme.server import serve
from proctor.composition import build
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from tests.test_acme_robot import browser, row  # noqa: F401 - fixture

pytestmark = pytest.mark.chromium


def test_a_plan_shows_what_a_run_would_need_and_touches_nothing(
        settings: Settings, browser: Browser, tmp_path: Path) -> None:  # noqa: F811
    governance = build(settings.model_copy(update={"plan": True}), resume_runs=False)
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db)) as url:
        vendors_before = list_vendors(db)
        robot = AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                                  requested_by="alice", flow_run_id=None)
        big = robot.enter_invoice(row(number="INV-7001", amount="48500.00"))
        moved = robot.enter_invoice(row(number="INV-7002", iban="CH9300762011623852957"))
    assert big.status == moved.status == "planned"
    steps = {(a.kind, o.status, o.decision.outcome if o.decision else None)
             for a, o in governance.gate.planned}
    assert ("acme.login", "succeeded", "allow") in steps  # harmless: signed in to read
    assert ("acme.create_invoice", "planned", "allow") in steps
    assert ("acme.change_bank_account", "planned", "require_approval") in steps
    bank = next(o for a, o in governance.gate.planned if a.kind == "acme.change_bank_account")
    assert "needs 1 approval(s) from treasury" in bank.message
    # Nothing happened: no invoice, no bank change, no request, not one ledger entry.
    assert list_invoices(db) == [] and list_vendors(db) == vendors_before
    assert governance.approvals.list("pending") == []
    assert governance.reader.count() == 0


def test_a_plan_knows_what_is_already_done(settings: Settings, browser: Browser,  # noqa: F811
                                           tmp_path: Path) -> None:
    db = tmp_path / "acme.db"
    with serve(AcmeConfig(db_path=db)) as url:
        real = build(settings, resume_runs=False)
        done = AcmePayablesRobot(real.gate, browser, AcmeSettings(url=url), requested_by="alice",
                                 flow_run_id=None).enter_invoice(row(number="INV-7003"))
        assert done.status == "succeeded"
        entries = real.reader.count()
        plan = build(settings.model_copy(update={"plan": True}), resume_runs=False)
        again = AcmePayablesRobot(plan.gate, browser, AcmeSettings(url=url),
                                  requested_by="alice", flow_run_id=None).enter_invoice(
            row(number="INV-7003"))
    assert again.status == "already_done"
    assert real.reader.count() == entries
