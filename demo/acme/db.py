"""Acme Payables' own SQLite database, and read helpers tests use to inspect the app's state."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

SEED_VENDORS = (
    ("Globex Corporation", "DE89370400440532013000"),
    ("Initech GmbH", "DE02120300000000202051"),
    ("Umbrella Supplies Ltd", "GB29NWBK60161331926819"),
    ("Stark Industrial AG", "CH9300762011623852957"),
    ("Wayne Logistics", "FR1420041010050500013M02606"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS vendors (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, iban TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY, vendor_id INTEGER NOT NULL REFERENCES vendors(id),
    invoice_number TEXT NOT NULL, amount_cents INTEGER NOT NULL, currency TEXT NOT NULL,
    issue_date TEXT NOT NULL, due_date TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'entered', created_at TEXT NOT NULL, released_at TEXT,
    UNIQUE (vendor_id, invoice_number));
CREATE TABLE IF NOT EXISTS bank_account_changes (
    id INTEGER PRIMARY KEY, vendor_id INTEGER NOT NULL REFERENCES vendors(id),
    old_iban TEXT NOT NULL, new_iban TEXT NOT NULL, changed_at TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def init_db(path: Path, *, seed: bool = True) -> None:
    """Create the tables (idempotent) and seed the vendors."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        if seed:
            conn.executemany("INSERT OR IGNORE INTO vendors (name, iban) VALUES (?, ?)",
                             SEED_VENDORS)


def reset_db(path: Path) -> None:
    """Delete every invoice and change, and put the seed vendors back as they were."""
    init_db(path, seed=False)
    with connect(path) as conn:
        conn.executescript("DELETE FROM invoices; DELETE FROM bank_account_changes; "
                           "DELETE FROM vendors;")
    init_db(path)


def list_vendors(path: Path) -> list[dict[str, Any]]:
    with connect(path) as conn:
        rows = conn.execute("SELECT id, name, iban FROM vendors ORDER BY name").fetchall()
    return [dict(r) for r in rows]


def list_invoices(path: Path, query: str = "") -> list[dict[str, Any]]:
    """Invoices with their vendor's name; `amount` as a string with two decimals."""
    like = f"%{query}%"
    with connect(path) as conn:
        rows = conn.execute(
            "SELECT i.*, v.name AS vendor FROM invoices i JOIN vendors v ON v.id = i.vendor_id "
            "WHERE i.invoice_number LIKE ? OR v.name LIKE ? ORDER BY i.id", (like, like),
        ).fetchall()
    return [{**dict(r), "amount": f"{Decimal(r['amount_cents']) / 100:.2f}"} for r in rows]


def get_invoice(path: Path, invoice_id: int) -> dict[str, Any] | None:
    found = [i for i in list_invoices(path) if i["id"] == invoice_id]
    return found[0] if found else None


def get_vendor(path: Path, vendor_id: int) -> dict[str, Any] | None:
    with connect(path) as conn:
        row = conn.execute("SELECT id, name, iban FROM vendors WHERE id = ?",
                           (vendor_id,)).fetchone()
    return dict(row) if row else None
