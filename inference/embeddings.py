"""Sentence embeddings: mean-pooled token states, L2-normalized (cosine = dot product).

    embedder = Embedder(registry.load("all-MiniLM-L6-v2"))
    vectors = embedder.encode(["Invoice 4711", "Rechnung 4711"])   # (2, 384) float32
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inference.records import InferenceRecord, sha256_text, timed
from inference.runtime import LoadedModel, ModelInfo


class Embedder:
    """Turns texts into unit vectors with an encoder model (e.g. all-MiniLM-L6-v2)."""

    def __init__(self, loaded: LoadedModel, *, max_length: int = 256, batch_size: int = 32):
        if loaded.info.kind != "encoder":
            raise ValueError(f"model {loaded.info.name!r} is a {loaded.info.kind}, "
                             "embeddings need an encoder")
        self._model = loaded.model
        self._tokenizer = loaded.tokenizer
        self.info: ModelInfo = loaded.info
        self.max_length = max_length
        self.batch_size = batch_size
        self.dimension = int(loaded.model.config.hidden_size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One normalized float32 row per text; texts longer than `max_length` tokens are cut."""
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of texts; use embed() for one text")
        rows = [self._batch(list(texts[i:i + self.batch_size]))
                for i in range(0, len(texts), self.batch_size)]
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.concatenate(rows)

    def embed(self, text: str) -> np.ndarray:
        """The normalized vector of one text."""
        return self.encode([text])[0]

    def embed_recorded(self, text: str) -> tuple[np.ndarray, InferenceRecord]:
        """The vector of `text` and the record of the call for the ledger."""
        with timed() as clock:
            vector = self.embed(text)
        return vector, self.record("embed", text, {"dimension": self.dimension}, None, clock.ms)

    def record(self, task: str, text: str, output: dict, confidence: float | None,
               latency_ms: float) -> InferenceRecord:
        """An `InferenceRecord` of a call to this model on `text`."""
        return InferenceRecord(task=task, model=self.info.name, revision=self.info.revision,
                               quantization=self.info.quantization, input_sha256=sha256_text(text),
                               output=output, confidence=confidence, latency_ms=latency_ms)

    def _batch(self, texts: list[str]) -> np.ndarray:
        import torch

        encoded = self._tokenizer(texts, padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt")
        device = next(self._model.parameters()).device
        encoded = {k: v.to(device) for k, v in encoded.items()}
        with torch.inference_mode():
            states = self._model(**encoded).last_hidden_state.float()
        mask = encoded["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.cpu().numpy().astype(np.float32)
