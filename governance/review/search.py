"""Semantic search over the ledger for auditors: "which actions were about a changed bank
account?" finds them whatever words the entries used.

Entries are embedded once (the same local model as the documents) into a vector index of their
own; each search first adds the entries appended since the last one. The index
is a convenience, never evidence: every hit is read back from the ledger itself.

    search = LedgerSearch(reader, index, embedder)   # or governance.ledger_search()
    for hit in search.search("bank account changed", k=5): print(hit.entry.seq, hit.score)
"""

from __future__ import annotations

from dataclasses import dataclass

from audit import LedgerEntry, LedgerReader
from inference import Embedder, VectorIndex


@dataclass(frozen=True)
class LedgerHit:
    entry: LedgerEntry
    score: float


class LedgerSearch:
    """Embeds ledger entries into `index` and answers free-text questions over them."""

    def __init__(self, reader: LedgerReader, index: VectorIndex, embedder: Embedder, *,
                 batch: int = 256) -> None:
        self._reader, self._index, self._embedder, self._batch = reader, index, embedder, batch

    def refresh(self) -> int:
        """Add the entries appended since the last refresh; how many were added.

        The index holds ledger entries only, and the ledger numbers them 1, 2, 3 ... without a
        gap, so its size is the last entry it holds."""
        after = self._index.count()
        rows = list(self._reader.rows(after=after))
        for start in range(0, len(rows), self._batch):
            chunk = rows[start:start + self._batch]
            vectors = self._embedder.encode([_describe(r) for r in chunk])
            for row, vector in zip(chunk, vectors, strict=True):
                self._index.add(f"entry:{row['seq']}", vector, {"kind": "ledger-entry"})
        return len(rows)

    def search(self, text: str, k: int = 10) -> list[LedgerHit]:
        """The `k` entries closest in meaning to `text`, best first (read from the ledger)."""
        if not text.strip():
            raise ValueError("say what to look for: the search text is empty")
        self.refresh()
        hits = self._index.search(self._embedder.embed(text), k=k)
        found = []
        for hit in hits:  # read back from the ledger: the index is never the evidence
            seq = int(hit.id.removeprefix("entry:"))
            found += [LedgerHit(entry, hit.score) for entry in self._reader.query(seq=seq)]
        return found


def _describe(row: dict) -> str:
    """The words an entry is found by: what happened, to what, by whom, and its content."""
    what = " ".join(str(row.get(k) or "") for k in ("kind", "action_kind", "actor"))
    return f"{what} {row.get('payload', '')}"[:2000]
