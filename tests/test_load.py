"""Load on the scale-out setup, bounded and on loopback: invoice-entry flow runs (20 in `make
test`, 100 in `make soak`) through `proctor up` with 4 Prefect workers, Prefect's database and
the ledger both on PostgreSQL, against the Acme app with a limit of 2 sessions at once. Every
run completes, no invoice is entered twice, the app never sees more than 2 sessions at once,
and the ledger verifies."""

from __future__ import annotations

import json
import re
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from audit import LedgerReader, open_engine
from demo.acme import list_invoices
from demo.fleet import Fleet, invoice_rows
from demo.services import acme_app, demo_env
from tests.conftest import soak
from tests.ledger_backends import postgres_available, postgres_databases

pytestmark = [pytest.mark.chromium, pytest.mark.prefect, pytest.mark.postgres]

WORKERS, APP_LIMIT = 4, 2
FINAL = {"Completed", "Failed", "Crashed", "Cancelled"}


@pytest.mark.parametrize("runs", [20, soak(100)])
def test_runs_on_4_workers_with_an_app_limit_of_2(tmp_path: Path, policy_dir: Path,
                                                  runs: int) -> None:
    if (why := postgres_available()):
        pytest.skip(why)
    db = tmp_path / "acme.db"
    with postgres_databases() as (ledger_url, prefect_db), acme_app(db) as acme:
        env = {**demo_env(tmp_path, "", acme), "PROCTOR_LEDGER_URL": ledger_url,
               "PROCTOR_POLICY_DIR": str(policy_dir), "PREFECT_LOGGING_LEVEL": "INFO"}
        with Fleet.start(tmp_path, env, workers=WORKERS, worker_limit=1, app_limit=APP_LIMIT,
                         prefect_database=prefect_db) as fleet:
            names = {fleet.submit(f"load-{n:03d}", invoice_rows(f"LOAD{n:03d}", 1)): n
                     for n in range(runs)}
            states = fleet.wait(names, FINAL, timeout_s=1800)
            limit = fleet.call("GET", "/v2/concurrency_limits/app-acme-payables")
            logs = {name: Path(path).read_text(errors="replace")
                    for name, path in fleet.stack.logs.items() if name.startswith("worker")}
        with urllib.request.urlopen(f"{acme}/ops/sessions", timeout=10) as answer:
            peak = json.load(answer)["peak"]
        reader = LedgerReader(open_engine(ledger_url))
        verified = reader.verify()
        succeeded = Counter(e.action_kind for e in reader.query(kind="action.succeeded"))

    assert Counter(states.values()) == {"Completed": runs}
    # Each invoice in the app once, released once; nothing duplicated.
    invoices = list_invoices(db)
    numbers = [i["invoice_number"] for i in invoices]
    assert sorted(numbers) == sorted(f"LOAD{n:03d}-1" for n in range(runs))
    assert {i["status"] for i in invoices} == {"released"}
    assert succeeded["acme.create_invoice"] == runs
    assert succeeded["acme.release_payment"] == runs
    # Never more than 2 sessions at the app at once, and the slots all given back.
    assert 1 <= peak <= APP_LIMIT
    assert limit["limit"] == APP_LIMIT and limit["active_slots"] == 0
    # The four workers shared the work.
    ran = {name: len(set(re.findall(r"load-\d{3}", text))) for name, text in logs.items()}
    assert len(ran) == WORKERS and all(ran.values()), ran
    assert verified.ok, verified.describe()
    assert verified.checked > 6 * runs

