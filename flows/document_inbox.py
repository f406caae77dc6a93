"""Document inbox: read a folder (or a mailbox file) of documents, classify them, extract the
invoices' fields, let a person confirm what the models are unsure of, and enter the accepted
invoices in Acme Payables under policy.

One Prefect task per document and one per invoice entered. Run locally with
`proctor run document-inbox --inbox DIR`, or deploy it (see prefect.yaml).
"""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.invoice_entry import enter_invoice
from proctor.composition import build, document_models, evidence_store
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot
from robots.acme.settings import AcmeSettings
from robots.browser import launch
from robots.inbox.robot import DocumentResult, DocumentRobot

SUFFIXES = {".pdf", ".eml", ".txt"}


def inbox_items(inbox: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every document in `inbox`: a folder's .pdf, .eml and .txt files (in
    name order; other files are reported as unsupported by the reader), an mbox file's
    messages, or one file."""
    if not inbox.exists():
        raise FileNotFoundError(f"the inbox {inbox} does not exist")
    paths = sorted(p for p in inbox.iterdir() if p.is_file()) if inbox.is_dir() else [inbox]
    for path in paths:
        if path.suffix == ".mbox":
            for n, message in enumerate(mailbox.mbox(str(path)), 1):
                yield f"{path.name}#{n}.eml", message.as_bytes()
        else:
            yield path.name, path.read_bytes()


@task(name="read-document", task_run_name="read-{name}", cache_policy=NO_CACHE)
def read_document(robot: DocumentRobot, name: str, data: bytes) -> DocumentResult:
    """One document: read, classified, extracted, proposed; waits for a person when the
    policy asks for one."""
    result = robot.read(name, data)
    get_run_logger().info("%s: %s %s", name, result.status, result.message)
    return result


def summarize(results: list[DocumentResult], entered: dict[str, str],
              verified: str) -> dict[str, Any]:
    counts = Counter(r.status for r in results)
    return {
        "documents": len(results),
        **{status: counts[status] for status in ("succeeded", "already_done", "filed",
                                                 "unreadable", "denied", "rejected", "expired",
                                                 "failed", "planned")},
        "corrected_by_a_person": sum(1 for r in results if r.corrected),
        "entered_in_acme": sum(1 for s in entered.values() if s in ("succeeded", "already_done")),
        "ledger": verified,
        "rows": [r.summary() + (f" -> acme: {entered[r.path]}" if r.path in entered else "")
                 for r in results],
    }


@flow(name="document-inbox")
def document_inbox(inbox: str, requested_by: str | None = None, enter: bool = True,
                   plan: bool = False) -> dict[str, Any]:
    """Read every document of `inbox`; enter the accepted invoices in Acme Payables. With
    `plan` (or `PROCTOR_PLAN=1` in a deployment's environment) ask the policy what the run
    would need and change nothing."""
    settings = Settings()
    settings = settings.model_copy(update={"plan": plan or settings.plan})
    governance = build(settings)
    models = document_models(settings.inference, settings.documents_dir)
    run_id = str(flow_run.get_id()) if flow_run.get_id() else None
    who = requested_by or settings.user
    reader = DocumentRobot(governance.gate, governance.writer, models, requested_by=who,
                           flow_run_id=run_id, flow_author=settings.flow_author)
    reader.record_models()  # which models (and weights, and quantization) this run used
    results = [read_document(reader, name, data) for name, data in inbox_items(Path(inbox))]
    to_enter = [r for r in results if r.status == "succeeded"]
    entered: dict[str, str] = {}
    if enter and to_enter:
        with launch(settings.browser) as browser:
            robot = AcmePayablesRobot(
                governance.gate, browser, AcmeSettings(), requested_by=who, flow_run_id=run_id,
                timeout_ms=settings.browser.timeout_ms,
                evidence=evidence_store(governance),
                flow_author=settings.flow_author)
            for n, result in enumerate(to_enter, 1):
                entered[result.path] = enter_invoice(robot, result.invoice_row(n)).status
    summary = summarize(results, entered, governance.reader.verify().describe())
    get_run_logger().info("summary: %s", {k: v for k, v in summary.items() if k != "rows"})
    return summary
