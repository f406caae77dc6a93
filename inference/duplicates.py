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


class SimilarDocument(BaseModel):
    """An earlier document like this one, as remembered in the index (for reviewers)."""

    model_config = ConfigDict(frozen=True)

    id: str
    similarity: float
    metadata: dict[str, Any]


class DuplicateCheck(BaseModel):
    """The most similar earlier document, how similar, which key fields are equal, and the
    few most similar earlier documents by text (best first)."""

    model_config = ConfigDict(frozen=True)

    of: str | None
    similarity: float
    text_similarity: float
    same_fields: list[str]
    record: InferenceRecord
    similar: list[SimilarDocument] = []

    def policy_input(self) -> dict[str, Any]:
        """What the policy sees: {"of": id | None, "similarity": 0..1, "same_fields": [...]}."""
        return {"of": self.of, "similarity": round(self.similarity, 4),
                "same_fields": self.same_fields}


class DuplicateDetector:
    """Finds the earlier invoice most like a new one."""

    def __init__(self, index: VectorIndex, embedder: Embedder, *, head_chars: int = 2000,
                 similar: int = 3):
        self.index, self.embedder, self.head_chars = index, embedder, head_chars
        self.similar = similar

    def check(self, doc_id: str, text: str, fields: InvoiceFields) -> DuplicateCheck:
        """Compare `text` and `fields` with every remembered invoice except `doc_id` itself."""
        with timed() as clock:
            vector = self.embedder.embed(self._head(text))
            hits = [h for h in self.index.search(vector, k=5, filter={"kind": "invoice"})
                    if h.id != doc_id]
            similar = [SimilarDocument(id=h.id, similarity=round(min(1.0, max(0.0, h.score)), 4),
                               metadata=h.metadata) for h in hits[:self.similar]]
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
        output = {"of": of, "similarity": round(score, 4), "same_fields": same,
                  "similar": {s.id: s.similarity for s in similar}}
        record = self.embedder.record("duplicate", text, output, score, clock.ms)
        return DuplicateCheck(of=of, similarity=score, text_similarity=text_score,
                              same_fields=same, record=record, similar=similar)

    def remember(self, doc_id: str, text: str, fields: InvoiceFields, *,
                 name: str = "") -> InferenceRecord:
        """Add an invoice (`name`: its file) to the index so later ones are compared with it;
        the record of embedding it."""
        metadata = {"kind": "invoice", **({"file": name} if name else {}),
                    **{k: getattr(fields, k) for k in KEY_FIELDS if getattr(fields, k) is not None}}
        with timed() as clock:
            self.index.add(doc_id, self.embedder.embed(self._head(text)), metadata)
        output = {"indexed": doc_id, "kind": "invoice", "dimension": self.embedder.dimension}
        return self.embedder.record("index", text, output, None, clock.ms)

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
