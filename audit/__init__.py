"""The ledger: an append-only, hash-chained record of everything Proctor proposes and does."""

from audit.chain import GENESIS_HASH, Verification, canonical_json
from audit.checkpoints import Checkpoint, Checkpoints
from audit.entries import LedgerEntry
from audit.errors import LedgerCorrupted, LedgerError, LedgerWriteError
from audit.export import export_ledger, verify_export
from audit.ledger import ActionFilter, Event, LedgerReader, LedgerWriter
from audit.store import ensure_tables, open_engine

__all__ = [
    "GENESIS_HASH",
    "ActionFilter",
    "Checkpoint",
    "Checkpoints",
    "Event",
    "LedgerCorrupted",
    "LedgerEntry",
    "LedgerError",
    "LedgerReader",
    "LedgerWriteError",
    "LedgerWriter",
    "Verification",
    "canonical_json",
    "ensure_tables",
    "export_ledger",
    "open_engine",
    "verify_export",
]
