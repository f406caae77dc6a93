"""Acme Payables' own SQLite database, and read helpers tests use to inspect the app's state."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_USERNAME = "clerk"
DEFAULT_PASSWORD = "acme-clerk-pw"
SEED_VENDORS = (
    ("Globex Corporation", "DE89370400440532013000"),
    ("Initech GmbH", "DE02120300000000202051"),
    ("Umbrella Supplies Ltd", "GB29NWBK60161331926819"),
    ("Stark Industrial AG", "CH9300762011623852957"),
    ("Wayne Logistics", "FR1420041010050500013M02606"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
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
_INVOICES = ("SELECT i.*, v.name AS vendor FROM invoices i "
             "JOIN vendors v ON v.id = i.vendor_id")
_PBKDF2_ROUNDS = 20_000  # a demo app: enough to not store plain text, cheap enough for tests


def now() -> str:
    """The current UTC time as stored in the *_at columns."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that commits when the block succeeds and is closed afterwards."""
    conn = sqlite3.connect(path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def init_db(path: Path, *, seed: bool = True, username: str = DEFAULT_USERNAME,
            password: str = DEFAULT_PASSWORD) -> None:
    """Create the tables (idempotent); with `seed`, add the clerk and the seed vendors."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        if seed:
            set_password(conn, username, password)
            conn.executemany("INSERT OR IGNORE INTO vendors (name, iban) VALUES (?, ?)",
                             SEED_VENDORS)


def reset_db(path: Path) -> None:
    """Delete every invoice, bank-account change and vendor, and seed the vendors again.

    Users stay, so an app running with other credentials still lets its clerk log in.
    """
    init_db(path, seed=False)
    with connect(path) as conn:
        conn.executescript("DELETE FROM invoices; DELETE FROM bank_account_changes; "
                           "DELETE FROM vendors;")
    init_db(path)


def set_password(conn: sqlite3.Connection, username: str, password: str) -> None:
    """Create the user, or give it this password."""
    salt = secrets.token_hex(16)
    conn.execute("INSERT INTO users (username, password_hash) VALUES (?, ?) "
                 "ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
                 (username, f"{salt}${_hash(password, salt)}"))


def check_password(path: Path, username: str, password: str) -> bool:
    """Whether `username` exists and `password` is its password."""
    with connect(path) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE username = ?",
                           (username,)).fetchone()
    if row is None:
        return False
    salt, expected = row["password_hash"].split("$", 1)
    return hmac.compare_digest(_hash(password, salt), expected)


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(),
                               _PBKDF2_ROUNDS).hex()


def list_vendors(path: Path) -> list[dict[str, Any]]:
    """Every vendor as {id, name, iban}, by name."""
    with connect(path) as conn:
        rows = conn.execute("SELECT id, name, iban FROM vendors ORDER BY name").fetchall()
    return [dict(r) for r in rows]


def get_vendor(path: Path, vendor_id: int) -> dict[str, Any] | None:
    """One vendor as {id, name, iban}, or None."""
    with connect(path) as conn:
        row = conn.execute("SELECT id, name, iban FROM vendors WHERE id = ?",
                           (vendor_id,)).fetchone()
    return dict(row) if row else None


def list_invoices(path: Path, query: str = "") -> list[dict[str, Any]]:
    """Invoices whose number or vendor name contains `query` (all when empty), oldest first.

    Each has the invoice's columns, `vendor` (the vendor's name) and `amount` (a string with
    two decimals, e.g. "1250.00").
    """
    # Escape LIKE's wildcards: a clerk searching "INV_1" means the underscore itself.
    like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with connect(path) as conn:
        rows = conn.execute(
            f"{_INVOICES} WHERE i.invoice_number LIKE ? ESCAPE '\\' "
            "OR v.name LIKE ? ESCAPE '\\' ORDER BY i.id", (like, like)).fetchall()
    return [_invoice(r) for r in rows]


def get_invoice(path: Path, invoice_id: int) -> dict[str, Any] | None:
    """One invoice shaped like those of `list_invoices`, or None."""
    with connect(path) as conn:
        row = conn.execute(f"{_INVOICES} WHERE i.id = ?", (invoice_id,)).fetchone()
    return _invoice(row) if row else None


def _invoice(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "amount": f"{Decimal(row['amount_cents']) / 100:.2f}"}
