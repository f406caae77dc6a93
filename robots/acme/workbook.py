"""Invoice rows the RPA way: read from an Excel workbook with rpaframework's `RPA.Excel.Files`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

COLUMNS = (
    "invoice_number", "vendor", "vendor_iban", "amount", "currency",
    "issue_date", "due_date", "description",
)


class WorkbookError(ValueError):
    """The workbook cannot be used as it is; the message names the row and column."""


class InvoiceRow(BaseModel):
    """One invoice to enter, as the business handed it over."""

    model_config = ConfigDict(frozen=True)

    row: int = Field(description="row number in the sheet, for messages")
    invoice_number: str = Field(min_length=1)
    vendor: str = Field(min_length=1)
    vendor_iban: str = ""
    amount: str = Field(description="exact decimal with two places, e.g. '1250.00'")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    issue_date: str
    due_date: str
    description: str = ""

    @field_validator("invoice_number", "vendor", "description", mode="before")
    @classmethod
    def _text(cls, value: Any) -> str:
        return "" if value is None else str(value).strip()

    @field_validator("vendor_iban", mode="before")
    @classmethod
    def _iban(cls, value: Any) -> str:
        return re.sub(r"\s+", "", str(value or "")).upper()

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> str:
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise ValueError(f"not a number: {value!r}") from None
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"more than two decimal places: {value!r}")
        return f"{amount:.2f}"

    @field_validator("issue_date", "due_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> str:
        if isinstance(value, date):
            return value.isoformat()[:10]
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError(f"not a date in YYYY-MM-DD form: {value!r}") from None


def read_invoices(path: Path, sheet: str | None = None) -> list[InvoiceRow]:
    """All invoice rows of the workbook; raises `WorkbookError` naming the first bad cell."""
    from RPA.Excel.Files import Files

    if not Path(path).is_file():
        raise WorkbookError(f"workbook {path} does not exist")
    excel = Files()
    excel.open_workbook(str(path))
    try:
        table = excel.read_worksheet(name=sheet, header=True)
    finally:
        excel.close_workbook()
    if not table:
        raise WorkbookError(f"workbook {path} has no invoice rows")
    missing = [c for c in COLUMNS[:6] if c not in table[0]]
    if missing:
        raise WorkbookError(f"workbook {path} lacks the column(s) {', '.join(missing)}")
    return [_row(path, index + 2, cells) for index, cells in enumerate(table)]


RESULT_COLUMNS = ("row", "invoice_number", "vendor", "status", "steps")


def write_results(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A results workbook the business can read: one line per input row with its outcome and
    every step (RPA.Excel.Files, sheet "Results"). `rows` are `TransactionResult.summary()`s."""
    from RPA.Excel.Files import Files
    from RPA.Tables import Tables

    table = Tables().create_table([{
        "row": r["row"], "invoice_number": r["invoice_number"], "vendor": r["vendor"],
        "status": r["status"], "steps": " | ".join(r["steps"])} for r in rows],
        columns=list(RESULT_COLUMNS))
    excel = Files()
    excel.create_workbook(str(path), fmt="xlsx", sheet_name="Results")
    try:
        excel.append_rows_to_worksheet(table, header=True)
        excel.save_workbook()
    finally:
        excel.close_workbook()
    return path


def _row(path: Path, number: int, cells: dict[str, Any]) -> InvoiceRow:
    values = {name: cells.get(name) for name in COLUMNS}
    try:
        return InvoiceRow(row=number, **{k: v for k, v in values.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        column = ".".join(str(p) for p in first["loc"])
        raise WorkbookError(f"{path.name} row {number}, column {column}: {first['msg']}") from exc
