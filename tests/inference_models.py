"""Models shared by the inference tests: loaded once per test process (loading costs seconds).

The real all-MiniLM-L6-v2 from its PyPI package, in NF4 4-bit and in full precision.
"""

from __future__ import annotations

import functools

from inference.embeddings import Embedder
from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry


@functools.cache
def registry() -> ModelRegistry:
    return ModelRegistry.with_defaults(device="cpu")


@functools.cache
def embedder(quantization: str = "nf4") -> Embedder:
    return Embedder(registry().load(DEFAULT_EMBEDDING_MODEL, quantization=quantization))
