"""Crash survival: runs of the invoice flow, each with its Prefect worker killed (SIGKILL,
with its flow run and browser: the machine died) at a random moment, then resumed. `make test`
runs 8 (4 kills between submit and outcome, 4 at random), `make soak` 50.

Half the kills come at a uniformly random time after the run starts; the other half the moment
the app has saved one of the run's invoices, while its reply is still on the way (the app
answers saves 2.5 s late), so the ledger holds the submit and no outcome. Prefect's server
marks each orphaned run Crashed once its heartbeats stop (`proctor up` sets that up); each is
then retried as an operator would (`prefect flow-run retry`). Afterwards the app holds every
invoice exactly once, every transaction ended succeeded or reconciled, no run is left Running,
and the ledger verifies."""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from audit import LedgerReader, open_engine
from demo.acme import list_invoices
from demo.fleet import Fleet, invoice_rows
from demo.services import acme_app, demo_env
from governance.events import OUTCOME_KINDS
from proctor.stack import DEAD_AFTER_S
from tests.conftest import soak

pytestmark = [pytest.mark.chromium, pytest.mark.prefect]

LANES, ROWS = 2, 2
REPLY_MS = 2500  # wide enough that the watcher sees a save before its reply, even when busy
SEED = int(os.environ.get("PROCTOR_CRASH_SEED", "20261125"))
ENDED = {"succeeded", "already_done", "reconciled"}  # every invoice here is one policy allows


@pytest.mark.parametrize("total", [8, soak(50)])
def test_runs_killed_at_random_then_resumed(tmp_path: Path, policy_dir: Path,
                                            total: int) -> None:
    db = tmp_path / "acme.db"
    rng = random.Random(SEED)
    plan = [("random", rng.uniform(0, 8)) if n % 2 == 0 else ("after-submit", 0.0)
            for n in range(total)]
    with acme_app(db, save_reply_ms=REPLY_MS) as acme:
        env = {**demo_env(tmp_path, "", acme), "PROCTOR_POLICY_DIR": str(policy_dir)}
        ledger_url = env["PROCTOR_LEDGER_URL"]
        with Fleet.start(tmp_path, env, workers=0, worker_limit=1) as fleet:
            # prefect.yaml lets 4 invoice-entry runs go at once; a killed run holds its place
            # until the server finds it dead (90 s). Lifted here, or the lanes would mostly
            # wait for that.
            fleet.call("PATCH", f"/deployments/{fleet.deployment_id}",
                       {"concurrency_limit": total})
            kills: list[dict[str, Any]] = []
            lanes = [threading.Thread(target=_lane, args=(fleet, db, lane, plan, kills))
                     for lane in range(LANES)]
            for thread in lanes:
                thread.start()
            for thread in lanes:
                thread.join()
            assert len(kills) == total, [k for k in kills if "error" in k]
            runs = {k["run_id"]: k for k in kills}

            # Nobody is left to report these runs' ends: Prefect's server finds them.
            after_kills = fleet.wait(runs, {"Crashed", "Completed"},
                                     timeout_s=DEAD_AFTER_S + 120)
            crashed = [r for r, state in after_kills.items() if state == "Crashed"]
            for run_id in crashed:
                fleet.retry(run_id)
            for n in (1, 2):
                fleet.add_worker(100 + n)  # every queue of the pool
            resumed = fleet.wait(runs, {"Completed", "Failed", "Crashed"}, timeout_s=1200)
        reader = LedgerReader(open_engine(ledger_url))
        verified = reader.verify()
        outcomes = _last_outcomes(reader)

    # Most kills caught the run mid-flight (the rest came just after it ended).
    assert len(crashed) >= total * 0.8, Counter(after_kills.values())
    assert Counter(resumed.values()) == {"Completed": total}

    # The app holds every invoice exactly once, each paid once.
    invoices = list_invoices(db)
    expected = sorted(f"CRASH{n:02d}-{i}" for n in range(total) for i in range(1, ROWS + 1))
    assert sorted(i["invoice_number"] for i in invoices) == expected
    assert {i["status"] for i in invoices} == {"released"}

    # Every transaction ended, in the results workbooks and in the ledger.
    statuses: Counter[str] = Counter()
    for kill in kills:
        rows = _results(fleet.workbook(kill["name"]).with_suffix(".results.xlsx"))
        statuses.update(rows.values())
        assert set(rows.values()) <= ENDED, (kill, rows)
        if kill["moment"] == "after-submit" and kill["run_id"] in crashed:
            # The app had saved it and the ledger did not know: looked up, not entered again.
            assert rows[kill["caught"]] == "reconciled", (kill, rows)
    assert statuses["reconciled"] >= total // 2 * 0.8, statuses
    assert set(outcomes.values()) <= {"action.succeeded", "action.reconciled"}, Counter(
        outcomes.values())
    assert len(outcomes) >= total * ROWS * 2  # create and release of every invoice
    assert verified.ok, verified.describe()


