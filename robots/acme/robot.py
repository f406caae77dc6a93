"""The Acme Payables robot: enters invoices, changes bank accounts, releases payments.

Built from the robot toolkit, as a robot for another app would be (copy this file):

- `BrowserPool` / `Attempt` (robots.browser, robots.attempt): one fresh browser context per
  attempt at an invoice row; `attempt.goto`, `attempt.click`, `attempt.expect_navigation` check
  every page the app answers (a 5xx is an `ApplicationError`: retry, after the Gate has
  reconciled).
- `AppSession` + `Secrets` (robots.session, robots.secrets): the password comes from the
  deployment's secret store; signing in is a governed action, repeated when the session expires.
- `attempt.form` / `find_row` (robots.forms, robots.pages): fields, columns and buttons by the
  labels a clerk reads, so the robot works on every layout of the app; a form is found whole
  before any field is touched, and a page that is not the one expected is refused, never guessed
  at.
- `submit_with_evidence` (robots.evidence): screenshots and HTML before and after each submit,
  sensitive values masked, their hashes in the ledger.
- `Verify` (governance.gate.verify): after each effect the robot reads the record back from the
  app's pages (the saved invoice, the vendor's IBAN, the invoice's status) and the Gate compares
  it with what was approved: `action.verified`, or `action.diverged` when the app holds
  something else.
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
from governance.gate import Gate, Verify
from governance.models import Action, Outcome
from robots.acme import app
from robots.acme.settings import AcmeSettings
from robots.acme.workbook import InvoiceRow
from robots.attempt import Attempt
from robots.browser import BrowserPool
from robots.evidence import EvidenceStore, submit_with_evidence
from robots.forms import Form, normalize
from robots.pages import TableRow, confirm, find_row
from robots.secrets import Secrets, SecretsSettings
from robots.session import AppSession, Login

TransactionStatus = Literal[
    "succeeded", "reconciled", "already_done", "denied", "rejected", "expired", "failed",
    "in_doubt", "planned", "diverged",
]
# The invoice form, by the labels a clerk sees: (label, parameter).
INVOICE_FORM = (("Vendor", "vendor"), ("Invoice number", "invoice_number"), ("Amount", "amount"),
                ("Currency", "currency"), ("Issue date", "issue_date"), ("Due date", "due_date"),
                ("Description", "description"))
# What a released invoice's page shows: which invoice, and its status.
RELEASED = (("Vendor", "vendor"), ("Invoice number", "invoice_number"), ("Amount", "amount"),
            ("Currency", "currency"), ("Status", "status"))
# Each row of a record's page whose header cell (<th>) is one of the labels: its value, exactly
# as the page holds it (textContent: no whitespace or line break folded away).
_LABELLED_JS = r"""
(labels) => {
  const norm = (s) => (s || '').replace(/\s+/g, ' ').trim().replace(/[\s:*]+$/, '').toLowerCase();
  const found = {};
  for (const tr of document.querySelectorAll('tr')) {
    const head = tr.querySelector('th');
    const cell = tr.querySelector('td');
    if (!head || !cell || tr.cells.length !== 2) continue;
    const label = norm(head.textContent);
    if (labels.includes(label)) (found[label] = found[label] || []).push(cell.textContent);
  }
  return found;
}
"""


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

    robot = "robot:acme-payables"  # the robot's service identity (`Action.robot`)
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
        self.session = AppSession(login, gate, requested_by=requested_by, robot=self.robot,
                                  flow_run_id=flow_run_id, flow_author=flow_author)
        self._planned_entry = False

    def enter_invoice(self, row: InvoiceRow) -> TransactionResult:
        """Log in, change the vendor's bank account if the row says so, save the invoice and
        release its payment; stop at the first step that does not go through."""
        result = TransactionResult(row.row, row.invoice_number, row.vendor, "succeeded")
        with self._pool.attempt(f"enter invoice {row.invoice_number}") as attempt:
            for step in (self._login, self._bank_account, self._create_invoice, self._release):
                outcome = step(attempt, row)
                if outcome is None:
                    continue
                result.steps.append(outcome)
                if not outcome.goes_on:
                    result.status = outcome.status  # type: ignore[assignment]
                    return result
        effects = [s.status for s in result.steps if not s.action_kind.endswith(".login")]
        if "planned" in effects:
            result.status = "planned"
        elif "diverged" in effects:  # done, but the app holds something else somewhere: flagged
            result.status = "diverged"
        elif all(s == "already_done" for s in effects):
            result.status = "already_done"
        elif "reconciled" in effects:
            result.status = "reconciled"
        return result

    # --- the steps: read what the policy needs, then propose -------------------------------

    def _login(self, attempt: Attempt, row: InvoiceRow) -> Outcome | None:
        # Signing in changes no business data: a plan signs in too, to read what policy needs.
        # The worker's earlier login is reused (no step); `session.open` logs in again if the
        # app ended that session.
        if self.session.resume(attempt):
            return None
        return self.session.log_in(attempt, check=False)

    def _bank_account(self, attempt: Attempt, row: InvoiceRow) -> Outcome | None:
        on_file = self._vendor_iban(attempt, row.vendor)
        if on_file is None or not row.vendor_iban or row.vendor_iban == on_file:
            return None
        params = {"vendor": row.vendor, "old_iban": on_file, "new_iban": row.vendor_iban}
        action = self._action("acme.change_bank_account", params,
                              key=f"acme:bank:{row.vendor}:{row.vendor_iban}",
                              sensitive=frozenset({"old_iban", "new_iban"}))
        return attempt.submit(self._gate, action, lambda a: self._do_change_iban(attempt, a),
                              reconcile=lambda a: self._iban_is(attempt, a),
                              preview=lambda a: self._preview_change_iban(attempt, a),
                              verify=Verify(lambda a, _: self._read_iban(attempt, a),
                                            normalise={"new_iban": _iban_text}))

    def _create_invoice(self, attempt: Attempt, row: InvoiceRow) -> Outcome:
        params = {name: getattr(row, name) for _, name in INVOICE_FORM}
        context = {
            "vendor_exists": self._vendor(attempt, row.vendor) is not None,
            "duplicate_invoice": self._invoice_status(attempt, row) is not None,
        }
        key = f"acme:invoice:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.create_invoice", params, key=key, context=context)
        outcome = attempt.submit(self._gate, action,
                                 lambda a: self._do_create_invoice(attempt, a),
                                 reconcile=lambda a: self._invoice_in_app(attempt, a),
                                 verify=lambda a, r: self._read_invoice(attempt, r, INVOICE_FORM))
        # A plan assumes what a real run would have done by the next step.
        self._planned_entry = outcome.status == "planned" and outcome.goes_on
        return outcome

    def _release(self, attempt: Attempt, row: InvoiceRow) -> Outcome:
        params = {"vendor": row.vendor, "invoice_number": row.invoice_number,
                  "amount": row.amount, "currency": row.currency}
        status = self._invoice_status(attempt, row)
        context = {"invoice_status": "entered" if status is None and self._planned_entry
                   else status}
        key = f"acme:release:{row.vendor}:{row.invoice_number}:{row.amount}:{row.currency}"
        action = self._action("acme.release_payment", params, key=key, context=context)
        return attempt.submit(self._gate, action, lambda a: self._do_release(attempt, a),
                              reconcile=lambda a: self._released_in_app(attempt, a),
                              preview=lambda a: self._preview_release(attempt, a),
                              verify=Verify(lambda a, r: self._read_invoice(attempt, r, RELEASED),
                                            expect={"status": "released"}))

    def _action(self, kind: str, params: dict[str, Any], *, key: str | None = None,
                context: dict[str, Any] | None = None,
                sensitive: frozenset[str] = frozenset()) -> Action:
        return Action(kind=kind, target=self.target, robot=self.robot,
                      requested_by=self._requested_by, flow_run_id=self._flow_run_id,
                      flow_author=self._flow_author, step=self._step(kind, params),
                      idempotency_key=key, params=params, context=context or {},
                      sensitive=sensitive)

    @staticmethod
    def _step(kind: str, params: dict[str, Any]) -> str:
        subject = params.get("invoice_number") or params.get("vendor") or params.get("username")
        return f"{kind.split('.', 1)[-1]} {subject}" if subject else kind

    # --- reads ---------------------------------------------------------------------------

    def _vendor(self, attempt: Attempt, name: str) -> TableRow | None:
        self._open(attempt, "vendors")
        return find_row(attempt.page, {"Name": name})

    def _vendor_iban(self, attempt: Attempt, name: str) -> str | None:
        vendor = self._vendor(attempt, name)
        if vendor is None:
            return None
        return vendor["IBAN"].replace(" ", "") or None

    def _invoice_status(self, attempt: Attempt, row: InvoiceRow) -> str | None:
        """'entered' or 'released' when the vendor already has this invoice number, else None."""
        found = self._invoice_row(attempt, row.invoice_number, row.vendor)
        if found is None:
            return None
        return "released" if found["Status"] == "released" else "entered"

    def _invoice_row(self, attempt: Attempt, number: str, vendor: str) -> TableRow | None:
        """The list row of this vendor's invoice `number`, if there is one."""
        self._open(attempt, "invoices")
        search = attempt.form({"Search": number}, submit="Find", labels_only=True)
        search.fill()
        with attempt.expect_navigation():
            search.submit()
        return find_row(attempt.page, {"Invoice number": number, "Vendor": vendor})

    # --- verification: what the app holds after an effect, read back from its pages ---------

    def _read_iban(self, attempt: Attempt, action: Action) -> dict[str, Any]:
        vendor = self._vendor(attempt, action.params["vendor"])
        if vendor is None:
            raise LookupError(f"vendor {action.params['vendor']!r} is not in the vendor list")
        return {"new_iban": vendor["IBAN"]}

    def _read_invoice(self, attempt: Attempt, result: dict[str, Any],
                      fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """The invoice's page (its URL in the effect's result), read by the labels shown."""
        self.session.open(attempt, result["invoice_url"])
        labels = {normalize(label): name for label, name in fields}
        found = attempt.page.evaluate(_LABELLED_JS, list(labels))
        missing = sorted(label for label, _ in fields if len(found.get(normalize(label), [])) != 1)
        if missing:
            raise LookupError(f"the invoice page {attempt.page.url} does not show one value for "
                              f"{', '.join(missing)}")
        return {name: found[label][0] for label, name in labels.items()}

    # --- reconciliation: did an attempt whose outcome is unknown take effect? ---------------

    def _iban_is(self, attempt: Attempt, action: Action) -> dict[str, Any] | None:
        current = self._vendor_iban(attempt, action.params["vendor"])
        return {"found": "vendor has the new IBAN"} if current == action.params["new_iban"] \
            else None

    def _invoice_in_app(self, attempt: Attempt, action: Action) -> dict[str, Any] | None:
        p = action.params
        found = self._invoice_row(attempt, p["invoice_number"], p["vendor"])
        if found is None or found["Amount"] != p["amount"]:
            return None
        return {"found": "invoice in the list", "row": " | ".join(found.cells.values())}

    def _released_in_app(self, attempt: Attempt, action: Action) -> dict[str, Any] | None:
        p = action.params
        found = self._invoice_row(attempt, p["invoice_number"], p["vendor"])
        return {"found": "payment released"} if found and found["Status"] == "released" \
            else None

    # --- previews: the form as it will be submitted, for the approver (nothing submitted) -----

    def _preview_change_iban(self, attempt: Attempt, action: Action) -> dict[str, str]:
        form = self._fill_iban(attempt, action)
        return self._capture(attempt, _secrets(action), form)

    def _preview_release(self, attempt: Attempt, action: Action) -> dict[str, str]:
        self._open_invoice(attempt, action)
        return self._capture(attempt, [], None)

    def _capture(self, attempt: Attempt, secrets: list[str], form: Form | None) -> dict[str, str]:
        if self._evidence is None:
            return {}
        mask = form.secret_locators if form is not None else []
        return self._evidence.capture(attempt.page, secrets=secrets, mask=mask)

    # --- effects (called by the Gate only) -------------------------------------------------

    def _do_change_iban(self, attempt: Attempt, action: Action) -> dict[str, Any]:
        form = self._fill_iban(attempt, action)
        return self._submit(attempt, action, form.submit, "Bank account updated", form)

    def _fill_iban(self, attempt: Attempt, action: Action) -> Form:
        vendor = action.params["vendor"]
        self._open(attempt, "vendors")
        found = find_row(attempt.page, {"Name": vendor})
        if found is None:
            raise BusinessRuleError(f"vendor {vendor!r} is not in {app.NAME}")
        with attempt.expect_navigation():
            attempt.click(vendor, within=found.selector)
        # An IBAN is sensitive: as a SecretStr it stays out of traces and screenshots.
        form = attempt.form({"New IBAN": SecretStr(action.params["new_iban"])},
                            submit="Save bank account", labels_only=True)
        form.fill()
        return form

    def _do_create_invoice(self, attempt: Attempt, action: Action) -> dict[str, Any]:
        p = action.params
        self._open(attempt, "new_invoice")
        # Every field is found before any is touched: a form the robot is unsure of stays
        # untouched. Only labels tied to their fields count here: money moves on this form.
        form = attempt.form({label: p[name] for label, name in INVOICE_FORM},
                            submit="Save invoice", labels_only=True)
        form.fill()
        expected = f"Invoice {p['invoice_number']} saved"
        outcome = self._submit(attempt, action, form.submit, expected)
        return {**outcome, "invoice_url": attempt.page.url}

    def _do_release(self, attempt: Attempt, action: Action) -> dict[str, Any]:
        self._open_invoice(attempt, action)
        outcome = self._submit(attempt, action, lambda: attempt.click("Release payment"),
                               "Payment released")
        return {**outcome, "invoice_url": attempt.page.url}

    def _open_invoice(self, attempt: Attempt, action: Action) -> None:
        number = action.params["invoice_number"]
        found = self._invoice_row(attempt, number, action.params["vendor"])
        if found is None:
            raise BusinessRuleError(f"invoice {number} not found")
        with attempt.expect_navigation():
            attempt.click("open", within=found.selector)

    def _submit(self, attempt: Attempt, action: Action, press: Callable[[], None],
                expected: str, form: Form | None = None) -> dict[str, Any]:
        """Press the submit button; the app's confirmation, with evidence before and after."""

        def submit() -> None:
            with attempt.expect_navigation():
                press()

        return submit_with_evidence(
            self._evidence, attempt.page, submit,
            lambda: confirm(attempt.page, expected, app.MESSAGES, app=app.NAME),
            secrets=_secrets(action), mask=form.secret_locators if form is not None else ())

    # --- pages -----------------------------------------------------------------------------

    def _url(self, page: str) -> str:
        return self._settings.url.rstrip("/") + app.PAGES[page]

    def _open(self, attempt: Attempt, page: str) -> None:
        """Open one of the app's pages, signing in again if the session expired (a governed
        action like any other)."""
        self.session.open(attempt, self._url(page))


def _secrets(action: Action) -> list[str]:
    """The action's sensitive values: kept out of every screenshot and HTML the robot keeps."""
    return [str(action.params[k]) for k in sorted(action.sensitive) if k in action.params]


def _iban_text(iban: str) -> str:
    """An IBAN as compared: the app shows it in groups of four, the params hold it compact."""
    return iban.replace(" ", "").upper()
