"""End to end, all real: a Prefect server, the Acme Payables app, Chromium, regorus, SQLite.

This is `make demo` with assertions: alice runs the flow, bob approves the large payment and
carol rejects the bank-account change through the CLI; then the same workbook runs again.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from audit import LedgerReader, open_engine
from demo.__main__ import run_flow
from demo.acme import list_invoices, list_vendors
from demo.services import acme_app, demo_env, prefect_server
from demo.workbook import write_workbook

pytestmark = [pytest.mark.chromium, pytest.mark.prefect]

ALLOWED = {("Globex Corporation", "INV-1001", "1250.00"), ("Initech GmbH", "INV-1002", "980.40"),
           ("Umbrella Supplies Ltd", "INV-1003", "48500.00"),
           ("Wayne Logistics", "INV-1006", "2200.00")}


def invoices(db: Path) -> set[tuple[str, str, str]]:
    return {(i["vendor"], i["invoice_number"], str(i["amount"])) for i in list_invoices(db)}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("demo")
    workbook = write_workbook(workdir / "invoices.xlsx")
    with prefect_server(workdir / "prefect") as api:
        with acme_app(workdir / "acme.db") as acme:
            first = run_flow(demo_env(workdir, api, acme), "invoice-entry", "workbook",
                             workbook, workdir)
        after_first = invoices(workdir / "acme.db")
        with acme_app(workdir / "acme.db", reset=False) as acme:
            second = run_flow(demo_env(workdir, api, acme), "invoice-entry", "workbook",
                              workbook, workdir)
    yield workdir, first, second, after_first


def test_app_holds_exactly_what_policy_or_an_approver_allowed(demo_run) -> None:
    workdir, first, _, after_first = demo_run
    assert after_first == ALLOWED
    statuses = {(r["invoice_number"], r["vendor"]): r["status"] for r in first["rows"]}
    assert statuses[("INV-1004", "Hooli Holdings")] == "denied"
    assert statuses[("INV-1005", "Stark Industrial AG")] == "rejected"
    assert [r["status"] for r in first["rows"]].count("denied") == 2  # unknown vendor, duplicate
    assert (first["succeeded"], first["denied"], first["approved"], first["rejected"]) == (
        4, 2, 1, 1)


def test_the_business_gets_a_results_workbook(demo_run) -> None:
    from RPA.Excel.Files import Files

    workdir, _, second, _ = demo_run
    excel = Files()
    excel.open_workbook(second["results_workbook"])
    try:
        rows = excel.read_worksheet(name="Results", header=True)
    finally:
        excel.close_workbook()
    assert [(r["row"], r["invoice_number"], r["status"]) for r in rows] == [
        (r["row"], r["invoice_number"], r["status"]) for r in second["rows"]]
    assert all(r["steps"] for r in rows)


def test_approved_payment_released_and_rejected_bank_change_not_made(demo_run) -> None:
    workdir = demo_run[0]
    released = {i["invoice_number"] for i in list_invoices(workdir / "acme.db")
                if i["status"] == "released"}
    assert released == {"INV-1001", "INV-1002", "INV-1003", "INV-1006"}
    stark = next(v for v in list_vendors(workdir / "acme.db") if v["name"] == "Stark Industrial AG")
    assert stark["iban"] == "CH9300762011623852957"


def test_rerun_enters_nothing_twice(demo_run) -> None:
    workdir, _, second, after_first = demo_run
    assert invoices(workdir / "acme.db") == after_first
    assert second["succeeded"] == 0 and second["already_done"] == 4
    assert len(list_invoices(workdir / "acme.db")) == 4


def test_ledger_tells_the_story_and_verifies(demo_run) -> None:
    workdir = demo_run[0]
    reader = LedgerReader(open_engine(f"sqlite:///{workdir / 'proctor.db'}"))
    assert reader.verify().ok
    kinds = [e.kind for e in reader.query()]
    assert kinds.count("approval.refused") >= 2  # alice tried to approve her own requests
    approved = reader.query(kind="approval.approved")
    assert [e.actor for e in approved] == ["bob"]
    assert {e.actor for e in reader.query(kind="approval.rejected")} == {"carol"}
    # Every effect was read back from the app and held what was approved.
    verified = {e.action_kind for e in reader.query(kind="action.verified")}
    assert verified >= {"acme.create_invoice", "acme.release_payment"}, verified
    assert not reader.query(kind="action.diverged")



def test_no_secret_in_ledger_logs_or_prefect(demo_run) -> None:
    """The robot's password and the bank details it proposed appear nowhere but in the app."""
    workdir = demo_run[0]
    secrets = [b"acme-clerk-pw", b"CH5604835012345678009", b"CH9300762011623852957"]
    scanned = [p for p in workdir.rglob("*") if p.is_file()
               and not p.name.startswith(("acme.db", "invoices.xlsx"))]
    assert any(p.name == "flow.log" for p in scanned)
    assert any(p.name.startswith("proctor.db") for p in scanned)
    for path in scanned:
        content = path.read_bytes()
        for secret in secrets:
            assert secret not in content, f"{secret!r} found in {path}"


def test_cli_verify_names_an_edited_row(demo_run) -> None:
    workdir = demo_run[0]
    copy = workdir / "tampered.db"
    with sqlite3.connect(workdir / "proctor.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute("DROP TRIGGER ledger_entries_no_update")  # as an attacker with the file
        conn.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE kind = 'approval.approved'")
        seq = conn.execute("SELECT seq FROM ledger_entries WHERE actor = 'mallory'").fetchone()[0]
    out = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "verify"],
                         env={"PROCTOR_LEDGER_URL": f"sqlite:///{copy}"}, capture_output=True,
                         text=True)
    assert out.returncode == 1 and f"entry {seq}" in out.stdout
