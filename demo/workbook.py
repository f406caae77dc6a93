"""The demo workbook: ordinary invoices and the rows that make a reviewer's day."""

from __future__ import annotations

from pathlib import Path

from robots.acme.workbook import COLUMNS

DEMO_ROWS: list[tuple[str, ...]] = [
    # ordinary
    ("INV-1001", "Globex Corporation", "DE89370400440532013000", "1250.00", "EUR",
     "2026-11-02", "2026-12-02", "Office supplies"),
    ("INV-1002", "Initech GmbH", "DE02120300000000202051", "980.40", "EUR",
     "2026-11-03", "2026-12-03", "TPS report binders"),
    # over the approval limit: payment release waits for finance
    ("INV-1003", "Umbrella Supplies Ltd", "GB29NWBK60161331926819", "48500.00", "GBP",
     "2026-11-04", "2026-12-04", "Laboratory equipment"),
    # a vendor nobody approved
    ("INV-1004", "Hooli Holdings", "DE75512108001245126199", "300.00", "EUR",
     "2026-11-05", "2026-12-05", "Consulting"),
    # the same invoice number again, billed differently
    ("INV-1001", "Globex Corporation", "DE89370400440532013000", "1300.00", "EUR",
     "2026-11-06", "2026-12-06", "Office supplies (again)"),
    # the vendor's bank account 'changed': treasury must approve
    ("INV-1005", "Stark Industrial AG", "CH5604835012345678009", "7400.00", "CHF",
     "2026-11-07", "2026-12-07", "Turbine parts"),
    # ordinary
    ("INV-1006", "Wayne Logistics", "FR1420041010050500013M02606", "2200.00", "USD",
     "2026-11-08", "2026-12-08", "Freight"),
]


def write_workbook(path: Path, rows: list[tuple[str, ...]] | None = None) -> Path:
    """Write `rows` (the demo rows by default) to an .xlsx with RPA.Excel.Files."""
    from RPA.Excel.Files import Files

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    excel = Files()
    excel.create_workbook(str(path), fmt="xlsx", sheet_name="Invoices")
    excel.append_rows_to_worksheet(
        [dict(zip(COLUMNS, row, strict=True)) for row in (rows or DEMO_ROWS)], header=True
    )
    excel.save_workbook()
    excel.close_workbook()
    return path
