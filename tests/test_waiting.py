"""Flows wait for people in Prefect, all real: a Prefect server, its process worker, SQLite.

A short wait pauses the run (its process stays); a long one suspends a deployed run (its process
exits, the worker is free) and Prefect runs it again from the top once resumed. Either way the
wake-up only names the request: the approval store decides.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from demo.services import prefect_env
from governance.approvals.settings import ApprovalSettings
from governance.errors import SelfApprovalError
from governance.waiting.prefect import resume_run_when_paused, takes_input
from proctor.composition import Governance, build
from proctor.settings import Settings
from tests.conftest import PASSWORD

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def approver(settings: Settings) -> Governance:
    """The approvers' side: their votes resume the run waiting on the request."""
    approving = settings.model_copy(update={"approvals": ApprovalSettings(
        poll_interval_s=1, resume_patience_s=30)})
    governance = build(approving, resume_runs=True)
    governance.identity.add_user("bob", PASSWORD, roles={"approver"},
                                 groups={"finance-approvers"})
    return governance


def flow_env(settings: Settings, api: str, home: Path, **extra: str) -> dict[str, str]:
    """The environment of a flow process: the same ledger and policies as the test's."""
    ledger = settings.ledger
    return {**prefect_env(home, api),
            "PYTHONPATH": str(ROOT),
            "PROCTOR_USER": "alice",
            "PROCTOR_LEDGER_URL": ledger.url,
            "PROCTOR_LEDGER_SIGNING_KEY": str(ledger.signing_key),
            "PROCTOR_LEDGER_REDACTION_KEY": str(ledger.redaction_key),
            "PROCTOR_LEDGER_CHECKPOINT_DIR": str(ledger.checkpoint_dir),
            "PROCTOR_POLICY_DIR": str(settings.policy.dir),
            "PROCTOR_APPROVALS_POLL_INTERVAL_S": "1",
            **extra}


def local_env(settings: Settings, api: str, folder: Path) -> dict[str, str]:
    """A local run (no deployment) that would be suspended if it could: it must pause."""
    return flow_env(settings, api, folder / "home", PROCTOR_APPROVALS_SUSPEND_AFTER_S="1")


def notes(folder: Path) -> list[dict[str, Any]]:
    path = folder / "notes.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def eventually(what: str, check: Callable[[], Any], timeout_s: float = 60,
               process: subprocess.Popen | None = None) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := check()):
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited ({process.returncode}) before {what}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def state_of(run_id: str):  # noqa: ANN201 (a Prefect State)
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id)).state


def in_state(run_id: str, name: str, *, key: str | None = None) -> Callable[[], Any]:
    def check() -> Any:
        state = state_of(run_id)
        if state is None or state.name != name:
            return None
        if key is not None and state.state_details.pause_key != key:
            return None
        if state.is_paused():  # and resumable: Prefect stores the input schema just after
            from prefect.client.orchestration import get_client

            with get_client(sync_client=True) as client:
                if not takes_input(client, UUID(run_id), state):
                    return None
        return state
    return check


