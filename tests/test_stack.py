"""`proctor up` / `proctor down` for real: a Prefect server (on SQLite, or on PostgreSQL beside
a PostgreSQL ledger), the review service and two process workers, then all of it stopped."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from demo.services import free_port
from proctor.settings import Settings
from proctor.stack import DEAD_RUNS, POOL, _alive, api_call
from tests.ledger_backends import postgres_available, postgres_databases
from tests.test_inputs_and_cli import cli

pytestmark = [pytest.mark.prefect]


def workers_online(api: str) -> set[str]:
    request = urllib.request.Request(f"{api}/work_pools/{POOL}/workers/filter", data=b"{}",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return {w["name"] for w in json.load(answer) if w.get("status") == "ONLINE"}
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # the first worker has not created the pool yet
            return set()
        raise


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def databases(request: pytest.FixtureRequest, settings: Settings):  # noqa: ANN201
    env = {"PROCTOR_LEDGER_URL": settings.ledger.url,
           "PROCTOR_LEDGER_SIGNING_KEY": str(settings.ledger.signing_key),
           "PROCTOR_LEDGER_REDACTION_KEY": str(settings.ledger.redaction_key),
           "PROCTOR_POLICY_DIR": str(settings.policy.dir),
           "PROCTOR_REVIEW_SECURE_COOKIES": "false"}
    if request.param == "sqlite":
        yield env, []
        return
    if (why := postgres_available()):
        pytest.skip(why)
    with postgres_databases() as (ledger, prefect_db):
        yield {**env, "PROCTOR_LEDGER_URL": ledger}, ["--prefect-database", prefect_db]


def test_up_starts_the_stack_and_down_stops_it(databases, tmp_path: Path) -> None:  # noqa: ANN001
    env, extra = databases
    state = tmp_path / "up"
    prefect_port, review_port = free_port(), free_port()
    args = ["--state-dir", str(state), "--workers", "2", "--prefect-port", str(prefect_port),
            "--review-port", str(review_port), "--deploy", *extra]
    started = cli(env, "up", *args)
    try:
        assert started.returncode == 0, started.stderr + started.stdout
        stack = json.loads((state / "state.json").read_text())
        api = stack["prefect_api"]
        assert f":{prefect_port}/api" in started.stdout and f":{review_port}" in started.stdout
        with urllib.request.urlopen(f"{stack['review_url']}/api/ready", timeout=5) as ready:
            assert json.load(ready)["status"] == "ready"
        deadline = time.monotonic() + 90
        while workers_online(api) != {"proctor-worker-1", "proctor-worker-2"}:
            assert time.monotonic() < deadline, "the two workers never came online"
            time.sleep(1)
        # The flows of prefect.yaml are deployed to the pool, and Prefect watches for runs
        # whose worker died.
        deployed = api_call(api, "POST", "/deployments/filter", {})
        assert {d["name"] for d in deployed} == {"invoice-entry", "document-inbox"}
        assert {d["work_pool_name"] for d in deployed} == {POOL}
        # Each names its flow's author for the runs' environment (separation of duties).
        assert {d["job_variables"]["env"]["PROCTOR_FLOW_AUTHOR"] for d in deployed} == {"alice"}
        [watch] = api_call(api, "POST", "/automations/filter",
                           {"automations": {"name": {"any_": [DEAD_RUNS]}}})
        assert watch["trigger"]["posture"] == "Proactive" and watch["enabled"]
        assert watch["actions"][0]["state"] == "CRASHED"
        again = cli(env, "up", *args)
        assert again.returncode != 0 and "already up" in again.stderr
    finally:
        stopped = cli(env, "down", "--state-dir", str(state))
    assert stopped.returncode == 0, stopped.stderr
    assert not any(_alive(pid) for pid in stack["pids"].values())
    assert not (state / "state.json").exists()
    assert "prefect-server" in stopped.stdout and "worker-2" in stopped.stdout
    assert os.environ.get("PREFECT_API_URL") != api  # nothing leaked into this process
