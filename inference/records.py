"""What one model call leaves behind for the ledger.

Every inference returns an `InferenceRecord` beside its answer: the model and the exact weights
(revision), a SHA-256 of the input, the output, the confidence and the latency. The caller, who
owns the ledger, appends it; this package never writes the ledger itself.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# fit: examples embedded and a classifier (re)fitted; index: a document embedded into the index
Task = Literal["embed", "classify", "extract", "generate", "duplicate", "fit", "index"]


def sha256_text(text: str) -> str:
    """Hex SHA-256 of `text` encoded as UTF-8 (the input hash recorded for every inference)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class InferenceRecord(BaseModel):
    """One model call as the ledger records it.

        record.model_dump(mode="json")  # a JSON payload for a ledger entry
    """

    model_config = ConfigDict(frozen=True)

    task: Task
    model: str = Field(description="registered model name, e.g. 'all-MiniLM-L6-v2'")
    revision: str = Field(description="SHA-256 over the model's weight files")
    quantization: Literal["nf4", "none"]
    input_sha256: str
    output: dict[str, Any] = Field(description="the answer, as JSON values")
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_ms: float = Field(ge=0.0)


class Stopwatch:
    """Elapsed wall time of a block, in milliseconds (`with timed() as clock: ...; clock.ms`)."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self.ms = 0.0

    def stop(self) -> float:
        self.ms = (time.perf_counter() - self._started) * 1000
        return self.ms


@contextmanager
def timed() -> Iterator[Stopwatch]:
    """Time the enclosed block; read `.ms` afterwards."""
    clock = Stopwatch()
    try:
        yield clock
    finally:
        clock.stop()
