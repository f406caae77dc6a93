"""The invoice form's fields in each layout: same labels, different ids, names and order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


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


# At most 12 integer digits: the cents must fit SQLite's 64-bit integers with room to spare.
_AMOUNT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def field_name(layout: str, key: str) -> str:
    """The form field name of `key` in `layout` (what the browser posts)."""
    return _ALT_NAMES[key] if layout == "alternate" else key


def field_id(layout: str, key: str) -> str:
    """The element id of `key`'s input in `layout` (what its <label for> points at)."""
    if layout == "alternate":
        return f"f_{sorted(_ALT_NAMES).index(key) + 3}"
    return key


def ordered_fields(layout: str) -> list[FormField]:
    """The invoice form's fields in the order `layout` shows them."""
    return [FIELDS[key] for key in _ORDER[layout]]


def validate_invoice(values: dict[str, str], vendors: list[str]) -> dict[str, str]:
    """Error message per field key; empty when the invoice can be saved."""
    errors: dict[str, str] = {}
    for key, f in FIELDS.items():
        if key != "description" and not values.get(key, "").strip():
            errors[key] = f"{f.label} is required"
    if values.get("vendor") and values["vendor"] not in vendors:
        errors["vendor"] = "Unknown vendor"
    if values.get("amount") and not _is_amount(values["amount"]):
        errors["amount"] = "Amount must be a positive number with at most 2 decimals"
    if values.get("currency") and values["currency"] not in CURRENCIES:
        errors["currency"] = "Unknown currency"
    for key in ("issue_date", "due_date"):
        if values.get(key) and not _is_date(values[key]):
            errors[key] = f"{FIELDS[key].label} must be a date (YYYY-MM-DD)"
    return errors


def _is_amount(text: str) -> bool:
    # A plain pattern, not Decimal() alone: that would also take "1e3", "NaN" and "5.000".
    return bool(_AMOUNT.fullmatch(text)) and Decimal(text) > 0


def _is_date(text: str) -> bool:
    # The pattern first: Python's fromisoformat also takes "20261101" and week dates.
    if not _DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def iban_is_valid(iban: str) -> bool:
    """The ISO 13616 mod-97 check."""
    iban = re.sub(r"\s+", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    digits = "".join(str(int(c, 36)) for c in iban[4:] + iban[:4])
    return int(digits) % 97 == 1
