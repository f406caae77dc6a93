"""The review queue in real Chromium, with a real Prefect flow waiting on it.

carol's flow asks to release a payment over the approval limit and pauses. carol is herself an
approver of the group the policy names, yet her own request shows her no approve button and the
API refuses her vote. bob signs in, filters the queue, opens the request, approves it with an
edit; the paused run resumes and carries out the edited action, nothing else.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from governance.approvals.settings import ApprovalSettings
from governance.approvals.store import ApprovalRequest
from governance.models import Action
from governance.review.app import serving
from governance.review.settings import ReviewSettings
from proctor.composition import Governance, build
from proctor.settings import Settings
from robots.browser import launch
from robots.settings import BrowserSettings
from tests.conftest import PASSWORD, add_people
from tests.test_waiting import (
    ROOT,
    eventually,
    finish,
    flow_env,
    in_state,
    notes,
)

pytestmark = [pytest.mark.chromium, pytest.mark.prefect]


@pytest.fixture
def review(settings: Settings, prefect_api: str) -> Iterator[tuple[str, Governance]]:
    """The review service over real HTTP; its votes resume the paused run."""
    service_settings = settings.model_copy(update={
        "review": ReviewSettings(secure_cookies=False, sweep_interval_s=0.5),
        "approvals": ApprovalSettings(poll_interval_s=1, resume_patience_s=30)})
    governance = build(service_settings, resume_runs=True)
    add_people(governance)
    with serving(governance) as url:
        yield url, governance


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch(BrowserSettings()) as browser:
        yield browser


def sign_in(browser: Browser, url: str, who: str) -> Page:
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{url}/queue")  # not signed in: sent to the sign-in page, then back
    page.get_by_label("User name").fill(who)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    return page


def open_request(governance: Governance, kind: str, **params: str) -> ApprovalRequest:
    """A pending request from alice, as the policy decides it."""
    action = Action(kind=kind, target="acme-payables", robot="robot:acme-payables",
                    requested_by="alice", params=params, context={"invoice_status": "entered"})
    decision = governance.policy.decide(action.policy_input())
    assert decision.outcome == "require_approval", decision
    return governance.approvals.open(action, decision)


def test_approver_edits_in_the_browser_and_the_flow_runs_the_edited_action(
        settings: Settings, prefect_api: str, review: tuple[str, Governance],
        chromium: Browser, tmp_path: Path) -> None:
    url, governance = review
    env = flow_env(settings, prefect_api, tmp_path / "home", PROCTOR_USER="carol")
    flow = subprocess.Popen([sys.executable, "-m", "tests.flows_for_waiting", str(tmp_path),
                             "gated"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        run_id = eventually("the flow to start",
                            lambda: next((n["run_id"] for n in notes(tmp_path)
                                          if n["event"] == "start"), None), process=flow)
        eventually("the run to pause", in_state(run_id, "Paused"), process=flow)
        (request,) = governance.approvals.list("pending")
        assert request.requested_by == "carol" and request.approver_group == "finance-approvers"
        # Two more requests in bob's queue that his filter must leave out: a smaller payment
        # (same reason and group) and a bank-account change (another reason and group).
        others = [open_request(governance, "acme.release_payment", vendor="Globex Corporation",
                               invoice_number="INV-9", amount="20000.00", currency="EUR"),
                  open_request(governance, "acme.change_bank_account", vendor="Initech GmbH",
                               new_iban="CH9300762011623852957")]

        # carol, an approver of finance-approvers, on her own request: nothing to press.
        carol = sign_in(chromium, url, "carol")
        carol.goto(f"{url}/requests/{request.id}")
        expect(carol.locator("#why-not")).to_contain_text("carol")
        expect(carol.get_by_role("button", name="Approve")).to_have_count(0)
        expect(carol.get_by_role("button", name="Review edits")).to_have_count(0)
        token = governance.identity.create_token("carol")
        refused = httpx.post(f"{url}/api/approvals/{request.id}/approve",
                             headers={"Authorization": f"Bearer {token}"},
                             json={"view_digest": request.view_digest})
        assert refused.status_code == 403, refused.text
        assert governance.approvals.get(request.id).status == "pending"

        # bob filters the queue down to it, opens it, edits the amount, confirms the diff.
        bob = sign_in(chromium, url, "bob")
        expect(bob.get_by_role("heading", name="Review queue")).to_contain_text("3 requests")
        bob.get_by_label("Group").select_option("finance-approvers")
        bob.get_by_label("Policy reason").fill("amount_over_approval_limit")
        bob.get_by_label("Amount from").fill("40000")
        bob.get_by_role("button", name="Filter").click()
        expect(bob.get_by_role("heading", name="Review queue")).to_contain_text("1 request")
        assert "reason=amount_over_approval_limit" in bob.url and "min_amount=40000" in bob.url
        expect(bob.locator(f"a[href='/requests/{request.id}']")).to_have_count(1)
        for other in others:
            expect(bob.locator(f"a[href='/requests/{other.id}']")).to_have_count(0)
        bob.get_by_role("link", name="acme.release_payment").click()
        expect(bob.locator("#params")).to_contain_text("48500.00")
        bob.get_by_label("amount", exact=True).fill("45000.00")
        bob.get_by_label("Comment", exact=True).fill("amount per the signed contract")
        bob.get_by_role("button", name="Review edits").click()
        diff = bob.locator("#confirm-edits")
        expect(diff).to_contain_text("48500.00")
        expect(diff).to_contain_text("45000.00")
        bob.get_by_role("button", name="Approve with these edits").click()
        expect(bob.get_by_role("status")).to_contain_text("Your vote is recorded")

        output = finish(flow, timeout_s=90)
    finally:
        if flow.poll() is None:
            flow.kill()
    assert "succeeded" in output
    effects = [n for n in notes(tmp_path) if n["event"] == "effect"]
    assert len(effects) == 1 and effects[0]["params"]["amount"] == "45000.00"
    decided = governance.approvals.get(request.id)
    assert decided.status == "approved" and decided.edits == {"amount": "45000.00"}
    assert [governance.approvals.get(o.id).status for o in others] == ["pending", "pending"]
    assert decided.used_at is not None
    refused_entries = governance.reader.query(kind="approval.refused")
    assert [e.actor for e in refused_entries] == ["carol"]  # her API attempt is on the record
    assert governance.reader.verify().ok
