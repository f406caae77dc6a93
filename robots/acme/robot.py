"""The Acme Payables robot: enters invoices, changes bank accounts, releases payments.

Built from the robot toolkit, as a robot for another app would be (copy this file):

- `BrowserPool` / `Transaction` (robots.browser, robots.transaction): one fresh browser context
  per invoice row; `txn.goto`, `txn.click`, `txn.expect_navigation` check every page the app
  answers (a 5xx is an `ApplicationError`: retry, after the Gate has reconciled).
- `AppSession` + `Secrets` (robots.session, robots.secrets): the password comes from the
  deployment's secret store; signing in is a governed action, repeated when the session expires.
- `txn.form` / `find_row` (robots.forms, robots.pages): fields, columns and buttons by the labels
  a clerk reads, so the robot works on every layout of the app; a form is found whole before any
  field is touched, and a page that is not the one expected is refused, never guessed at.
- `submit_with_evidence` (robots.evidence): screenshots and HTML before and after each submit,
  sensitive values masked, their hashes in the ledger.
- What a label cannot say about the app is in robots/acme/app.py; where it runs, in settings.py.

Every side effect (log in, change a bank account, save an invoice, release a payment) is an
`Action` submitted to the Gate; the effect itself runs only when the Gate calls it. Reading pages
(looking up a vendor, searching invoices) changes nothing and gathers the facts the policy needs,
and, after a crash, whether an earlier attempt took effect (`reconcile`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from playwright.sync_api import Browser
from pydantic import SecretStr

from governance.errors import BusinessRuleError
from governance.gate import Gate
from governance.models import Action, Outcome
from robots.acme import app
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow
from robots.browser import BrowserPool
from robots.evidence import EvidenceStore, submit_with_evidence
from robots.forms import Form
from robots.pages import TableRow, confirm, find_row
from robots.secrets import Secrets, SecretsSettings
from robots.session import AppSession, Login
from robots.transaction import Transaction

TransactionStatus = Literal[
    "entered", "reconciled", "already_done", "denied", "rejected", "expired", "failed",
    "in_doubt", "planned",
]
# The invoice form, by the labels a clerk sees: (label, parameter).
INVOICE_FORM = (("Vendor", "vendor"), ("Invoice number", "invoice_number"), ("Amount", "amount"),
                ("Currency", "currency"), ("Issue date", "issue_date"), ("Due date", "due_date"),
                ("Description", "description"))


@dataclass
class TransactionResult:
    """What happened to one invoice row, step by step."""

    row: int
    invoice_number: str
    vendor: str
    status: TransactionStatus
    steps: list[Outcome] = field(default_factory=list)

    @property
    def approvals_used(self) -> int:
        return sum(1 for s in self.steps if s.approval_id and s.done)

    @property
    def approvals_refused(self) -> int:
        return sum(1 for s in self.steps if s.approval_id and s.status in ("rejected", "expired"))

    def summary(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "invoice_number": self.invoice_number,
            "vendor": self.vendor,
            "status": self.status,
            "steps": [f"{s.action_kind}: {s.status}{_approved(s)}{_why(s)}" for s in self.steps],
        }


def _approved(outcome: Outcome) -> str:
    return " after approval" if outcome.approval_id and outcome.done else ""


def _why(outcome: Outcome) -> str:
    return f" ({outcome.message})" if outcome.message and not outcome.done else ""


class AcmePayablesRobot:
    """Enters one invoice row per transaction, under the Gate."""

    actor = "robot:acme-payables"
    target = app.TARGET

    def __init__(self, gate: Gate, browser: Browser, settings: AcmeSettings, *,
                 requested_by: str, flow_run_id: str | None, timeout_ms: float = 10_000,
                 evidence: EvidenceStore | None = None, flow_author: str | None = None,
                 secrets: Secrets | None = None):
        self._gate = gate
        self._flow_author = flow_author
        self._evidence = evidence
        self._settings = settings
        self._requested_by = requested_by
        self._flow_run_id = flow_run_id
        self._pool = BrowserPool.over(browser, timeout_ms=timeout_ms)
        secrets = secrets or Secrets.from_settings(SecretsSettings())
        login = Login(app=app.KIND, target=app.TARGET, url=self._url("login"),
                      username=settings.username, submit=("Log in",), labels_only=True,
                      password=secrets.get(settings.password_secret, default=settings.password))
        self.session = AppSession(login, gate, requested_by=requested_by, actor=self.actor,
                                  flow_run_id=flow_run_id, flow_author=flow_author)
        self._planned_entry = False

    def enter_invoice(self, row: InvoiceRow) -> TransactionResult:
        """Log in, change the vendor's bank account if the row says so, save the invoice and
        release its payment; stop at the first step that does not go through."""
        result = TransactionResult(row.row, row.invoice_number, row.vendor, "entered")
        with self._pool.transaction(f"enter invoice {row.invoice_number}") as txn:
            for step in (self._login, self._bank_account, self._create_invoice, self._release):
                outcome = step(txn, row)
                if outcome is None:
                    continue
                result.steps.append(outcome)
                if not outcome.goes_on:
                    result.status = outcome.status  # type: ignore[assignment]
                    return result
        effects = [s.status for s in result.steps[1:]]
        if "planned" in effects:
            result.status = "planned"
        elif all(s == "already_done" for s in effects):
            result.status = "already_done"
        elif "reconciled" in effects:
            result.status = "reconciled"
        return result

    # --- the steps: read what the policy needs, then propose -------------------------------

    def _login(self, txn: Transaction, row: InvoiceRow) -> Outcome:
        # Signing in changes no business data: a plan signs in too, to read what policy needs.
        return self.session.log_in(txn, check=False)

    def _bank_account(self, txn: Transaction, row: InvoiceRow) -> Outcome | None:
        on_file = self._vendor_iban(txn, row.vendor)
        if on_file is None or not row.vendor_iban or row.vendor_iban == on_file:
            return None
        params = {"vendor": row.vendor, "old_iban": on_file, "new_iban": row.vendor_iban}
        action = self._action("acme.change_bank_account", params,
                              key=f"acme:bank:{row.vendor}:{row.vendor_iban}",
                              sensitive=frozenset({"old_iban", "new_iban"}))
        return txn.submit(self._gate, action, lambda a: self._do_change_iban(txn, a),
                          reconcile=lambda a: self._iban_is(txn, a),
                          preview=lambda a: self._preview_change_iban(txn, a))

    def _create_invoice(self, txn: Transaction, row: InvoiceRow) -> Outcome:
        params = {name: getattr(row, name) for _, name in INVOICE_FORM}
        context = {
            "vendor_exists": self._vendor(txn, row.vendor) is not None,
            "duplicate_invoice": self._invoice_status(txn, row) is not None,
        }
        key = f"acme:invoice:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.create_invoice", params, key=key, context=context)
        outcome = txn.submit(self._gate, action, lambda a: self._do_create_invoice(txn, a),
                             reconcile=lambda a: self._invoice_in_app(txn, a))
        # A plan assumes what a real run would have done by the next step.
        self._planned_entry = outcome.status == "planned" and outcome.goes_on
        return outcome

    def _release(self, txn: Transaction, row: InvoiceRow) -> Outcome:
        params = {"vendor": row.vendor, "invoice_number": row.invoice_number,
                  "amount": row.amount, "currency": row.currency}
        status = self._invoice_status(txn, row)
        context = {"invoice_status": "entered" if status is None and self._planned_entry
                   else status}
        key = f"acme:release:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.release_payment", params, key=key, context=context)
        return txn.submit(self._gate, action, lambda a: self._do_release(txn, a),
                          reconcile=lambda a: self._released_in_app(txn, a),
                          preview=lambda a: self._preview_release(txn, a))

    def _action(self, kind: str, params: dict[str, Any], *, key: str | None = None,
                context: dict[str, Any] | None = None,
                sensitive: frozenset[str] = frozenset()) -> Action:
        return Action(kind=kind, target=self.target, actor=self.actor,
                      requested_by=self._requested_by, flow_run_id=self._flow_run_id,
                      flow_author=self._flow_author, step=self._step(kind, params),
                      idempotency_key=key, params=params, context=context or {},
                      sensitive=sensitive)

    @staticmethod
    def _step(kind: str, params: dict[str, Any]) -> str:
        subject = params.get("invoice_number") or params.get("vendor") or params.get("username")
        return f"{kind.split('.', 1)[-1]} {subject}" if subject else kind

    # --- reads ---------------------------------------------------------------------------

    def _vendor(self, txn: Transaction, name: str) -> TableRow | None:
        self._open(txn, "vendors")
        return find_row(txn.page, {"Name": name})

    def _vendor_iban(self, txn: Transaction, name: str) -> str | None:
        vendor = self._vendor(txn, name)
        if vendor is None:
            return None
        return vendor["IBAN"].replace(" ", "") or None

    def _invoice_status(self, txn: Transaction, row: InvoiceRow) -> str | None:
        """'entered' or 'released' when the vendor already has this invoice number, else None."""
        found = self._invoice_row(txn, row.invoice_number, row.vendor)
        if found is None:
            return None
        return "released" if found["Status"] == "released" else "entered"

    def _invoice_row(self, txn: Transaction, number: str, vendor: str) -> TableRow | None:
        """The list row of this vendor's invoice `number`, if there is one."""
        self._open(txn, "invoices")
        search = txn.form({"Search": number}, submit="Find", labels_only=True)
        search.fill()
        with txn.expect_navigation():
            search.submit()
        return find_row(txn.page, {"Invoice number": number, "Vendor": vendor})

    # --- reconciliation: did an attempt whose outcome is unknown take effect? ---------------

    def _iban_is(self, txn: Transaction, action: Action) -> dict[str, Any] | None:
        current = self._vendor_iban(txn, action.params["vendor"])
        return {"found": "vendor has the new IBAN"} if current == action.params["new_iban"] \
            else None

    def _invoice_in_app(self, txn: Transaction, action: Action) -> dict[str, Any] | None:
        found = self._invoice_row(txn, action.params["invoice_number"], action.params["vendor"])
        if found is None or found["Amount"] != action.params["amount"]:
            return None
        return {"found": "invoice in the list", "row": " | ".join(found.cells.values())}

    def _released_in_app(self, txn: Transaction, action: Action) -> dict[str, Any] | None:
        found = self._invoice_row(txn, action.params["invoice_number"], action.params["vendor"])
        return {"found": "payment released"} if found and found["Status"] == "released" \
            else None

    # --- previews: the form as it will be submitted, for the approver (nothing submitted) -----

    def _preview_change_iban(self, txn: Transaction, action: Action) -> dict[str, str]:
        form = self._fill_iban(txn, action)
        return self._capture(txn, _secrets(action), form)

    def _preview_release(self, txn: Transaction, action: Action) -> dict[str, str]:
        self._open_invoice(txn, action)
        return self._capture(txn, [], None)

    def _capture(self, txn: Transaction, secrets: list[str], form: Form | None) -> dict[str, str]:
        if self._evidence is None:
            return {}
        mask = form.secret_locators if form is not None else []
        return self._evidence.capture(txn.page, secrets=secrets, mask=mask)

    # --- effects (called by the Gate only) -------------------------------------------------

    def _do_change_iban(self, txn: Transaction, action: Action) -> dict[str, Any]:
        form = self._fill_iban(txn, action)
        return self._submit(txn, action, form.submit, "Bank account updated", form)

    def _fill_iban(self, txn: Transaction, action: Action) -> Form:
        vendor = action.params["vendor"]
        self._open(txn, "vendors")
        found = find_row(txn.page, {"Name": vendor})
        if found is None:
            raise BusinessRuleError(f"vendor {vendor!r} is not in {app.NAME}")
        with txn.expect_navigation():
            txn.click(vendor, within=found.selector)
        # An IBAN is sensitive: as a SecretStr it stays out of traces and screenshots.
        form = txn.form({"New IBAN": SecretStr(action.params["new_iban"])},
                        submit="Save bank account", labels_only=True)
        form.fill()
        return form

    def _do_create_invoice(self, txn: Transaction, action: Action) -> dict[str, Any]:
        p = action.params
        self._open(txn, "new_invoice")
        # Every field is found before any is touched: a form the robot is unsure of stays
        # untouched. Only labels tied to their fields count here: money moves on this form.
        form = txn.form({label: p[name] for label, name in INVOICE_FORM},
                        submit="Save invoice", labels_only=True)
        form.fill()
        outcome = self._submit(txn, action, form.submit, f"Invoice {p['invoice_number']} saved")
        return {**outcome, "invoice_url": txn.page.url}

    def _do_release(self, txn: Transaction, action: Action) -> dict[str, Any]:
        self._open_invoice(txn, action)
        return self._submit(txn, action, lambda: txn.click("Release payment"),
                            "Payment released")

    def _open_invoice(self, txn: Transaction, action: Action) -> None:
        number = action.params["invoice_number"]
        found = self._invoice_row(txn, number, action.params["vendor"])
        if found is None:
            raise BusinessRuleError(f"invoice {number} not found")
        with txn.expect_navigation():
            txn.click("open", within=found.selector)

    def _submit(self, txn: Transaction, action: Action, press: Callable[[], None],
                expected: str, form: Form | None = None) -> dict[str, Any]:
        """Press the submit button; the app's confirmation, with evidence before and after."""

        def submit() -> None:
            with txn.expect_navigation():
                press()

        return submit_with_evidence(
            self._evidence, txn.page, submit,
            lambda: confirm(txn.page, expected, app.MESSAGES, app=app.NAME),
            secrets=_secrets(action), mask=form.secret_locators if form is not None else ())

    # --- pages -----------------------------------------------------------------------------

    def _url(self, page: str) -> str:
        return self._settings.url.rstrip("/") + app.PAGES[page]

    def _open(self, txn: Transaction, page: str) -> None:
        """Open one of the app's pages, signing in again if the session expired (a governed
        action like any other)."""
        self.session.open(txn, self._url(page))


def _secrets(action: Action) -> list[str]:
    """The action's sensitive values: kept out of every screenshot and HTML the robot keeps."""
    return [str(action.params[k]) for k in sorted(action.sensitive) if k in action.params]
