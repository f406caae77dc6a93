"""Operators' view: Prometheus metrics read from the ledger and the approval store, and the
health and readiness endpoints, over real HTTP."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from governance.models import Action
from governance.review.app import serving
from proctor.composition import Governance


def samples(url: str) -> dict[tuple[str, tuple], float]:
    text = httpx.get(f"{url}/metrics").text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def payment(amount: str) -> Action:
    return Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
                  requested_by="alice", idempotency_key=f"pay:{amount}",
                  params={"vendor": "Globex Corporation", "invoice_number": f"INV-{amount}",
                          "amount": amount, "currency": "EUR"},
                  context={"invoice_status": "entered"})


def test_metrics_count_what_every_worker_recorded(governance: Governance) -> None:
    gate = governance.gate
    assert gate.submit(payment("100.00"), lambda a: {"ok": True}).status == "succeeded"
    assert gate.submit(payment("999999.00"), lambda a: {}).status == "denied"
    decision = governance.policy.decide(payment("48500.00").policy_input())
    governance.approvals.open(payment("48500.00"), decision)
    with serving(governance, sweep=False) as url:
        first = samples(url)
        assert first[("proctor_decisions_total", (("outcome", "allow"),))] == 1
        assert first[("proctor_decisions_total", (("outcome", "deny"),))] == 1
        assert first[("proctor_actions_total", (("action_kind", "acme.release_payment"),
                                                ("status", "succeeded")))] == 1
        assert first[("proctor_robot_step_seconds_count",
                      (("action_kind", "acme.release_payment"),))] == 1
        assert first[("proctor_approvals_pending", (("group", "finance-approvers"),))] == 1
        assert first[("proctor_approvals_oldest_pending_seconds",
                      (("group", "finance-approvers"),))] >= 0
        # Another worker appends; the next scrape adds only what is new.
        # This one is read back and differs from what was allowed: checked apart, counted once.
        gate.submit(payment("200.00"), lambda a: {"ok": True},
                    verify=lambda a, result: {"amount": "2000.00"})
        second = samples(url)
        assert second[("proctor_decisions_total", (("outcome", "allow"),))] == 2
        assert second[("proctor_actions_total", (("action_kind", "acme.release_payment"),
                                                 ("status", "succeeded")))] == 2
        assert second[("proctor_effects_checked_total", (("action_kind", "acme.release_payment"),
                                                         ("result", "diverged")))] == 1
        assert second[("proctor_ledger_last_seq", ())] == governance.reader.count()


def test_health_and_readiness(governance: Governance, tmp_path) -> None:  # noqa: ANN001
    with serving(governance, sweep=False) as url:
        assert httpx.get(f"{url}/api/health").json() == {"status": "ok"}
        ready = httpx.get(f"{url}/api/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {
            "database": "ok", "policy": "ok"}
    (governance.settings.policy.dir / "broken.rego").write_text("package proctor\nnot rego\n")
    from proctor.composition import build

    broken = build(governance.settings, resume_runs=False)
    with serving(broken, sweep=False) as url:
        answer = httpx.get(f"{url}/api/ready")
    assert answer.status_code == 503
    assert answer.json()["checks"]["policy"].startswith("policy_load_error")
