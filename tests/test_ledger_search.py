"""Semantic search over the ledger for auditors, with the real local embedding model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from governance.review.app import serving
from governance.review.search import LedgerSearch
from inference import EmbeddedIndex
from proctor.composition import Governance, build
from proctor.settings import Settings
from tests.conftest import ROOT, add_people
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


def test_the_api_and_the_cli_search_the_same_way(settings: Settings, tmp_path: Path) -> None:
    """`GET /api/audit/search` (auditors and administrators) and `proctor audit search` share
    one LedgerSearch: the same index file, the same model, the same answers."""
    settings = settings.model_copy(update={"documents_dir": tmp_path / "documents"})
    governance = build(settings, resume_runs=False)
    add_people(governance)
    governance.writer.append("approval.rejected", actor="carol",
                             action_kind="acme.change_bank_account",
                             payload={"comment": "the new IBAN was not confirmed by phone"})
    governance.writer.append("access.login", actor="bob", payload={"via": "web"})
    question = "who turned down a change of bank account?"
    with serving(governance, sweep=False) as url:
        def ask(who: str, **query: Any) -> httpx.Response:
            token = governance.identity.create_token(who)
            return httpx.get(f"{url}/api/audit/search", params={"q": question, **query},
                             headers={"Authorization": f"Bearer {token}"}, timeout=120)

        answer = ask("dora", limit=2)
        assert answer.status_code == 200, answer.text
        hits = answer.json()
        assert len(hits) == 2 and hits[0]["score"] >= hits[1]["score"]
        assert hits[0]["entry"]["kind"] == "approval.rejected"
        assert hits[0]["entry"]["actor"] == "carol"
        assert ask("adam").status_code == 200
        assert ask("bob").status_code == 403  # approvers do not read the ledger
        assert ask("dora", q=" ").status_code == 422
        assert ask("dora", limit=0).status_code == 422
    env = {**os.environ, "PROCTOR_LEDGER_URL": settings.ledger.url,
           "PROCTOR_LEDGER_REDACTION_KEY": str(settings.ledger.redaction_key),
           "PROCTOR_LEDGER_SIGNING_KEY": str(settings.ledger.signing_key),
           "PROCTOR_DOCUMENTS_DIR": str(settings.documents_dir), "HF_HUB_OFFLINE": "1"}
    found = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "search",
                            question, "-k", "2"], capture_output=True, text=True, env=env,
                           cwd=ROOT)
    assert found.returncode == 0, found.stderr
    best = found.stdout.splitlines()[0].split()
    assert best[1] == f"#{hits[0]['entry']['seq']}" and best[2:4] == ["approval.rejected",
                                                                     "carol"]
    empty = subprocess.run([sys.executable, "-m", "proctor.cli", "audit", "search", " "],
                           capture_output=True, text=True, env=env, cwd=ROOT)
    assert empty.returncode == 2 and "empty" in empty.stderr