def waiting_run(folder: Path, env: dict[str, str]) -> tuple[subprocess.Popen, dict[str, Any]]:
    """`waiting_flow` run locally (no deployment) in its own process, once it waits."""
    process = subprocess.Popen([sys.executable, "-m", "tests.flows_for_waiting", str(folder)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    waiting = eventually("the flow to open its request",
                         lambda: next((n for n in notes(folder) if n["event"] == "waiting"),
                                      None), process=process)
    return process, waiting


def finish(process: subprocess.Popen, timeout_s: float = 60) -> str:
    output, _ = process.communicate(timeout=timeout_s)
    assert process.returncode == 0, output
    return output


def test_short_wait_pauses_and_the_store_ends_it(
        settings: Settings, approver: Governance, prefect_api: str, tmp_path: Path) -> None:
    process, waiting = waiting_run(tmp_path, local_env(settings, prefect_api, tmp_path))
    run_id, request_id = waiting["run_id"], waiting["request_id"]
    assert waiting["outcome"] == "require_approval"
    try:
        paused = eventually("Paused", in_state(run_id, "Paused"), process=process)
        # Paused, not suspended (a local run has no deployment), waiting for typed input.
        assert not paused.state_details.pause_reschedule
        assert paused.state_details.pause_key == f"approval-{request_id}-1"
        assert paused.state_details.run_input_keyset
        time.sleep(2)
        assert state_of(run_id).name == "Paused" and process.poll() is None
        assert approver.approvals.get(request_id).status == "pending"

        approved = approver.approvals.approve(request_id, "bob", reauthenticated=True)
        output = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert "approved" in output
    assert state_of(run_id).is_completed()
    woken = [n for n in notes(tmp_path) if n["event"] == "woken"]
    assert [n["status"] for n in woken] == ["approved"]
    # It woke after the store said so, and from the one pause: no wake-up without a decision.
    assert approved.resolved_at is not None
    resolved = approved.resolved_at.replace(tzinfo=approved.resolved_at.tzinfo or UTC)
    assert woken[0]["at"] >= resolved.timestamp() - 1
    assert approver.approvals.get(request_id).status == "approved"


def test_resume_without_a_decision_pauses_again(
        settings: Settings, approver: Governance, prefect_api: str, tmp_path: Path) -> None:
    from prefect.flow_runs import resume_flow_run

    process, waiting = waiting_run(tmp_path, local_env(settings, prefect_api, tmp_path))
    run_id, request_id = waiting["run_id"], waiting["request_id"]
    try:
        eventually("Paused", in_state(run_id, "Paused"), process=process)

        # Prefect's UI resume without the input, or with an empty one: Prefect refuses it.
        for empty in (None, {}):
            with pytest.raises(RuntimeError, match="request_id"):
                resume_flow_run(UUID(run_id), run_input=empty)
            assert state_of(run_id).state_details.pause_key == f"approval-{request_id}-1"

        # A wake-up that names the request, but no one has decided: the run pauses again.
        resume_flow_run(UUID(run_id), run_input={"request_id": request_id})
        eventually("a second pause",
                   in_state(run_id, "Paused", key=f"approval-{request_id}-2"), process=process)
        # One naming another request changes nothing either.
        resume_flow_run(UUID(run_id), run_input={"request_id": "someone-elses"})
        eventually("a third pause",
                   in_state(run_id, "Paused", key=f"approval-{request_id}-3"), process=process)
        assert approver.approvals.get(request_id).status == "pending"
        assert not [n for n in notes(tmp_path) if n["event"] == "woken"]

        approver.approvals.approve(request_id, "bob", reauthenticated=True)
        output = finish(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert "approved" in output and state_of(run_id).is_completed()
    assert [n["status"] for n in notes(tmp_path) if n["event"] == "woken"] == ["approved"]


POOL = "waiting-test"


@pytest.fixture(scope="module")
def deployment(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`gated_flow` deployed to a process work pool (its workers start in each test)."""
    from prefect import flow as prefect_flow

    env = prefect_env(tmp_path_factory.mktemp("deploy"), prefect_api)
    subprocess.run([sys.executable, "-m", "prefect", "work-pool", "create", POOL, "--type",
                    "process", "--overwrite"], env=env, cwd=ROOT, check=True,
                   capture_output=True)
    return str(prefect_flow.from_source(
        source=str(ROOT), entrypoint="tests/flows_for_waiting.py:gated_flow",
    ).deploy(name="gated", work_pool_name=POOL, print_next_steps=False,
             # Every deployment names its flow's author (a deployed run without one fails).
             job_variables={"env": {"PROCTOR_FLOW_AUTHOR": "dave"}}))


class Worker:
    """`prefect worker start --run-once`: takes the runs due now and exits once they end."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL,
                 "--run-once", "--limit", "1"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.log = log

    def exited(self, timeout_s: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker still running; log:\n{self.log.read_text()}") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def suspended_run(deployment: str, settings: Settings, api: str,
                  folder: Path) -> tuple[str, dict[str, str]]:
    """A run of the deployment that waited long enough to be suspended, its worker gone."""
    from prefect.deployments import run_deployment

    env = flow_env(settings, api, folder / "home", PROCTOR_APPROVALS_SUSPEND_AFTER_S="1")
    run_id = str(run_deployment(UUID(deployment), parameters={"notes": str(folder)},
                                timeout=0).id)
    worker = Worker(env, folder / "worker-1.log")
    try:
        suspended = eventually("Suspended", in_state(run_id, "Suspended"), timeout_s=90)
        assert suspended.state_details.pause_reschedule  # Prefect will run it again
        assert suspended.state_details.run_input_keyset  # for an ApprovalWakeUp
        # The flow's process has exited, and the one-shot worker, done with it, too.
        assert worker.exited() == 0
    finally:
        worker.stop()
    [started] = [n for n in notes(folder) if n["event"] == "start"]
    assert not _alive(started["pid"])
    assert not [n for n in notes(folder) if n["event"] in ("effect", "outcome")]
    return run_id, env


def rerun(run_id: str, env: dict[str, str], folder: Path,
          until: Callable[[], Any] | None = None) -> None:
    """Once resumed, the run is rescheduled; a fresh worker runs it from the top, to the end
    (or until `until`)."""
    eventually("rescheduled", lambda: state_of(run_id).is_scheduled(), timeout_s=30)
    starts = len([n for n in notes(folder) if n["event"] == "start"])
    worker = Worker(env, folder / f"worker-{starts + 1}.log")
    try:
        eventually("the rerun to stop", until or (lambda: state_of(run_id).is_final()),
                   timeout_s=90)
        assert worker.exited() == 0
    finally:
        worker.stop()
    started = [n["pid"] for n in notes(folder) if n["event"] == "start"]
    assert len(started) == starts + 1 and len(set(started)) == len(started)


def task_runs(run_id: str) -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
            id=FlowRunFilterId(any_=[UUID(run_id)])))
    return sorted((r.state.type.value, r.state.name) for r in runs if r.state)


def test_long_wait_suspends_a_deployed_run_and_frees_its_worker(
        settings: Settings, approver: Governance, prefect_api: str, deployment: str,
        tmp_path: Path) -> None:
    run_id, env = suspended_run(deployment, settings, prefect_api, tmp_path)
    [request] = approver.approvals.list()
    assert request.status == "pending" and request.flow_run_id == run_id
    # The deployment named dave, a finance approver, as the flow's author: he may not vote.
    assert request.flow_author == "dave"
    with pytest.raises(SelfApprovalError, match="wrote its flow"):
        approver.approvals.approve(request.id, "dave", reauthenticated=True)

    approver.approvals.approve(request.id, "bob", reauthenticated=True)  # resumes the run
    rerun(run_id, env, tmp_path)
    assert state_of(run_id).is_completed()

    events = [n["event"] for n in notes(tmp_path)]
    assert events == ["start", "start", "effect", "outcome"]
    assert [n["status"] for n in notes(tmp_path) if n["event"] == "outcome"] == ["succeeded"]
    # The rerun proposed the same action, got the same request back, and used it.
    [used] = approver.approvals.list()
    assert used.id == request.id and used.used_at is not None
    # The task that waited is marked, not left Running; the rerun's task completed.
    assert task_runs(run_id) == [("CANCELLED", "Suspended"), ("COMPLETED", "Completed")]
    assert resume_run_when_paused(used, 0) is False  # completed: nothing to wake


def test_rejecting_a_suspended_run_is_final(
        settings: Settings, approver: Governance, prefect_api: str, deployment: str,
        tmp_path: Path) -> None:
    from prefect.flow_runs import resume_flow_run

    run_id, env = suspended_run(deployment, settings, prefect_api, tmp_path)
    [request] = approver.approvals.list()

    # Resumed from Prefect with no decision recorded: the run starts again, finds the request
    # still pending, and suspends again.
    resume_flow_run(UUID(run_id), run_input={"request_id": request.id})
    rerun(run_id, env, tmp_path,
          until=in_state(run_id, "Suspended", key=f"approval-{request.id}-2"))
    assert [r.status for r in approver.approvals.list()] == ["pending"]

    approver.approvals.reject(request.id, "bob", "not this one", reauthenticated=True)
    rerun(run_id, env, tmp_path)
    assert state_of(run_id).is_completed()

    # The rerun found the rejection, not a fresh request to ask again; nothing was done.
    assert [n["event"] for n in notes(tmp_path)] == ["start", "start", "start", "outcome"]
    assert [n["status"] for n in notes(tmp_path) if n["event"] == "outcome"] == ["rejected"]
    assert [r.id for r in approver.approvals.list()] == [request.id]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
