"""The shared vocabulary of results: document types and the invoice fields every extractor
(pattern-based or generative) produces, with the validation each value must pass."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from inference.patterns import iban_valid, vat_valid

DocumentType = Literal["invoice", "receipt", "credit_note", "purchase_order", "contract", "other"]
DOCUMENT_TYPES: tuple[DocumentType, ...] = (
    "invoice", "receipt", "credit_note", "purchase_order", "contract", "other")
FIELD_NAMES = ("vendor_name", "vat_id", "iban", "invoice_number", "issue_date", "due_date",
               "currency", "net", "tax", "total", "po_number")
MONEY = r"^-?\d{1,12}\.\d{2}$"


class InvoiceFields(BaseModel):
    """An invoice's fields in canonical form; None where the document does not say.

    Amounts are exact decimal strings with two places ("1234.56"), dates ISO ("2026-03-01"),
    IBAN and VAT id without spaces and valid, currency an ISO 4217 code. Unknown keys and
    malformed values are errors: nothing is coerced into shape.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    vendor_name: str | None = Field(default=None, min_length=2, max_length=200)
    vat_id: str | None = Field(default=None, pattern=r"^[A-Z]{2}[A-Z0-9]{2,13}$")
    iban: str | None = Field(default=None, pattern=r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
    invoice_number: str | None = Field(default=None, min_length=1, max_length=40)
    issue_date: str | None = None
    due_date: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    net: str | None = Field(default=None, pattern=MONEY)
    tax: str | None = Field(default=None, pattern=MONEY)
    total: str | None = Field(default=None, pattern=MONEY)
    po_number: str | None = Field(default=None, min_length=1, max_length=40)

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        if value is not None and not iban_valid(value):
            raise ValueError(f"{value!r} fails the IBAN checksum or length")
        return value

    @field_validator("vat_id")
    @classmethod
    def _vat(cls, value: str | None) -> str | None:
        if value is not None and not vat_valid(value):
            raise ValueError(f"{value!r} is not a valid VAT id")
        return value

    @field_validator("issue_date", "due_date")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD)")
            date.fromisoformat(value)  # raises for 2026-02-30
        return value

    @field_validator("vendor_name", "invoice_number", "po_number")
    @classmethod
    def _visible(cls, value: str | None) -> str | None:
        if value is not None and (value != value.strip() or any(not c.isprintable()
                                                                 for c in value)):
            raise ValueError(f"{value!r} has surrounding spaces or invisible characters")
        return value

    def amounts(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """(net, tax, total) as decimals."""
        return tuple(Decimal(v) if v is not None else None  # type: ignore[return-value]
                     for v in (self.net, self.tax, self.total))
