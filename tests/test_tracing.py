"""OpenTelemetry: Prefect's flow and task spans, then the Gate's action, policy and robot
spans beneath them, and the trace id in the ledger (real SDK, spans kept in memory)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from governance.models import Action
from proctor.composition import Governance

EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def provider() -> Iterator[None]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    trace.set_tracer_provider(provider)  # once per process; nothing else in the suite sets one
    yield


@pytest.fixture(autouse=True)
def clean() -> None:
    EXPORTER.clear()


def payment(key: str) -> Action:
    return Action(kind="acme.release_payment", target="acme-payables", robot="robot:acme",
                  requested_by="alice", idempotency_key=key,
                  params={"vendor": "Globex Corporation", "invoice_number": key,
                          "amount": "10.00", "currency": "EUR"},
                  context={"invoice_status": "entered"})


def test_the_gate_traces_each_step_and_the_ledger_names_the_trace(
        governance: Governance) -> None:
    outcome = governance.gate.submit(payment("t-1"), lambda a: {"ok": True})
    assert outcome.status == "succeeded"
    spans = {s.name: s for s in EXPORTER.get_finished_spans()}
    action = spans["proctor.action"]
    for child in ("proctor.policy.decide", "proctor.robot.perform"):
        assert spans[child].parent.span_id == action.context.span_id
    assert spans["proctor.policy.decide"].attributes["proctor.decision"] == "allow"
    assert action.attributes["proctor.outcome"] == "succeeded"
    trace_id = trace.format_trace_id(action.context.trace_id)
    entries = governance.reader.query(action_id=outcome.action_id)
    assert {e.kind for e in entries} >= {"action.proposed", "policy.decided", "action.started",
                                          "action.succeeded"}
    assert {e.data().get("trace_id") for e in entries} == {trace_id}


@pytest.mark.prefect
def test_actions_nest_under_prefect_task_and_flow_runs(governance: Governance,
                                                       prefect_api: str) -> None:
    from prefect import flow, task

    @task
    def enter(key: str) -> str:
        return governance.gate.submit(payment(key), lambda a: {}).status

    @flow(name="traced")
    def traced() -> str:
        return enter("t-2")

    assert traced() == "succeeded"
    spans = EXPORTER.get_finished_spans()
    by_id = {s.context.span_id: s for s in spans}
    action = next(s for s in spans if s.name == "proctor.action")
    chain = []
    node = action
    while node.parent is not None and node.parent.span_id in by_id:
        node = by_id[node.parent.span_id]
        chain.append(node.attributes.get("prefect.run.type"))
    assert chain[:2] == ["task", "flow"]
