"""Policy packages: the combiner and its defaults ship with the engine, so a policy folder holds
only an app's rules and data, and every engine (regorus, the CLI, signed bundles) loads both.
The app here is one the project has never seen: an issue tracker with one rule file."""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import governance.policy.package as package_module
from audit.keys import public_pem
from governance.errors import PolicyError
from governance.models import Action
from governance.policy.bundles import build_bundle, bundled_base, open_bundle
from governance.policy.package import BASE_NAME, PolicyPackage
from governance.policy.regorus import RegorusEngine, run_rego_tests
from governance.policy.settings import PolicySettings
from proctor.composition import build
from proctor.settings import Settings
from tests.conftest import ROOT

RULES = """package proctor

import rego.v1

allow contains "issue_filed" if action.kind == "tracker.create_issue"

approval contains {"reason": "big", "group": "leads", "quorum": 1, "expires_in_s": 3600} if {
	action.kind == "tracker.create_issue"
	input.action.params.amount > 1000
}

deny contains "far_too_big" if input.action.params.amount > 100000
"""

TESTS = """package tracker_test

import rego.v1

test_small_is_allowed if {
	d := data.proctor.decision with input as {"action": {"kind": "tracker.create_issue",
		"params": {"amount": 5}}, "context": {}}
	d.outcome == "allow"
}

test_big_needs_a_lead if {
	d := data.proctor.decision with input as {"action": {"kind": "tracker.create_issue",
		"params": {"amount": 5000}}, "context": {}}
	d.outcome == "require_approval"
	d.approver_group == "leads"
}
"""

EXPECTED = {1: "allow", 5000: "require_approval", 1_000_000: "deny"}


def issue(amount: int) -> dict:
    return Action(kind="tracker.create_issue", target="tracker", robot="robot:tracker",
                  requested_by="alice", params={"title": "Printer on fire",
                                                "amount": amount}).policy_input()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A fresh policy folder holding only the app's rules and their test."""
    folder = tmp_path / "tracker-policy"
    folder.mkdir()
    (folder / "tracker.rego").write_text(RULES)
    (folder / "tracker_test.rego").write_text(TESTS)
    return folder


def policy_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "proctor.cli", "policy", *args],
                          capture_output=True, text=True, cwd=ROOT)


def test_regorus_decides_with_the_engines_base(app: Path) -> None:
    engine = RegorusEngine(app)
    assert engine.load_error is None
    decisions = {amount: engine.decide(issue(amount)) for amount in EXPECTED}
    assert {a: d.outcome for a, d in decisions.items()} == EXPECTED
    approval = decisions[5000]
    assert approval.reasons == ["big"] and approval.approver_group == "leads"
    # the combiner's data comes from the engine's defaults
    assert (approval.escalation_group, approval.escalate_after_s) == ("risk-committee", 14400)
    assert decisions[1_000_000].reasons == ["far_too_big"]


def test_the_folders_data_overrides_the_defaults(app: Path) -> None:
    (app / "data.json").write_text(json.dumps({"proctor": {"escalation_group": "cto"},
                                               "tracker": {"limit": 1000}}))
    decision = RegorusEngine(app).decide(issue(5000))
    assert (decision.escalation_group, decision.escalate_after_s) == ("cto", 14400)


def test_two_data_files_that_disagree_are_named(app: Path) -> None:
    for sub, group in (("a", "cto"), ("b", "ceo")):
        (app / sub).mkdir()
        (app / sub / "data.json").write_text(json.dumps({"proctor": {"escalation_group": group}}))
    with pytest.raises(PolicyError, match=r"b/data.json sets data.proctor.escalation_group, "
                                          r"which a/data.json sets"):
        PolicyPackage.load(app).data()


def test_cli_test_and_eval_load_the_base(app: Path, tmp_path: Path) -> None:
    tests = policy_cli("test", "--policy-dir", str(app))
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed, 0 failed" in tests.stdout
    for amount, outcome in EXPECTED.items():
        doc = tmp_path / f"in-{amount}.json"
        doc.write_text(json.dumps(issue(amount)))
        out = policy_cli("eval", "--input", str(doc), "--policy-dir", str(app))
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["outcome"] == outcome


def test_cli_eval_exits_nonzero_on_a_broken_policy(app: Path, tmp_path: Path) -> None:
    (app / "tracker.rego").write_text(RULES.replace("input.action.params.amount > 1000",
                                                    "amount > 1000", 1))
    doc = tmp_path / "in.json"
    doc.write_text(json.dumps(issue(5)))
    out = policy_cli("eval", "--input", str(doc), "--policy-dir", str(app))
    assert out.returncode == 1
    decision = json.loads(out.stdout)
    assert decision["outcome"] == "deny"
    assert decision["reasons"][0].startswith("policy_load_error: tracker.rego line 9 "
                                             "(rule approval)")
    assert "tracker.rego line 9" in out.stderr
    tests = policy_cli("test", "--policy-dir", str(app))
    assert tests.returncode == 1 and "tracker.rego line 9" in tests.stderr


def test_an_undefined_variable_names_file_rule_and_the_input_shape(app: Path) -> None:
    (app / "tracker.rego").write_text(RULES.replace("input.action.params.amount > 1000",
                                                    "amount > 1000", 1))
    engine = RegorusEngine(app)
    assert engine.load_error is not None
    error = engine.load_error
    assert "tracker.rego line 9 (rule approval)" in error and "`amount`" in error
    for part in ('"action": {', '"kind"', '"target"', '"robot"', '"requested_by"',
                 '"params": {...}', '"flow_run_id"', '"step"', '"flow_author"',
                 '"idempotency_key"', '"context": {...}'):
        assert part in error, part
    decision = engine.decide(issue(5))  # fail closed, and the reason names the cause
    assert decision.outcome == "deny" and decision.reasons == [f"policy_load_error: {error}"]


