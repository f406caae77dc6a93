"""Shadow policies: a candidate policy decides beside the live one on real traffic; where it
would decide otherwise the difference is recorded, and it never decides anything itself."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from governance.models import Action
from governance.policy.settings import PolicySettings
from proctor.composition import build
from proctor.settings import Settings
from tests.conftest import POLICIES
from tests.test_inputs_and_cli import cli


def payment(amount: str) -> Action:
    return Action(kind="acme.release_payment", target="acme-payables",
                  robot="robot:acme-payables", requested_by="alice",
                  idempotency_key=f"release:{amount}",
                  params={"vendor": "Globex Corporation", "invoice_number": f"INV-{amount}",
                          "amount": amount, "currency": "EUR"},
                  context={"invoice_status": "entered"})


def candidate(tmp_path: Path, limit: int | None = None, broken: bool = False) -> Path:
    folder = tmp_path / "candidate"
    shutil.copytree(POLICIES, folder)
    if limit is not None:  # the candidate lowers the approval limit from 10,000 to `limit`
        data = json.loads((folder / "data.json").read_text())
        data["acme"]["limits"]["approval_limit"] = limit
        (folder / "data.json").write_text(json.dumps(data))
    if broken:
        (folder / "broken.rego").write_text("package proctor\nthis is not rego\n")
    return folder


def test_differences_are_recorded_and_the_live_policy_decides(settings: Settings,
                                                              tmp_path: Path) -> None:
    shadowed = settings.model_copy(update={"policy": PolicySettings(
        dir=settings.policy.dir, shadow_dir=candidate(tmp_path, limit=1000))})
    governance = build(shadowed, resume_runs=False)
    done = []
    for amount in ("500.00", "5000.00"):
        outcome = governance.gate.submit(payment(amount), lambda a: done.append(a) or {})
        assert outcome.status == "succeeded"  # the live policy allows both
    assert [a.params["amount"] for a in done] == ["500.00", "5000.00"]
    (difference,) = governance.reader.query(kind="policy.shadow_differs")
    data = difference.data()
    assert data["live"]["outcome"] == "allow"
    assert data["shadow"]["outcome"] == "require_approval"
    assert data["shadow"]["reasons"] == ["amount_over_approval_limit"]
    assert data["shadow"]["policy_revision"] != data["live"]["policy_revision"]
    assert difference.action_id == done[1].id
    assert governance.reader.verify().ok
    env = {"PROCTOR_LEDGER_URL": settings.ledger.url,
           "PROCTOR_POLICY_DIR": str(settings.policy.dir)}
    report = cli(env, "policy", "shadow-report")
    assert report.returncode == 0, report.stderr
    assert "1  acme.release_payment: live allow (payment_within_limit) -> shadow " \
           "require_approval (amount_over_approval_limit)" in report.stdout


def test_a_broken_candidate_is_a_finding_not_an_outage(settings: Settings,
                                                       tmp_path: Path) -> None:
    governance = build(settings.model_copy(update={"policy": PolicySettings(
        dir=settings.policy.dir, shadow_dir=candidate(tmp_path, broken=True))}),
        resume_runs=False)
    outcome = governance.gate.submit(payment("500.00"), lambda a: {"released": True})
    assert outcome.status == "succeeded" and outcome.decision.outcome == "allow"
    (difference,) = governance.reader.query(kind="policy.shadow_differs")
    assert difference.data()["shadow"]["outcome"] == "deny"
    assert difference.data()["shadow"]["reasons"][0].startswith("policy_load_error: broken.rego")
