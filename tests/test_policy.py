"""Rego on real regorus: the shipped rules, their tests, and failing closed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from governance.policy.regorus import RegorusEngine, run_rego_tests
from tests.conftest import POLICIES

RESULTS = run_rego_tests(POLICIES)


def payment(amount: str, status: str | None = "entered") -> dict:
    return {
        "action": {"kind": "acme.release_payment", "target": "acme-payables",
                   "robot": "robot:acme-payables", "requested_by": "alice",
                   "params": {"vendor": "Globex Corporation", "invoice_number": "INV-1",
                              "amount": amount, "currency": "EUR"}},
        "context": {"invoice_status": status} if status else {},
    }


@pytest.mark.parametrize("result", RESULTS, ids=[r.name for r in RESULTS])
def test_rego_unit_test(result) -> None:
    assert result.passed, result.detail


def test_rego_tests_exist() -> None:
    assert len(RESULTS) >= 10


def test_decision_carries_the_policy_revision(policy_dir: Path) -> None:
    engine = RegorusEngine(policy_dir)
    decision = engine.decide(payment("48500.00"))
    assert decision.outcome == "require_approval"
    assert decision.approver_group == "finance-approvers"
    assert decision.policy_revision == engine.revision and len(engine.revision) == 64


def test_limits_live_in_data_and_change_the_revision(policy_dir: Path) -> None:
    before = RegorusEngine(policy_dir)
    data = json.loads((policy_dir / "data.json").read_text())
    data["acme"]["limits"]["approval_limit"] = 100000
    (policy_dir / "data.json").write_text(json.dumps(data))
    after = RegorusEngine(policy_dir)
    assert before.decide(payment("48500.00")).outcome == "require_approval"
    assert after.decide(payment("48500.00")).outcome == "allow"
    assert after.revision != before.revision


def test_syntax_error_denies(policy_dir: Path) -> None:
    broken = "package proctor\nimport rego.v1\nallow contains x if {"
    (policy_dir / "broken.rego").write_text(broken)
    decision = RegorusEngine(policy_dir).decide(payment("10.00"))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith("policy_load_error: broken.rego")


def test_evaluation_error_denies(policy_dir: Path) -> None:
    decision = RegorusEngine(policy_dir).decide(payment("ten euros"))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith("policy_error:")


def test_undefined_decision_denies(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(
        "package proctor\nimport rego.v1\n"
        "decision := {\"outcome\": \"allow\"} if input.context.never\n")
    decision = RegorusEngine(tmp_path).decide(payment("10.00"))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith(("policy_undefined", "policy_error"))


def test_malformed_decision_denies(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(
        "package proctor\nimport rego.v1\ndecision := {\"outcome\": \"probably\"}\n")
    decision = RegorusEngine(tmp_path).decide(payment("10.00"))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith("policy_output_invalid")


def test_approval_without_group_denies(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(
        "package proctor\nimport rego.v1\n"
        "decision := {\"outcome\": \"require_approval\", \"quorum\": 1, \"expires_in_s\": 60}\n")
    decision = RegorusEngine(tmp_path).decide(payment("10.00"))
    assert decision.outcome == "deny" and "approver_group" in decision.reasons[0]


def test_slow_evaluation_denies(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(
        "package proctor\nimport rego.v1\n"
        "decision := {\"outcome\": \"allow\", \"reasons\": [\"slow\"]} if {\n"
        "  count([x | some x in numbers.range(1, 200000); x % 7 == 0]) > 0\n}\n")
    decision = RegorusEngine(tmp_path, timeout_ms=0.001).decide(payment("10.00"))
    assert decision.outcome == "deny"
    assert decision.reasons[0].startswith("policy_timeout")
    assert RegorusEngine(tmp_path, timeout_ms=60_000).decide(payment("10.00")).outcome == "allow"


def test_missing_policy_folder_denies(tmp_path: Path) -> None:
    decision = RegorusEngine(tmp_path / "nope").decide(payment("10.00"))
    assert decision.outcome == "deny" and "does not exist" in decision.reasons[0]


def test_cli_eval_and_test(tmp_path: Path) -> None:
    doc = tmp_path / "input.json"
    doc.write_text(json.dumps(payment("48500.00")))
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "policy", "eval", "--input",
                          str(doc), "--policy-dir", str(POLICIES)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["outcome"] == "require_approval"
    tests = subprocess.run([sys.executable, "-m", "proctor.cli", "policy", "test",
                            "--policy-dir", str(POLICIES)], capture_output=True, text=True)
    assert tests.returncode == 0 and f"{len(RESULTS)} passed, 0 failed" in tests.stdout


def test_cli_test_fails_on_a_failing_rego_test(policy_dir: Path) -> None:
    (policy_dir / "wrong_test.rego").write_text(
        "package wrong_test\nimport rego.v1\ntest_wrong if { 1 == 2 }\n")
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "policy", "test",
                          "--policy-dir", str(policy_dir)], capture_output=True, text=True)
    assert out.returncode == 1 and "FAIL wrong_test.rego::test_wrong" in out.stdout


def test_cli_eval_names_a_bad_input_file(tmp_path: Path) -> None:
    doc = tmp_path / "input.json"
    doc.write_text("{not json")
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "policy", "eval", "--input",
                          str(doc)], capture_output=True, text=True)
    assert out.returncode == 2 and "input.json" in out.stderr
