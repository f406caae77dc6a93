"""One vector index interface, two adapters: `EmbeddedIndex` (no server; SQLite file + numpy)
and `WeaviateIndex` (weaviate-client v4).

    index = EmbeddedIndex(Path(".proctor/vectors.db"), embedder=embedder)
    index.add("inv-4711", "Invoice 4711 from Globex ...", {"type": "invoice"})
    index.search("Globex invoice", k=3, filter={"type": "invoice"})   # [Hit(id, score, ...)]

Items are a vector or a text (embedded with the index's embedder). Scores are cosine
similarities in [-1, 1]; filters match metadata values exactly (all given keys must match).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict

from inference.errors import VectorIndexError

Item = str | Sequence[float] | np.ndarray
Metadata = Mapping[str, str | int | float | bool]


class Hit(BaseModel):
    """One search result."""

    model_config = ConfigDict(frozen=True)

    id: str
    score: float
    metadata: dict[str, Any]


@runtime_checkable
class VectorIndex(Protocol):
    """What every vector index adapter offers."""

    def add(self, id: str, item: Item, metadata: Metadata | None = None) -> None:
        """Insert or replace `id`."""

    def search(self, query: Item, k: int = 5, filter: Metadata | None = None) -> list[Hit]:
        """The `k` most similar items whose metadata match `filter`, best first."""

    def delete(self, id: str) -> bool:
        """Remove `id`; False when it was not there."""

    def count(self) -> int:
        """How many items the index holds."""


def as_vector(item: Item, embedder: Any, dimension: int | None) -> np.ndarray:
    """A unit float32 vector for `item`, embedding text with `embedder`."""
    if isinstance(item, str):
        if embedder is None:
            raise VectorIndexError("this index has no embedder: pass a vector, or build the "
                                   "index with embedder=...")
        vector = np.asarray(embedder.embed(item), dtype=np.float32)
    else:
        vector = np.asarray(item, dtype=np.float32).reshape(-1)
    if vector.size == 0 or not np.isfinite(vector).all():
        raise VectorIndexError("a vector must be non-empty and finite")
    if dimension is not None and vector.size != dimension:
        raise VectorIndexError(f"vector has {vector.size} dimensions, the index holds "
                               f"{dimension}")
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise VectorIndexError("a zero vector has no direction to compare")
    return vector / norm


def check_id(id: str) -> str:
    if not isinstance(id, str) or not id or len(id) > 256:
        raise VectorIndexError(f"an id must be a non-empty string of at most 256 characters, "
                               f"got {id!r}")
    return id


def check_metadata(metadata: Metadata | None) -> dict[str, Any]:
    out = dict(metadata or {})
    for key, value in out.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise VectorIndexError(f"metadata {key!r} must map a string to a string, number "
                                   f"or boolean, got {type(value).__name__}")
    return out


def matches(metadata: Mapping[str, Any], filter: Metadata | None) -> bool:
    return all(metadata.get(k) == v for k, v in (filter or {}).items())


from inference.index.embedded import EmbeddedIndex  # noqa: E402
from inference.index.weaviate import WeaviateIndex  # noqa: E402

__all__ = ["EmbeddedIndex", "Hit", "VectorIndex", "WeaviateIndex", "as_vector"]
