"""The invoice form's fields in each layout: same labels, different ids, names and order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation


@dataclass(frozen=True)
class FormField:
    key: str  # what the server stores
    label: str  # what a person (or a robot reading labels) sees
    kind: str  # "text", "vendor" (select), "currency" (select)


FIELDS = {
    "vendor": FormField("vendor", "Vendor", "vendor"),
    "invoice_number": FormField("invoice_number", "Invoice number", "text"),
    "amount": FormField("amount", "Amount", "text"),
    "currency": FormField("currency", "Currency", "currency"),
    "issue_date": FormField("issue_date", "Issue date", "text"),
    "due_date": FormField("due_date", "Due date", "text"),
    "description": FormField("description", "Description", "text"),
}
CURRENCIES = ("EUR", "USD", "GBP", "CHF")

_ORDER = {
    "classic": ("vendor", "invoice_number", "amount", "currency", "issue_date", "due_date",
                "description"),
    "alternate": ("amount", "currency", "invoice_number", "issue_date", "due_date",
                  "description", "vendor"),
}
# The alternate layout is what the app's next version shipped: generated ids, cryptic names.
_ALT_NAMES = {"vendor": "x_supplier", "invoice_number": "x_docno", "amount": "x_amt",
              "currency": "x_cur", "issue_date": "x_d1", "due_date": "x_d2",
              "description": "x_memo", "q": "x_find", "new_iban": "x_acct",
              "username": "x_login", "password": "x_secret"}


def field_name(layout: str, key: str) -> str:
    return _ALT_NAMES[key] if layout == "alternate" else key


def field_id(layout: str, key: str) -> str:
    if layout == "alternate":
        return f"f_{sorted(_ALT_NAMES).index(key) + 3}"
    return key


def ordered_fields(layout: str) -> list[FormField]:
    return [FIELDS[key] for key in _ORDER[layout]]


def validate_invoice(values: dict[str, str], vendors: list[str]) -> dict[str, str]:
    """Error message per field key; empty when the invoice can be saved."""
    errors: dict[str, str] = {}
    for key, f in FIELDS.items():
        if key != "description" and not values.get(key, "").strip():
            errors[key] = f"{f.label} is required"
    if values.get("vendor") and values["vendor"] not in vendors:
        errors["vendor"] = "Unknown vendor"
    if values.get("amount") and "amount" not in errors:
        try:
            amount = Decimal(values["amount"])
            if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = "Amount must be a positive number with at most 2 decimals"
    if values.get("currency") and values["currency"] not in CURRENCIES:
        errors["currency"] = "Unknown currency"
    for key in ("issue_date", "due_date"):
        if values.get(key) and key not in errors:
            try:
                date.fromisoformat(values[key])
            except ValueError:
                errors[key] = f"{FIELDS[key].label} must be a date (YYYY-MM-DD)"
    return errors


def iban_is_valid(iban: str) -> bool:
    """The ISO 13616 mod-97 check."""
    iban = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1
