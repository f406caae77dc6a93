"""One contract for every VectorIndex adapter: the embedded one always, Weaviate when
WEAVIATE_URL names a server. Plus near-duplicate invoice detection."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bench.corpus.generate import generate_corpus
from inference.duplicates import DuplicateDetector
from inference.errors import VectorIndexError
from inference.extractor import InvoiceExtractor
from inference.index import EmbeddedIndex, VectorIndex, WeaviateIndex
from tests.inference_models import embedder

WEAVIATE_URL = os.environ.get("WEAVIATE_URL")


@pytest.fixture(params=["embedded", "weaviate"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorIndex]:
    if request.param == "embedded":
        index = EmbeddedIndex(tmp_path / "vectors.db", embedder=embedder("nf4"))
        yield index
        index.close()
        return
    if not WEAVIATE_URL:
        pytest.skip("set WEAVIATE_URL (e.g. http://127.0.0.1:8080) to run the contract "
                    "against Weaviate")
    index = WeaviateIndex(WEAVIATE_URL, f"ProctorTest{uuid.uuid4().hex[:8]}",
                          embedder=embedder("nf4"))
    yield index
    index.drop()
    index.close()


def unit(*values: float) -> list[float]:
    return list(np.array(values) / np.linalg.norm(values))


def test_add_search_count_delete(index: VectorIndex) -> None:
    assert isinstance(index, VectorIndex)
    index.add("a", unit(1, 0, 0), {"type": "invoice"})
    index.add("b", unit(0.9, 0.1, 0), {"type": "receipt"})
    index.add("c", unit(0, 0, 1), {"type": "invoice"})
    assert index.count() == 3
    hits = index.search(unit(1, 0, 0), k=2)
    assert [h.id for h in hits] == ["a", "b"]
    assert hits[0].score == pytest.approx(1.0, abs=1e-4) and hits[0].metadata == {
        "type": "invoice"}
    assert [h.id for h in index.search(unit(1, 0, 0), k=5, filter={"type": "invoice"})] == [
        "a", "c"]
    assert index.search(unit(1, 0, 0), k=5, filter={"type": "contract"}) == []
    assert index.delete("a") is True and index.delete("a") is False
    assert index.count() == 2 and index.search(unit(1, 0, 0), k=1)[0].id == "b"


def test_add_replaces_the_same_id(index: VectorIndex) -> None:
    index.add("a", unit(1, 0, 0), {"v": 1})
    index.add("a", unit(0, 1, 0), {"v": 2})
    assert index.count() == 1
    hit = index.search(unit(0, 1, 0), k=1)[0]
    assert (hit.id, hit.metadata) == ("a", {"v": 2}) and hit.score == pytest.approx(1, abs=1e-4)


def test_text_is_embedded_and_found_by_meaning(index: VectorIndex) -> None:
    index.add("pay", "Invoice for consulting services, total due EUR 1,250.00")
    index.add("cat", "The cat sat on the mat in the afternoon sun")
    assert index.search("bill for advisory work, amount payable", k=1)[0].id == "pay"


def test_bad_input_is_refused_by_name(index: VectorIndex) -> None:
    index.add("a", unit(1, 0, 0))
    with pytest.raises(VectorIndexError, match="index holds 3"):
        index.add("b", unit(1, 0))
    with pytest.raises(VectorIndexError, match="zero vector"):
        index.add("b", [0.0, 0.0, 0.0])
    with pytest.raises(VectorIndexError, match="non-empty and finite"):
        index.add("b", [float("nan"), 0.0, 1.0])
    with pytest.raises(VectorIndexError, match="id must be"):
        index.add("", unit(1, 0, 0))
    with pytest.raises(VectorIndexError, match="metadata 'x'"):
        index.add("b", unit(1, 0, 0), {"x": [1, 2]})  # type: ignore[dict-item]


def test_the_embedded_index_survives_a_restart(tmp_path: Path) -> None:
    first = EmbeddedIndex(tmp_path / "v.db")
    first.add("a", unit(1, 0), {"type": "invoice"})
    first.add("b", unit(0, 1))
    first.delete("b")
    first.close()
    again = EmbeddedIndex(tmp_path / "v.db")
    assert again.count() == 1 and again.search(unit(1, 0), k=1)[0].metadata == {
        "type": "invoice"}
    with pytest.raises(VectorIndexError, match="no embedder"):
        again.add("t", "text needs an embedder")


def test_weaviate_errors_are_translated() -> None:
    with pytest.raises(VectorIndexError, match="must look like http://host:8080"):
        WeaviateIndex("not a url")


def test_a_resent_invoice_is_found_as_a_near_duplicate(tmp_path: Path) -> None:
    docs = [d for d in generate_corpus(60, seed=5, noise=0.0, hostile=0.0)
            if d.doc_type == "invoice"][:8]
    extractor = InvoiceExtractor()
    detector = DuplicateDetector(EmbeddedIndex(tmp_path / "dup.db"), embedder("nf4"))
    for doc in docs[:-1]:
        fields = extractor.extract(doc.text).values()
        assert detector.check(doc.id, doc.text, fields).similarity < 0.95
        detector.remember(doc.id, doc.text, fields)
    original = docs[2]
    rescanned = original.text.replace("\n\n", "\n").replace(":", " :")  # another scan of it
    fields = extractor.extract(rescanned).values()
    check = detector.check("copy", rescanned, fields)
    assert check.of == original.id and check.similarity >= 0.95
    assert {"invoice_number", "total"} <= set(check.same_fields)
    assert check.policy_input() == {"of": original.id, "similarity": round(check.similarity, 4),
                                    "same_fields": check.same_fields}
    fresh = docs[-1]
    check = detector.check(fresh.id, fresh.text, extractor.extract(fresh.text).values())
    assert check.similarity < 0.95 and check.same_fields == []