def test_a_rule_reading_an_input_no_action_has_is_refused(app: Path) -> None:
    (app / "tracker.rego").write_text(RULES.replace("input.action.params.amount > 1000",
                                                    "input.action.amount > 1000", 1))
    error = RegorusEngine(app).load_error or ""
    assert error.startswith("tracker.rego line 9 (rule approval): input.action.amount is not "
                            "part of the input")
    assert '"params": {...}' in error


def test_load_and_evaluation_errors_name_the_file_and_line(app: Path) -> None:
    (app / "tracker.rego").write_text(RULES.replace("> 1000\n", ">\n"))
    assert (RegorusEngine(app).load_error or "").startswith("tracker.rego line 10")
    (app / "tracker.rego").write_text(RULES.replace("input.action.params.amount > 1000",
                                                    "to_number(input.action.params.title) > 1", 1))
    decision = RegorusEngine(app).decide(issue(5))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith("policy_error: tracker.rego line 9 (rule approval)")


def test_the_revision_covers_the_base(app: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path / "base"
    shutil.copytree(package_module.BASE_DIR, base)
    monkeypatch.setattr(package_module, "BASE_DIR", base)
    before = RegorusEngine(app).revision
    assert before != PolicyPackage.load(app, base=None).revision()
    with (base / "proctor.rego").open("a") as combiner:
        combiner.write("\n# a new release of the engine's combiner\n")
    after_combiner = RegorusEngine(app).revision
    defaults = json.loads((base / "defaults.json").read_text())
    defaults["proctor"]["escalate_after_s"] = 60
    (base / "defaults.json").write_text(json.dumps(defaults))
    engine = RegorusEngine(app)
    assert len({before, after_combiner, engine.revision}) == 3
    assert engine.decide(issue(5000)).escalate_after_s == 60


def test_a_signed_bundle_carries_the_base(app: Path, tmp_path: Path,
                                          settings: Settings) -> None:
    key = Ed25519PrivateKey.generate()
    bundle = tmp_path / "tracker.tar.gz"
    info = build_bundle(app, bundle, key)
    assert {f"{BASE_NAME}/proctor.rego", f"{BASE_NAME}/defaults.json", "tracker.rego",
            "tracker_test.rego"} == set(info.files)
    assert info.revision == RegorusEngine(app).revision
    _, unpacked = open_bundle(bundle, key.public_key(), tmp_path / "unpacked")
    assert bundled_base(unpacked) == unpacked / BASE_NAME
    (tmp_path / "trusted.pem").write_text(public_pem(key.public_key()))
    governance = build(settings.model_copy(update={"policy": PolicySettings(
        dir=tmp_path / "not-used", bundle=bundle, trusted_key=tmp_path / "trusted.pem",
        bundle_workdir=tmp_path / "workdir")}), resume_runs=False)
    outcomes = {a: governance.policy.decide(issue(a)) for a in EXPECTED}
    assert {a: d.outcome for a, d in outcomes.items()} == EXPECTED
    assert all(d.policy_bundle == info.id and d.policy_revision == info.revision
               for d in outcomes.values())


def test_a_folder_with_its_own_combiner_keeps_it_and_is_warned(app: Path,
                                                               tmp_path: Path) -> None:
    own = (package_module.BASE_DIR / "proctor.rego").read_text().replace(
        '"no_rule_allows_action"', '"nothing_here_allows_it"')
    (app / "proctor.rego").write_text(own)
    (app / "data.json").write_text(json.dumps({"proctor": {
        "escalation_group": "cto", "escalate_after_s": 60, "high_risk_reasons": []}}))
    package = PolicyPackage.load(app)
    assert package.base is None and package.own_combiner == app / "proctor.rego"
    assert package.warning and str(app / "proctor.rego") in package.warning
    assert "delete it" in package.warning
    engine = RegorusEngine(app)
    assert engine.revision == PolicyPackage.load(app, base=None).revision()
    unknown = Action(kind="tracker.close_issue", target="tracker", robot="robot:tracker",
                     requested_by="alice").policy_input()
    assert engine.decide(unknown).reasons == ["nothing_here_allows_it"]  # the user's copy
    assert engine.decide(issue(5000)).escalation_group == "cto"
    doc = tmp_path / "in.json"
    doc.write_text(json.dumps(issue(1)))
    out = policy_cli("eval", "--input", str(doc), "--policy-dir", str(app))
    assert out.returncode == 0 and json.loads(out.stdout)["outcome"] == "allow"
    assert "warning:" in out.stderr and "proctor.rego defines data.proctor.decision" in out.stderr
    assert {r.name for r in run_rego_tests(app)} == {"tracker_test.rego::test_small_is_allowed",
                                                     "tracker_test.rego::test_big_needs_a_lead"}


def test_the_shipped_folder_holds_only_app_rules() -> None:
    assert not (ROOT / "policies" / "proctor.rego").exists()
    assert PolicyPackage.load(ROOT / "policies").base is not None


def test_the_base_is_package_data() -> None:
    base = resources.files("governance.policy") / "base"
    names = sorted(p.name for p in base.iterdir() if p.is_file())
    assert names == ["defaults.json", "proctor.rego"]
    assert "package proctor" in (base / "proctor.rego").read_text()
    json.loads((base / "defaults.json").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["governance"]
    for name in names:  # an installed copy (wheel or sdist) carries each base file
        assert any(fnmatch.fnmatch(f"policy/base/{name}", g) for g in globs), name
    assert "governance*" in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
