"""The document-inbox flow end to end, all real: a Prefect server, the Acme Payables app,
Chromium, regorus, all-MiniLM-L6-v2, SQLite. alice runs the flow on a small inbox while rhea
(document reviewer) and bob (payments) work the queue through the approvals service (the CLI).

The inbox: a clean invoice (PDF), a scan whose vendor the model cannot read (rhea fills it in,
and her value is what is entered), a locked PDF (unreadable: recorded, changes nothing) and a
mailbox file holding one e-mail with an invoice attached.
"""

from __future__ import annotations

import mailbox
from pathlib import Path
from typing import Any

import pytest

from audit import LedgerReader, open_engine
from demo.__main__ import run_flow
from demo.acme import list_invoices
from demo.inbox import GLOBEX, INITECH, UMBRELLA, mail_bytes, pdf_bytes
from demo.services import acme_app, demo_env, prefect_server

pytestmark = [pytest.mark.chromium, pytest.mark.prefect]
# The demo's smudged scan, for an amount that needs no payment approval (a shorter run).
SCAN = UMBRELLA.replace("10,000.00", "1,000.00").replace("2,000.00", "200.00").replace(
    "12,000.00", "1,200.00")


@pytest.fixture(scope="module")
def inbox_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("inbox-flow")
    inbox = workdir / "inbox"
    inbox.mkdir()
    (inbox / "1-globex.pdf").write_bytes(pdf_bytes(GLOBEX.split("\n")))
    (inbox / "2-umbrella-scan.txt").write_text(SCAN, "utf-8")
    (inbox / "3-locked.pdf").write_bytes(pdf_bytes(["Invoice INV-9"], password="s3cret"))
    box = mailbox.mbox(str(inbox / "4-mail.mbox"))
    box.add(mail_bytes(INITECH))
    box.flush()
    with prefect_server(workdir / "prefect") as api, acme_app(workdir / "acme.db") as acme:
        summary = run_flow(demo_env(workdir, api, acme), "document-inbox", "inbox", inbox,
                           workdir)
    return workdir, summary


def test_the_accepted_invoices_are_entered_with_the_reviewers_value(inbox_run) -> None:
    workdir, summary = inbox_run
    assert (summary["documents"], summary["succeeded"], summary["unreadable"]) == (4, 3, 1)
    assert summary["corrected_by_a_person"] == 1 and summary["entered_in_acme"] == 3
    entered = {(i["vendor"], i["invoice_number"], str(i["amount"]), i["currency"])
               for i in list_invoices(workdir / "acme.db")}
    assert entered == {("Globex Corporation", "INV-2001", "1190.00", "EUR"),
                       ("Umbrella Supplies Ltd", "INV-2005", "1200.00", "GBP"),  # rhea's vendor
                       ("Initech GmbH", "INV-2002", "1785.00", "EUR")}  # from the mailbox


def test_the_ledger_tells_what_each_document_became(inbox_run) -> None:
    workdir, _ = inbox_run
    reader = LedgerReader(open_engine(f"sqlite:///{workdir / 'proctor.db'}"))
    assert reader.verify().ok
    (unreadable,) = reader.query(kind="document.unreadable")
    assert unreadable.data()["file"] == "3-locked.pdf"
    assert unreadable.data()["problem"] == "EncryptedDocument"
    proposed = [e.data()["context"]["file"] for e in reader.query(kind="action.proposed")
                if e.action_kind == "documents.accept_invoice"]
    # (the corrected scan twice: as read, and as rhea corrected it)
    assert sorted(proposed) == ["1-globex.pdf", "2-umbrella-scan.txt", "2-umbrella-scan.txt",
                                "4-mail.mbox#1.eml"]
    (corrected,) = reader.query(kind="document.corrected")
    assert corrected.data()["corrections"] == {"vendor_name": ["", "Umbrella Supplies Ltd"]}
    assert {e.actor for e in reader.query(kind="approval.approved")} == {"rhea"}
    # the models this run loaded, once, and every model call of it
    (loaded,) = reader.query(kind="model.loaded")
    assert loaded.data()["name"] == "all-MiniLM-L6-v2" and loaded.data()["quantization"] in (
        "nf4", "none")
    tasks = [e.data()["task"] for e in reader.query(kind="model.inference")]
    assert tasks.count("classify") == tasks.count("extract") == tasks.count("duplicate") == 3
    assert tasks.count("index") == 3 and tasks[0] == "fit"
    entered = reader.query(action_kind="acme.create_invoice", kind="action.succeeded")
    assert len(entered) == 3
