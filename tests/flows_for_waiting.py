"""Tiny flows for tests/test_waiting.py: they ask for one approval and wait for it in Prefect.

Both read their settings from the environment (`PROCTOR_*`, `PREFECT_API_URL`) and leave notes
as JSON lines in the folder `notes` names, so the test can follow them from outside:

- `waiting_flow` opens a request with `Approvals.open` and calls the waiter itself (run it as
  `python -m tests.flows_for_waiting NOTES`: a local run, not a deployment, so it pauses);
- `gated_flow` goes through the Gate with a real effect that notes the parameters it was given
  (deploy it: long waits suspend it; `python -m tests.flows_for_waiting NOTES gated` runs it
  locally, so it pauses). The requester is `PROCTOR_USER`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from governance.models import Action
from governance.waiting.prefect import PrefectPauseWaiter
from proctor.composition import build
from proctor.settings import Settings


def note(notes: str, **fields: object) -> None:
    with (Path(notes) / "notes.jsonl").open("a") as out:
        out.write(json.dumps({"pid": os.getpid(), "at": time.time(), **fields}) + "\n")


def payment(run_id: str, requested_by: str = "alice", flow_author: str | None = None) -> Action:
    return Action(
        kind="acme.release_payment", target="acme-payables", robot="robot:acme-payables",
        requested_by=requested_by, flow_run_id=run_id, flow_author=flow_author,
        idempotency_key="release:INV-7:48500.00",
        params={"vendor": "Globex Corporation", "invoice_number": "INV-7", "amount": "48500.00",
                "currency": "EUR"},
        context={"invoice_status": "entered"},
    )


@task(cache_policy=NO_CACHE)
def wait_for_approval(notes: str) -> str:
    settings = Settings()
    governance = build(settings, resume_runs=False)
    action = payment(str(flow_run.get_id()))
    decision = governance.policy.decide(action.policy_input())
    request = governance.approvals.open(action, decision)
    note(notes, event="waiting", run_id=action.flow_run_id, request_id=request.id,
         outcome=decision.outcome)
    waiter = PrefectPauseWaiter(governance.approvals, settings.approvals.poll_interval_s,
                                suspend_after_s=settings.approvals.suspend_after_s)
    waiter.wait(request)
    status = governance.approvals.get(request.id).status
    note(notes, event="woken", request_id=request.id, status=status)
    return status


@flow(name="approval-waiting")
def waiting_flow(notes: str) -> str:
    return wait_for_approval(notes)


@task(cache_policy=NO_CACHE)
def release_payment(notes: str) -> str:
    settings = Settings()
    governance = build(settings, resume_runs=False)
    action = payment(str(flow_run.get_id()), settings.user, settings.flow_author)

    def effect(a: Action) -> dict:
        note(notes, event="effect", action_id=a.id, params=a.params)
        return {"released": a.params["invoice_number"]}

    outcome = governance.gate.submit(action, effect)
    note(notes, event="outcome", status=outcome.status, approval_id=outcome.approval_id)
    return outcome.status


@flow(name="approval-gated")
def gated_flow(notes: str) -> str:
    note(notes, event="start", run_id=str(flow_run.get_id()))
    return release_payment(notes)


if __name__ == "__main__":
    print(gated_flow(sys.argv[1]) if sys.argv[2:] == ["gated"] else waiting_flow(sys.argv[1]))
