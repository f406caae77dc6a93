"""Semantic search over the ledger for auditors, with the real local embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from governance.composition import Governance
from governance.ledger_search import LedgerSearch
from inference import EmbeddedIndex
from tests.inference_models import embedder


def test_auditors_find_entries_by_meaning_and_new_entries_are_added(
        governance: Governance, tmp_path: Path) -> None:
    writer = governance.writer
    writer.append("approval.rejected", actor="carol", action_kind="acme.change_bank_account",
                  payload={"comment": "the vendor's new bank account was not confirmed by phone"})
    writer.append("action.succeeded", actor="robot:acme-payables",
                  action_kind="acme.create_invoice", payload={"invoice": "INV-1", "amount": "5"})
    writer.append("access.login", actor="bob", payload={"via": "web"})
    search = LedgerSearch(governance.reader, EmbeddedIndex(tmp_path / "ledger.db"), embedder())
    (best, *_) = search.search("who turned down a change of IBAN?", k=3)
    assert best.entry.kind == "approval.rejected" and best.entry.actor == "carol"
    assert search.refresh() == 0  # everything is indexed already
    writer.append("document.unreadable", actor="robot:document-inbox",
                  payload={"file": "scan.pdf", "problem": "EncryptedDocument"})
    (best, *_) = search.search("a password-protected PDF could not be opened", k=2)
    assert best.entry.kind == "document.unreadable"
    with pytest.raises(ValueError, match="empty"):
        search.search("  ")
