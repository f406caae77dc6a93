"""Governance benchmarks, side by side in one run:

- policy decisions per second through `RegorusEngine` beside raw regorus on the same input, and
  through the HTTP policy endpoint (OPA's Data API, `proctor policy serve`) with `OpaEngine`;
- the Gate's own cost per action (policy + 4 durable ledger appends) with a no-op effect;
- the same robot step (enter an invoice in Acme Payables with real Chromium) ungoverned and
  governed, alternating, and the ratio between them;
- end-to-end transactions per minute through Prefect workers (1, 2 and 4), and their ratios.

    python -m bench.governance [--decisions 2000] [--steps 20] [--workers 1,2,4] [--runs 8]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from audit.settings import LedgerSettings
from bench.common import POSTGRES, best_of, report
from demo.acme import AcmeConfig
from demo.acme.server import serve
from governance.models import Action
from governance.policy.opa import OpaEngine
from governance.policy.package import PolicyPackage
from governance.policy.regorus import RegorusEngine, load_engine
from governance.policy.server import create_policy_app
from governance.review.app import running
from proctor.composition import build
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from robots.browser import BrowserPool, launch
from robots.settings import BrowserSettings

INPUT = {"action": {"kind": "acme.release_payment", "target": "acme-payables",
                    "robot": "robot:acme-payables", "requested_by": "alice",
                    "params": {"vendor": "Globex Corporation", "invoice_number": "INV-1",
                               "amount": "1250.00", "currency": "EUR"}},
         "context": {"invoice_status": "entered"}}


def decisions(settings: Settings, n: int) -> list[dict[str, Any]]:
    engine = build(settings, resume_runs=False).policy
    raw = load_engine(PolicyPackage.load(settings.policy.dir))  # the engine's base + the folder

    def raw_eval() -> None:
        for _ in range(n):
            raw.set_input_json(json.dumps(INPUT))
            json.loads(raw.eval_rule_as_json("data.proctor.decision"))

    proctor_s = best_of(3, lambda: [engine.decide(INPUT) for _ in range(n)])
    raw_s = best_of(3, raw_eval)
    with running(create_policy_app(RegorusEngine(settings.policy.dir))) as url:
        remote = OpaEngine(url, timeout_ms=5000)
        assert remote.decide(INPUT).outcome == engine.decide(INPUT).outcome
        http_n = max(1, n // 4)
        http_s = best_of(3, lambda: [remote.decide(INPUT) for _ in range(http_n)])
    return [{"measure": "policy decisions/s (RegorusEngine)", "value": n / proctor_s},
            {"measure": "policy decisions/s (raw regorus)", "value": n / raw_s},
            {"measure": "RegorusEngine / raw", "value": raw_s / proctor_s},
            {"measure": "policy decisions/s over HTTP (OPA Data API, one client)",
             "value": http_n / http_s},
            {"measure": "HTTP / in process", "value": (http_n / http_s) / (n / proctor_s)}]


def gate_cost(settings: Settings, n: int) -> dict[str, Any]:
    gate = build(settings, resume_runs=False).gate

    def actions() -> None:
        for _ in range(n):
            action = Action(kind="acme.release_payment", target="acme-payables",
                            robot="robot:bench", requested_by="alice",
                            params=INPUT["action"]["params"], context=INPUT["context"])
            gate.submit(action, lambda a: {})

    return {"measure": "Gate per action, no-op effect (ms)", "value": best_of(1, actions) / n
            * 1000}


def robot_steps(settings: Settings, steps: int, tmp: Path) -> list[dict[str, Any]]:
    governance = build(settings, resume_runs=False)
    with serve(AcmeConfig(db_path=tmp / "acme.db")) as url, launch(BrowserSettings()) as browser:
        robot = AcmePayablesRobot(governance.gate, browser, AcmeSettings(url=url),
                                  requested_by="alice", flow_run_id=None)
        with BrowserPool.over(browser, timeout_ms=10_000).attempt("bench") as attempt:
            robot.session.log_in(attempt)
            ungoverned, governed = [], []
            for i in range(steps):
                action = robot._action("acme.create_invoice", {
                    "vendor": "Globex Corporation", "invoice_number": f"B-{i}", "amount": "10.00",
                    "currency": "EUR", "issue_date": "2026-11-01", "due_date": "2026-12-01",
                    "description": "bench"}, key=f"bench:{i}",
                    context={"duplicate_invoice": False, "vendor_exists": True})
                started = time.perf_counter()
                robot._do_create_invoice(attempt, action.model_copy(update={
                    "params": {**action.params, "invoice_number": f"U-{i}"}}))
                ungoverned.append(time.perf_counter() - started)
                started = time.perf_counter()
                outcome = governance.gate.submit(
                    action, lambda a: robot._do_create_invoice(attempt, a))
                governed.append(time.perf_counter() - started)
                assert outcome.status == "succeeded", outcome
    free, gated = statistics.median(ungoverned), statistics.median(governed)
    return [{"measure": "robot step ungoverned, median (ms)", "value": free * 1000},
            {"measure": "robot step governed, median (ms)", "value": gated * 1000},
            {"measure": "governance cost per step (governed/ungoverned - 1)",
             "value": gated / free - 1}]


def throughput(worker_counts: list[int], runs: int, rows: int) -> list[dict[str, Any]]:
    """End-to-end transactions per minute: `runs` invoice-entry flow runs of `rows` invoices
    each, through `proctor up` with N process workers (one run at a time each), Prefect's
    database and the ledger on PostgreSQL (SQLite when none answers), timed from the first
    submit to the last run completed."""
    from demo.fleet import Fleet, invoice_rows, postgres_databases
    from demo.services import acme_app, demo_env

    results = []
    for workers in worker_counts:
        with tempfile.TemporaryDirectory() as tmp_name, contextlib.ExitStack() as stack:
            tmp = Path(tmp_name)
            acme = stack.enter_context(acme_app(tmp / "acme.db"))
            env = demo_env(tmp, "", acme)
            try:
                ledger, prefect_db = stack.enter_context(postgres_databases(POSTGRES))
                env["PROCTOR_LEDGER_URL"] = ledger
            except Exception:  # noqa: BLE001 (no PostgreSQL answers: SQLite for both)
                prefect_db = None
            fleet = stack.enter_context(Fleet.start(tmp, env, workers=workers, worker_limit=1,
                                                    prefect_database=prefect_db))
            started = time.perf_counter()
            ids = [fleet.submit(f"bench-{n}", invoice_rows(f"B{workers}-{n}", rows))
                   for n in range(runs)]
            states = fleet.wait(ids, {"Completed", "Failed", "Crashed"}, timeout_s=3600)
            elapsed = time.perf_counter() - started
            if set(states.values()) != {"Completed"}:
                raise RuntimeError(f"runs did not all complete: {states}")
        results.append({"workers": workers, "elapsed_s": elapsed,
                        "tx_per_min": runs * rows / elapsed * 60})
    base = results[0]["tx_per_min"]
    return [{"measure": f"end-to-end transactions/min, {r['workers']} worker"
                        f"{'s' if r['workers'] > 1 else ''} ({runs} runs x {rows} invoices in "
                        f"{r['elapsed_s']:.0f} s)",
             "value": r["tx_per_min"]} for r in results] + [
            {"measure": f"transactions/min, {r['workers']} workers / {results[0]['workers']}",
             "value": r["tx_per_min"] / base} for r in results[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.governance", description=__doc__)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--workers", default="1,2,4",
                        help="worker counts for end-to-end throughput ('' to skip it)")
    parser.add_argument("--runs", type=int, default=8, help="flow runs per worker count")
    parser.add_argument("--rows", type=int, default=3, help="invoices per flow run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        settings = Settings(user="alice", ledger=LedgerSettings(
            url=f"sqlite:///{tmp / 'p.db'}", signing_key=tmp / "k.pem",
            redaction_key=tmp / "r.key", checkpoint_dir=tmp / "cps"))
        rows = decisions(settings, args.decisions)
        rows.append(gate_cost(settings, 200))
        rows += robot_steps(settings, args.steps, tmp)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if counts:
        rows += throughput(counts, args.runs, args.rows)
    report("governance", rows, [
        f"{args.decisions} decisions, best of 3; the engine's answer travels through its own "
        "thread (regorus engines are bound to one thread)",
        "Gate cost: 200 actions, each a policy decision and 3 durable SQLite commits (proposal "
        "with decision, started, succeeded)",
        f"robot steps: {args.steps} invoices entered ungoverned and {args.steps} governed, "
        "alternating in one browser page, Acme Payables on loopback",
        "throughput: the invoice-entry deployment through `proctor up` (Prefect server, process "
        "workers running one flow run at a time, each run its own Python process and "
        "Chromium), Acme Payables on loopback, no app limit; every process shares this "
        f"machine's {os.cpu_count()} cores",
    ])


if __name__ == "__main__":
    main()
