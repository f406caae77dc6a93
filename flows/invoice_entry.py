"""Invoice entry: read a workbook, enter each invoice in Acme Payables under policy, summarize.

One Prefect task per invoice (a business transaction), not per click: the ledger records every
step inside it. Run locally with `proctor run invoice-entry --workbook FILE`, or deploy with
`prefect deploy` (see prefect.yaml).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from flows.limits import app_slot
from governance.errors import ApplicationError
from proctor.composition import build, evidence_store
from proctor.settings import Settings
from robots.acme.robot import AcmePayablesRobot, TransactionResult
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow, read_invoices, write_results
from robots.browser import launch


def _retry_system_errors(task, task_run, state) -> bool:  # type: ignore[no-untyped-def]
    """Retry when the application or its infrastructure failed; never on a business refusal."""
    return isinstance(state.result(raise_on_failure=False), ApplicationError)


@task(
    name="enter-invoice",
    task_run_name="enter-{row.invoice_number}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_retry_system_errors,
)
def enter_invoice(robot: AcmePayablesRobot, row: InvoiceRow) -> TransactionResult:
    """One business transaction: this invoice row, from login to payment release, holding one
    of the app's session slots (see flows.limits)."""
    with app_slot(robot.target):
        result = robot.enter_invoice(row)
    get_run_logger().info("row %s %s: %s", row.row, row.invoice_number, result.status)
    return result


def summarize(results: list[TransactionResult], verified: str) -> dict[str, Any]:
    """Counts per outcome, approvals given and refused, and the ledger's verification."""
    counts = Counter(r.status for r in results)
    return {
        "invoices": len(results),
        "succeeded": counts["succeeded"],
        "diverged": counts["diverged"],
        "already_done": counts["already_done"],
        "reconciled": counts["reconciled"],
        "denied": counts["denied"],
        "rejected": counts["rejected"],
        "expired": counts["expired"],
        "failed": counts["failed"],
        "in_doubt": counts["in_doubt"],
        "planned": counts["planned"],
        "approved": sum(r.approvals_used for r in results),
        "approvals_refused": sum(r.approvals_refused for r in results),
        "ledger": verified,
        "rows": [r.summary() for r in results],
    }


@flow(name="invoice-entry")
def invoice_entry(workbook: str, requested_by: str | None = None,
                  plan: bool = False) -> dict[str, Any]:
    """Enter every invoice of `workbook` in Acme Payables, each action governed. With `plan`
    (or `PROCTOR_PLAN=1` in a deployment's environment) ask the policy what the run would need
    and change nothing."""
    settings = Settings()
    settings = settings.model_copy(update={"plan": plan or settings.plan})
    governance = build(settings)
    rows = read_invoices(Path(workbook))
    run_id = str(flow_run.get_id()) if flow_run.get_id() else None
    with launch(settings.browser) as browser:
        robot = AcmePayablesRobot(
            governance.gate, browser, AcmeSettings(),
            requested_by=requested_by or settings.user, flow_run_id=run_id,
            timeout_ms=settings.browser.timeout_ms,
            evidence=evidence_store(governance),
            flow_author=settings.flow_author,
        )
        results = [enter_invoice(robot, row) for row in rows]
    summary = summarize(results, governance.reader.verify().describe())
    if not settings.plan:  # the business gets a workbook back: each row's outcome
        out = Path(workbook).with_suffix(".results.xlsx")
        summary["results_workbook"] = str(write_results(out, summary["rows"]))
    get_run_logger().info("summary: %s", {k: v for k, v in summary.items() if k != "rows"})
    return summary
