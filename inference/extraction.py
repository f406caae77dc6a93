"""What the invoice extractor returns and learns: `ExtractedField` (one field's value, how
sure, and the source line it was read from), `Extraction` (all fields of one invoice, with
checks, warnings and the record), and `FieldExample` (a labeled context a reviewer's
correction taught).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from inference.records import InferenceRecord
from inference.schema import InvoiceFields

REQUIRED = ("vendor_name", "invoice_number", "issue_date", "currency", "total", "iban")

LearnedField = Literal["net", "tax", "total", "issue_date", "due_date", "invoice_number",
                      "po_number"]
LEARNED_FIELDS: tuple[LearnedField, ...] = ("net", "tax", "total", "issue_date", "due_date",
                                            "invoice_number", "po_number")


class FieldExample(BaseModel):
    """A labeled context a reviewer's correction taught: for amounts and dates, the value's
    context as `Window.text()` phrases it ("total owing: eur [value]"); for identifiers, the
    words before the value, used as a keyword."""

    model_config = ConfigDict(frozen=True)

    field: LearnedField
    context: str = Field(min_length=1, max_length=300)
    source: str = "reviewer"


class ExtractedField(BaseModel):
    """One extracted field: its value, how sure, and the source line it was read from."""

    model_config = ConfigDict(frozen=True)

    value: str | None
    confidence: float
    source_line: str = ""
    note: str = ""


class Extraction(BaseModel):
    """All fields of one invoice, the checks made, warnings for the reviewer, and the record."""

    model_config = ConfigDict(frozen=True)

    fields: dict[str, ExtractedField]
    checks: list[str]
    warnings: list[str]
    text: str
    record: InferenceRecord

    def values(self) -> InvoiceFields:
        """The values as a validated `InvoiceFields`."""
        return InvoiceFields(**{k: f.value for k, f in self.fields.items()})

    def needs_review(self, thresholds: Mapping[str, float] | None = None,
                     default: float = 0.8, required: tuple[str, ...] = REQUIRED) -> list[str]:
        """Fields a person must confirm: found with a confidence below their threshold, or
        required and not found. An optional field the document lacks (no PO) is no reason."""
        thresholds = thresholds or {}
        return [name for name, f in self.fields.items()
                if (f.value is not None and f.confidence < thresholds.get(name, default))
                or (f.value is None and name in required)]
