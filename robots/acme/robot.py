"""The Acme Payables robot: enters invoices, changes bank accounts, releases payments.

Every side effect (log in, change a bank account, save an invoice, release a payment) is an
`Action` submitted to the Gate; the effect itself runs only when the Gate calls it. Reading pages
(looking up a vendor, searching invoices) changes nothing and gathers the facts the policy needs.
Fields are found by their visible labels, so the robot works on every layout of the app.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from playwright.sync_api import Browser, Locator, Page, Response
from playwright.sync_api import Error as PlaywrightError

from governance.errors import ApplicationError, BusinessRuleError, RobotError
from governance.gate import Gate
from governance.models import Action, Outcome
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow
from robots.browser import transaction_context
from robots.evidence import EvidenceStore

TransactionStatus = Literal[
    "entered", "reconciled", "already_done", "denied", "rejected", "expired", "failed",
    "in_doubt", "planned",
]
# The invoice form, by the labels a clerk sees: (label, parameter).
INVOICE_FORM = (("Vendor", "vendor"), ("Invoice number", "invoice_number"), ("Amount", "amount"),
                ("Currency", "currency"), ("Issue date", "issue_date"), ("Due date", "due_date"),
                ("Description", "description"))
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{10,30}\b")


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
    target = "acme-payables"

    def __init__(self, gate: Gate, browser: Browser, settings: AcmeSettings, *,
                 requested_by: str, flow_run_id: str | None, timeout_ms: float = 10_000,
                 evidence: EvidenceStore | None = None, flow_author: str | None = None):
        self._gate = gate
        self._flow_author = flow_author
        self._evidence = evidence
        self._browser = browser
        self._settings = settings
        self._requested_by = requested_by
        self._flow_run_id = flow_run_id
        self._timeout_ms = timeout_ms
        self._planned_entry = False

    def enter_invoice(self, row: InvoiceRow) -> TransactionResult:
        """Log in, change the vendor's bank account if the row says so, save the invoice and
        release its payment; stop at the first step that does not go through."""
        result = TransactionResult(row.row, row.invoice_number, row.vendor, "entered")
        with transaction_context(self._browser, self._timeout_ms) as context:
            page = context.new_page()
            for step in (self._login, self._bank_account, self._create_invoice, self._release):
                outcome = step(page, row)
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

    def _login(self, page: Page, row: InvoiceRow | None) -> Outcome:
        action = self._action("acme.login", {"username": self._settings.username})
        # Signing in changes no business data: a plan signs in too, to read what policy needs.
        return self._gate.submit(action, lambda a: self._do_login(page), harmless=True)

    def _bank_account(self, page: Page, row: InvoiceRow) -> Outcome | None:
        on_file = self._vendor_iban(page, row.vendor)
        if on_file is None or not row.vendor_iban or row.vendor_iban == on_file:
            return None
        params = {"vendor": row.vendor, "old_iban": on_file, "new_iban": row.vendor_iban}
        action = self._action("acme.change_bank_account", params,
                              key=f"acme:bank:{row.vendor}:{row.vendor_iban}",
                              sensitive=frozenset({"old_iban", "new_iban"}))
        return self._gate.submit(action, lambda a: self._do_change_iban(page, a),
                                 reconcile=lambda a: self._iban_is(page, a),
                                 preview=lambda a: self._preview_change_iban(page, a))

    def _create_invoice(self, page: Page, row: InvoiceRow) -> Outcome:
        params = {
            "vendor": row.vendor, "invoice_number": row.invoice_number, "amount": row.amount,
            "currency": row.currency, "issue_date": row.issue_date, "due_date": row.due_date,
            "description": row.description,
        }
        context = {
            "vendor_exists": self._vendor_iban(page, row.vendor) is not None,
            "duplicate_invoice": self._invoice_status(page, row) is not None,
        }
        key = f"acme:invoice:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.create_invoice", params, key=key, context=context)
        outcome = self._gate.submit(action, lambda a: self._do_create_invoice(page, a),
                                    reconcile=lambda a: self._invoice_in_app(page, a))
        # A plan assumes what a real run would have done by the next step.
        self._planned_entry = outcome.status == "planned" and outcome.goes_on
        return outcome

    def _release(self, page: Page, row: InvoiceRow) -> Outcome:
        params = {"vendor": row.vendor, "invoice_number": row.invoice_number,
                  "amount": row.amount, "currency": row.currency}
        status = self._invoice_status(page, row)
        context = {"invoice_status": "entered" if status is None and self._planned_entry
                   else status}
        key = f"acme:release:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.release_payment", params, key=key, context=context)
        return self._gate.submit(action, lambda a: self._do_release(page, a),
                                 reconcile=lambda a: self._released_in_app(page, a),
                                 preview=lambda a: self._preview_release(page, a))

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

    def _vendor_iban(self, page: Page, vendor: str) -> str | None:
        self._goto(page, "/vendors")
        row = self._table_row(page, vendor)
        if row is None:
            return None
        found = _IBAN.search(row.inner_text().replace(" ", ""))
        return found.group(0) if found else None

    def _invoice_status(self, page: Page, row: InvoiceRow) -> str | None:
        """'entered' or 'released' when the vendor already has this invoice number, else None."""
        cells = self._invoice_cells(page, row.invoice_number, row.vendor)
        if cells is None:
            return None
        return "released" if "released" in cells else "entered"

    def _invoice_cells(self, page: Page, number: str, vendor: str) -> list[str] | None:
        """The list row of this vendor's invoice `number`, cell by cell, if there is one."""
        self._goto(page, "/invoices")
        search = self._field(page, "Search")
        search.fill(number)
        self._submit(page, search)
        match = self._table_row(page, number, also=vendor)
        if match is None:
            return None
        return [c.strip() for c in match.get_by_role("cell").all_inner_texts()]

    # --- reconciliation: did an attempt whose outcome is unknown take effect? ---------------

    def _iban_is(self, page: Page, action: Action) -> dict[str, Any] | None:
        current = self._vendor_iban(page, action.params["vendor"])
        return {"found": "vendor has the new IBAN"} if current == action.params["new_iban"] \
            else None

    def _invoice_in_app(self, page: Page, action: Action) -> dict[str, Any] | None:
        cells = self._invoice_cells(page, action.params["invoice_number"],
                                    action.params["vendor"])
        if cells is None or action.params["amount"] not in cells:
            return None
        return {"found": "invoice in the list", "row": " | ".join(cells)}

    def _released_in_app(self, page: Page, action: Action) -> dict[str, Any] | None:
        cells = self._invoice_cells(page, action.params["invoice_number"],
                                    action.params["vendor"])
        return {"found": "payment released"} if cells and "released" in cells else None

    # --- effects (called by the Gate only) -------------------------------------------------

    def _do_login(self, page: Page) -> dict[str, Any]:
        self._goto(page, "/login")
        self._field(page, "Username").fill(self._settings.username)
        password = self._field(page, "Password")
        password.fill(self._settings.password.get_secret_value())
        self._submit(page, password)
        if "/login" in page.url:
            raise BusinessRuleError(f"Acme Payables refused the login: {self._errors(page)}")
        return {"logged_in_as": self._settings.username}

    # --- previews: the form as it will be submitted, for the approver (nothing submitted) -----

    def _preview_change_iban(self, page: Page, action: Action) -> dict[str, str]:
        field_ = self._fill_iban(page, action)
        return self._capture(page, [action.params["new_iban"], action.params["old_iban"]],
                             [field_])

    def _preview_release(self, page: Page, action: Action) -> dict[str, str]:
        self._open_invoice(page, action)
        return self._capture(page, [], ())

    def _do_change_iban(self, page: Page, action: Action) -> dict[str, Any]:
        field_ = self._fill_iban(page, action)
        return self._submit_with_evidence(page, action, lambda: self._submit(page, field_),
                                          "Bank account updated", mask=[field_])

    def _fill_iban(self, page: Page, action: Action) -> Locator:
        self._goto(page, "/vendors")
        row = self._table_row(page, action.params["vendor"])
        if row is None:
            raise BusinessRuleError(f"vendor {action.params['vendor']!r} is not in Acme Payables")
        with page.expect_navigation():
            row.get_by_role("link").first.click()
        field_ = self._field(page, "New IBAN")
        field_.fill(action.params["new_iban"])
        return field_

    def _do_create_invoice(self, page: Page, action: Action) -> dict[str, Any]:
        p = action.params
        self._goto(page, "/invoices/new")
        # Find every field before touching any: a form the robot is unsure of stays untouched.
        fields = {name: self._field(page, label) for label, name in INVOICE_FORM}
        fields["vendor"].select_option(label=p["vendor"])
        fields["currency"].select_option(p["currency"])
        for name, field_ in fields.items():
            if name not in ("vendor", "currency"):
                field_.fill(p[name])
        outcome = self._submit_with_evidence(page, action,
                                             lambda: self._click(page, "Save invoice"),
                                             f"Invoice {p['invoice_number']} saved")
        return {**outcome, "invoice_url": page.url}

    def _do_release(self, page: Page, action: Action) -> dict[str, Any]:
        self._open_invoice(page, action)
        return self._submit_with_evidence(page, action,
                                          lambda: self._click(page, "Release payment"),
                                          "Payment released")

    def _open_invoice(self, page: Page, action: Action) -> None:
        self._goto(page, "/invoices")
        search = self._field(page, "Search")
        search.fill(action.params["invoice_number"])
        self._submit(page, search)
        row = self._table_row(page, action.params["invoice_number"], also=action.params["vendor"])
        if row is None:
            raise BusinessRuleError(f"invoice {action.params['invoice_number']} not found")
        with page.expect_navigation():
            row.get_by_role("link").first.click()

    def _submit_with_evidence(self, page: Page, action: Action, submit: Callable[[], None],
                              expected: str, mask: Sequence[Locator] = ()) -> dict[str, Any]:
        """Submit a filled form; evidence before and after, in the result or the error."""
        secrets = [str(action.params[k]) for k in sorted(action.sensitive) if k in action.params]
        evidence = {"before_submit": self._capture(page, secrets, mask)}
        try:
            submit()
        except RobotError as exc:
            exc.evidence = {**evidence, "after_submit": self._capture(page, secrets, ())}
            raise
        evidence["after_submit"] = self._capture(page, secrets, ())
        try:
            confirmation = self._expect_flash(page, expected)
        except RobotError as exc:
            exc.evidence = evidence
            raise
        return {**confirmation, "evidence": evidence}

    def _capture(self, page: Page, secrets: list[str], mask: Sequence[Locator]) -> dict[str, str]:
        if self._evidence is None:
            return {}
        return self._evidence.capture(page, secrets=secrets, mask=mask)

    # --- page helpers --------------------------------------------------------------------

    def _goto(self, page: Page, path: str) -> None:
        self._open(page, path)
        if path != "/login" and "/login" in page.url:
            # The session expired: log in again (a governed action like any other), retry once.
            if not self._login(page, None).done:
                raise ApplicationError("Acme Payables session expired and re-login was refused")
            self._open(page, path)

    def _open(self, page: Page, path: str) -> None:
        try:
            response = page.goto(self._settings.url.rstrip("/") + path)
        except PlaywrightError as exc:
            raise ApplicationError(f"Acme Payables unreachable at {path}: {exc.message}") from exc
        if response is not None and response.status >= 500:
            raise ApplicationError(f"Acme Payables answered {response.status} on {path}")

    def _field(self, page: Page, label: str) -> Locator:
        """The one field labelled `label`; refuses when there is none or more than one."""
        locator = page.get_by_label(label, exact=True)
        count = locator.count()
        if count != 1:
            raise ApplicationError(
                f"expected one field labelled {label!r} on {page.url}, found {count}: "
                "the page is not the form the robot knows"
            )
        return locator

    def _submit(self, page: Page, field_: Locator) -> None:
        with page.expect_navigation() as navigation:
            field_.press("Enter")
        self._check_status(page, navigation.value)

    def _click(self, page: Page, button: str) -> None:
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button, exact=True).click()
        self._check_status(page, navigation.value)

    @staticmethod
    def _check_status(page: Page, response: Response | None) -> None:
        # A 5xx is the application failing, not refusing: its outcome is unknown, retry.
        if response is not None and response.status >= 500:
            raise ApplicationError(f"Acme Payables answered {response.status} on {page.url}")

    def _table_row(self, page: Page, text: str, also: str | None = None) -> Locator | None:
        for row in page.get_by_role("row").all():
            cells = [c.strip() for c in row.get_by_role("cell").all_inner_texts()]
            if text in cells and (also is None or also in cells):
                return row
        return None

    def _errors(self, page: Page) -> str:
        errors = page.locator(".error").all_inner_texts()
        return "; ".join(e.strip() for e in errors if e.strip()) or "no message"

    def _expect_flash(self, page: Page, expected: str) -> dict[str, Any]:
        flash = " ".join(page.locator("#flash, .flash").all_inner_texts())
        if expected in flash:
            return {"confirmation": flash.strip()}
        errors = page.locator(".error").all_inner_texts()
        if errors:
            raise BusinessRuleError(f"Acme Payables said: {self._errors(page)}")
        raise ApplicationError(f"no confirmation {expected!r} on {page.url}")

