"""Priorities through Prefect's own work queues: `proctor up` gives the process pool the queues
`urgent`, `default` and `bulk`, in that order, and a worker takes due runs from a higher queue
first, whatever order they were submitted in."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo.fleet import Fleet, invoice_rows
from demo.services import acme_app, demo_env
from proctor.stack import POOL, QUEUES

pytestmark = [pytest.mark.chromium, pytest.mark.prefect]


def test_a_worker_takes_urgent_runs_first_and_bulk_last(tmp_path: Path,
                                                        policy_dir: Path) -> None:
    with acme_app(tmp_path / "acme.db") as acme:
        env = {**demo_env(tmp_path, "", acme), "PROCTOR_POLICY_DIR": str(policy_dir)}
        with Fleet.start(tmp_path, env, workers=0, worker_limit=1) as fleet:
            queues = fleet.call("POST", f"/work_pools/{POOL}/queues/filter", {})
            # Submitted lowest priority first, with no worker yet to take them.
            plan = [("bulk", "bulk-0"), ("bulk", "bulk-1"), ("default", "default-0"),
                    ("default", "default-1"), ("urgent", "urgent-0")]
            ids = [fleet.submit(name, invoice_rows(name.upper(), 1), queue=queue)
                   for queue, name in plan]
            fleet.add_worker(1)  # one run at a time
            states = fleet.wait(ids, {"Completed", "Failed", "Crashed"}, timeout_s=600)
            runs = fleet.call("POST", "/flow_runs/filter", {"flow_runs": {"id": {"any_": ids}}})

    assert {q["name"]: q["priority"] for q in queues} == {
        name: n for n, name in enumerate(QUEUES, start=1)}
    assert set(states.values()) == {"Completed"}
    started = [r["name"].split("-")[0] for r in sorted(runs, key=lambda r: r["start_time"])]
    assert started == ["urgent", "default", "default", "bulk", "bulk"]
