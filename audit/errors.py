"""Errors raised by the ledger.

    LedgerError
    ├── LedgerWriteError   the entry was NOT durably recorded; the caller must not act
    └── LedgerCorrupted    verification found an entry that was altered, removed or reordered
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class for every ledger failure."""


class LedgerWriteError(LedgerError):
    """An append did not become durable (locked, read-only, disk full, ...).

    Nothing was recorded, so whatever the entry described must not happen.
    """


class LedgerCorrupted(LedgerError):
    """The hash chain does not verify."""
