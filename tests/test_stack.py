"""`proctor up` / `proctor down` for real: a Prefect server (on SQLite, or on PostgreSQL beside
a PostgreSQL ledger), the review service and two process workers, then all of it stopped."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text

from demo.services import free_port
from governance.settings import Settings
from governance.stack import POOL, _alive
from tests.ledger_backends import POSTGRES, postgres_available
from tests.test_inputs_and_cli import cli

pytestmark = pytest.mark.prefect


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
    name = f"proctor_up_{uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS ledger_{name}"))
    base = POSTGRES.rsplit("/", 1)[0]
    env["PROCTOR_LEDGER_URL"] = f"{POSTGRES}?options=-csearch_path%3Dledger_{name}"
    prefect_db = base.replace("postgresql+psycopg", "postgresql+asyncpg") + f"/{name}"
    yield env, ["--prefect-database", prefect_db]
    with admin.connect() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS ledger_{name} CASCADE"))
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_up_starts_the_stack_and_down_stops_it(databases, tmp_path: Path) -> None:  # noqa: ANN001
    env, extra = databases
    state = tmp_path / "up"
    prefect_port, review_port = free_port(), free_port()
    args = ["--state-dir", str(state), "--workers", "2", "--prefect-port", str(prefect_port),
            "--review-port", str(review_port), *extra]
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
        again = cli(env, "up", *args)
        assert again.returncode != 0 and "already up" in again.stderr
    finally:
        stopped = cli(env, "down", "--state-dir", str(state))
    assert stopped.returncode == 0, stopped.stderr
    assert not any(_alive(pid) for pid in stack["pids"].values())
    assert not (state / "state.json").exists()
    assert "prefect-server" in stopped.stdout and "worker-2" in stopped.stdout
    assert os.environ.get("PREFECT_API_URL") != api  # nothing leaked into this process
