"""The ledger: an append-only, hash-chained record of everything Proctor proposes and does."""

from audit.chain import GENESIS_HASH, Verification, canonical_json
from audit.entries import LedgerEntry
from audit.errors import LedgerCorrupted, LedgerError, LedgerWriteError
from audit.ledger import LedgerReader, LedgerWriter
from audit.store import open_engine

__all__ = [
    "GENESIS_HASH",
    "LedgerCorrupted",
    "LedgerEntry",
    "LedgerError",
    "LedgerReader",
    "LedgerWriteError",
    "LedgerWriter",
    "Verification",
    "canonical_json",
    "open_engine",
]
