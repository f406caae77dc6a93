"""Near-duplicate invoice detection over a vector index.

An invoice is compared with the earlier ones two ways: by the meaning of its text (cosine of
embeddings, which catches a re-sent or re-scanned copy) and by its key fields (the same vendor,
number and total, which catches a copy in another layout). The result is plain data for the
policy input, so a policy can deny a duplicate:

    detector = DuplicateDetector(index, embedder)
    check = detector.check("inv-2", text, fields)
    action_context["duplicate"] = check.policy_input()   # {"of": "inv-1", "similarity": 0.98, ...}
    detector.remember("inv-2", text, fields)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from inference.embeddings import Embedder
from inference.index import VectorIndex
from inference.records import InferenceRecord, timed
from inference.schema import InvoiceFields
from inference.text import normalize

KEY_FIELDS = ("vendor_name", "invoice_number", "total", "iban")


class DuplicateCheck(BaseModel):
    """The most similar earlier document, how similar, and which key fields are equal."""

    model_config = ConfigDict(frozen=True)

    of: str | None
    similarity: float
    text_similarity: float
    same_fields: list[str]
    record: InferenceRecord

    def policy_input(self) -> dict[str, Any]:
        """What the policy sees: {"of": id | None, "similarity": 0..1, "same_fields": [...]}."""
        return {"of": self.of, "similarity": round(self.similarity, 4),
                "same_fields": self.same_fields}


class DuplicateDetector:
    """Finds the earlier invoice most like a new one."""

    def __init__(self, index: VectorIndex, embedder: Embedder, *, head_chars: int = 2000):
        self.index, self.embedder, self.head_chars = index, embedder, head_chars

    def check(self, doc_id: str, text: str, fields: InvoiceFields) -> DuplicateCheck:
        """Compare `text` and `fields` with every remembered invoice except `doc_id` itself."""
        with timed() as clock:
            vector = self.embedder.embed(self._head(text))
            hits = [h for h in self.index.search(vector, k=5, filter={"kind": "invoice"})
                    if h.id != doc_id]
            if fields.invoice_number:
                hits += [h for h in self.index.search(vector, k=3, filter={
                    "kind": "invoice", "invoice_number": fields.invoice_number}) if h.id != doc_id]
            best: tuple[float, float, list[str], str | None] = (0.0, 0.0, [], None)
            for hit in hits:
                same = [k for k in KEY_FIELDS if _norm(getattr(fields, k)) and _norm(
                    getattr(fields, k)) == _norm(hit.metadata.get(k))]
                score = max(hit.score, _field_score(same))
                if score > best[0]:
                    best = (score, hit.score, same, hit.id)
        score, text_score, same, of = best
        score = min(1.0, max(0.0, score))  # float32 cosine can land a hair outside [0, 1]
        output = {"of": of, "similarity": round(score, 4), "same_fields": same}
        record = self.embedder.record("duplicate", text, output, score, clock.ms)
        return DuplicateCheck(of=of, similarity=score, text_similarity=text_score,
                              same_fields=same, record=record)

    def remember(self, doc_id: str, text: str, fields: InvoiceFields) -> None:
        """Add an invoice to the index so later ones are compared with it."""
        metadata = {"kind": "invoice", **{k: getattr(fields, k) for k in KEY_FIELDS
                                          if getattr(fields, k) is not None}}
        self.index.add(doc_id, self.embedder.embed(self._head(text)), metadata)

    def _head(self, text: str) -> str:
        return normalize(text).text[: self.head_chars]


def _norm(value: object) -> str:
    return " ".join(str(value).lower().split()) if value is not None else ""


def _field_score(same: list[str]) -> float:
    if {"vendor_name", "invoice_number", "total"} <= set(same):
        return 1.0
    if {"invoice_number", "total"} <= set(same) or {"invoice_number", "iban"} <= set(same):
        return 0.95
    return 0.0