def _lane(fleet: Fleet, db: Path, lane: int, plan: list[tuple[str, float]],
          kills: list[dict[str, Any]]) -> None:
    """Runs n = lane, lane + LANES, ...: each on a fresh worker of its own queue, killed at its
    moment."""
    queue = f"crash-lane-{lane}"
    for n in range(lane, len(plan), LANES):
        moment, delay = plan[n]
        name = f"crash-{n:02d}"
        numbers = [row[0] for row in invoice_rows(f"CRASH{n:02d}", ROWS)]
        try:
            fleet.add_worker(n + 1, queue)
            run_id = fleet.submit(name, invoice_rows(f"CRASH{n:02d}", ROWS), queue=queue)
            caught = _moment(fleet, db, run_id, moment, delay, numbers)
            state = fleet.states([run_id])[run_id]
            killed = fleet.kill_worker(n + 1)
        except Exception as exc:  # reported by the main thread's count
            kills.append({"name": name, "error": repr(exc)})
            return
        kills.append({"name": name, "run_id": run_id, "moment": moment, "delay": delay,
                      "caught": caught, "state": state, "killed": killed})


def _moment(fleet: Fleet, db: Path, run_id: str, moment: str, delay: float,
            numbers: list[str], timeout_s: float = 240) -> str | None:
    """Wait for the moment to kill: `delay` seconds into Running, or the first time the app
    holds an invoice of this run that it has not released (the reply to its save is pending).
    Returns that invoice's number."""
    deadline = time.monotonic() + timeout_s
    while fleet.states([run_id])[run_id] not in ("Running", "Completed", "Failed", "Crashed"):
        assert time.monotonic() < deadline, f"{run_id} never started\n{fleet.worker_logs()}"
        time.sleep(0.2)
    if moment == "random":
        time.sleep(delay)
        return None
    while time.monotonic() < deadline:
        saved = {i["invoice_number"]: i["status"] for i in list_invoices(db)}
        for number in numbers:
            if saved.get(number) == "entered":
                return number
        if fleet.states([run_id])[run_id] not in ("Running",):
            return None
        time.sleep(0.05)
    raise AssertionError(f"{run_id}: no invoice saved within {timeout_s} s")


def _results(path: Path) -> dict[str, str]:
    """invoice number -> status, from a results workbook."""
    sheet = load_workbook(path, read_only=True)["Results"]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    number, status = header.index("invoice_number"), header.index("status")
    return {str(r[number]): str(r[status]) for r in rows[1:]}


def _last_outcomes(reader: LedgerReader) -> dict[str, str]:
    """Each business transaction's (idempotency key's) last recorded outcome kind."""
    entries = [e for kind in OUTCOME_KINDS for e in reader.query(kind=kind)
               if e.idempotency_key]
    return {e.idempotency_key: e.kind for e in sorted(entries, key=lambda e: e.seq)}
