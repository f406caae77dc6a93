"""Policy over HTTP: the OPA adapter (opa-python-client) against an endpoint speaking OPA's
Data API. This machine has no OPA binary, so the endpoint is `proctor policy serve` (regorus
behind OPA's protocol); with a real OPA server at OPA_URL, the same contract runs against it."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from governance.models import Action
from governance.policy.opa import OpaEngine
from governance.policy.regorus import RegorusEngine
from governance.policy.server import create_policy_app
from governance.policy.settings import PolicySettings
from governance.review.app import running
from proctor.composition import Governance, build
from proctor.settings import Settings

INPUTS = [
    Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
           requested_by="alice", params={"vendor": "Globex Corporation", "invoice_number": "1",
                                         "amount": amount, "currency": "EUR"},
           context={"invoice_status": "entered"}).policy_input()
    for amount in ("100.00", "48500.00", "999999.00")
] + [{"action": {"kind": "unknown.thing"}, "context": {}}]


@pytest.fixture(params=["proctor-policy-serve", "opa"])
def opa_url(request: pytest.FixtureRequest, policy_dir: Path):  # noqa: ANN201
    if request.param == "opa":
        url = os.environ.get("OPA_URL")
        if not url:
            pytest.skip("a real OPA server runs this contract too: set OPA_URL (no OPA binary "
                        "can be installed on this machine)")
        yield url
        return
    with running(create_policy_app(RegorusEngine(policy_dir))) as url:
        yield url


def test_decisions_over_http_equal_those_in_process(opa_url: str, policy_dir: Path) -> None:
    remote, local = OpaEngine(opa_url, timeout_ms=2000), RegorusEngine(policy_dir)
    for policy_input in INPUTS:
        there, here = remote.decide(policy_input), local.decide(policy_input)
        assert (there.outcome, there.reasons, there.approver_group, there.quorum) == (
            here.outcome, here.reasons, here.approver_group, here.quorum)
        assert there.decision_id
    assert remote.revision == local.revision  # the endpoint's provenance


def test_the_gate_records_the_decision_id(settings: Settings, policy_dir: Path) -> None:
    with running(create_policy_app(RegorusEngine(policy_dir))) as url:
        governance: Governance = build(settings.model_copy(update={"policy": PolicySettings(
            dir=policy_dir, opa_url=url, timeout_ms=2000)}), resume_runs=False)
        action = Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
                        requested_by="alice", context={"invoice_status": "entered"},
                        params={"vendor": "Globex Corporation", "invoice_number": "1",
                                "amount": "10.00", "currency": "EUR"})
        assert governance.gate.submit(action, lambda a: {}).status == "succeeded"
    (decided,) = governance.reader.query(kind="policy.decided")
    assert len(decided.data()["decision_id"]) == 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_answer_is_a_deny(tmp_path: Path) -> None:
    down = OpaEngine(f"http://127.0.0.1:{free_port()}").decide(INPUTS[0])
    assert down.outcome == "deny" and down.reasons[0].startswith("policy_error: OPA at")
    (tmp_path / "empty.rego").write_text("package proctor\n")  # without the engine's base,
    with running(create_policy_app(RegorusEngine(tmp_path, base=None))) as url:  # undefined
        undefined = OpaEngine(url).decide(INPUTS[0])
    assert undefined.outcome == "deny" and undefined.reasons[0].startswith(
        ("policy_undefined", "policy_error"))
    (tmp_path / "broken.rego").write_text("package proctor\nnot rego at all\n")
    with running(create_policy_app(RegorusEngine(tmp_path))) as url:
        broken = OpaEngine(url).decide(INPUTS[0])
    assert broken.outcome == "deny" and "500" in broken.reasons[0]
    with pytest.raises(ValueError, match="http://host:8181"):
        OpaEngine("opa.internal")
