"""The embedded vector index: vectors in a local SQLite file (or in memory), searched with
numpy. No server. Every write is committed before it returns; the matrix is rebuilt from the
file on open, so the file is the truth. Exact search (a matrix product), which is fast enough
for hundreds of thousands of documents on one machine."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np

from inference.index import (
    Hit,
    Item,
    Metadata,
    as_vector,
    check_id,
    check_metadata,
    matches,
)


class EmbeddedIndex:
    """A `VectorIndex` in one SQLite file (`path=None`: in memory only)."""

    def __init__(self, path: Path | None = None, *, embedder: Any = None) -> None:
        self.embedder = embedder
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, "
                         "vector BLOB NOT NULL, metadata TEXT NOT NULL)")
        rows = self._db.execute("SELECT id, vector, metadata FROM vectors ORDER BY rowid")
        self._ids: list[str] = []
        self._meta: list[dict[str, Any]] = []
        vectors = []
        for id, blob, meta in rows:
            self._ids.append(id)
            vectors.append(np.frombuffer(blob, dtype=np.float32))
            self._meta.append(json.loads(meta))
        self._matrix = np.stack(vectors) if vectors else None

    @property
    def dimension(self) -> int | None:
        return None if self._matrix is None else int(self._matrix.shape[1])

    def add(self, id: str, item: Item, metadata: Metadata | None = None) -> None:
        vector, meta = as_vector(item, self.embedder, self.dimension), check_metadata(metadata)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                             (check_id(id), vector.tobytes(), json.dumps(meta)))
            if id in self._ids:
                row = self._ids.index(id)
                self._matrix[row] = vector  # type: ignore[index]
                self._meta[row] = meta
            else:
                self._ids.append(id)
                self._meta.append(meta)
                self._matrix = vector[None, :] if self._matrix is None else np.vstack(
                    [self._matrix, vector])

    def search(self, query: Item, k: int = 5, filter: Metadata | None = None) -> list[Hit]:
        if self._matrix is None or k <= 0:
            return []
        vector = as_vector(query, self.embedder, self.dimension)
        with self._lock:
            scores = self._matrix @ vector
            rows = [r for r in np.argsort(-scores, kind="stable")
                    if matches(self._meta[r], filter)][:k]
            return [Hit(id=self._ids[r], score=float(scores[r]), metadata=dict(self._meta[r]))
                    for r in rows]

    def delete(self, id: str) -> bool:
        with self._lock, self._db:
            if id not in self._ids:
                return False
            self._db.execute("DELETE FROM vectors WHERE id = ?", (id,))
            row = self._ids.index(id)
            del self._ids[row], self._meta[row]
            self._matrix = np.delete(self._matrix, row, axis=0) if self._ids else None
            return True

    def count(self) -> int:
        return len(self._ids)

    def close(self) -> None:
        self._db.close()
