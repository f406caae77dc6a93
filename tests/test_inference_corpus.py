"""The generated evaluation corpus: big and varied enough to measure on, deterministic, and with
ground truth that matches the text it was written into."""

from __future__ import annotations

import unicodedata
from collections import Counter

from bench.corpus.generate import INVOICE_LAYOUTS, LANGUAGES, generate_corpus, labeled_examples
from inference.classifier import DocumentClassifier
from inference.schema import DOCUMENT_TYPES
from inference.text import normalize
from robots.inbox.models import SEED_EXAMPLES

CORPUS = generate_corpus(300, seed=42)


def test_the_default_corpus_covers_types_languages_layouts_and_noise() -> None:
    assert len(CORPUS) >= 300 and len({d.id for d in CORPUS}) == len(CORPUS)
    types = Counter(d.doc_type for d in CORPUS)
    assert set(types) == set(DOCUMENT_TYPES) and min(types.values()) >= 20
    assert set(Counter(d.language for d in CORPUS)) == set(LANGUAGES)
    invoices = [d for d in CORPUS if d.doc_type == "invoice"]
    assert {d.layout for d in invoices} == set(INVOICE_LAYOUTS)
    assert {(d.language, d.layout) for d in invoices} >= {(lang, "header") for lang in LANGUAGES}
    noise = Counter(d.noise for d in CORPUS)
    assert set(noise) == {"clean", "light", "heavy"} and noise["clean"] < len(CORPUS) * 0.8


def test_the_same_seed_gives_the_same_documents_and_another_seed_others() -> None:
    again = generate_corpus(300, seed=42)
    assert [(d.id, d.text, d.fields) for d in again] == [(d.id, d.text, d.fields) for d in CORPUS]
    other = generate_corpus(300, seed=43)
    assert sum(a.text == b.text for a, b in zip(CORPUS, other, strict=True)) == 0


def test_every_kind_of_hostile_invoice_is_generated_and_hides_its_damage() -> None:
    docs = generate_corpus(400, seed=9, hostile=0.5, noise=0.0)
    hostile = [d for d in docs if d.hostile]
    assert {d.hostile for d in hostile} == {"injection", "zero-width", "tags",
                                            "variation-selectors"}
    for doc in hostile:
        assert doc.doc_type == "invoice"
        invisible = [c for c in doc.text if unicodedata.category(c) in ("Cf", "Mn")
                     and c not in "\u0300\u0301\u0308"]  # combining accents are visible text
        if doc.hostile == "injection":
            assert not invisible
        else:
            assert invisible, doc.hostile
            assert normalize(doc.text).removed  # normalization finds and reports it


def test_clean_invoices_carry_their_ground_truth_in_the_text() -> None:
    clean = [d for d in generate_corpus(120, seed=4, noise=0.0, hostile=0.0)
             if d.doc_type == "invoice"]
    assert clean
    for doc in clean:
        assert doc.fields["invoice_number"] and doc.fields["invoice_number"] in doc.text
        assert doc.fields["total"] and doc.fields["currency"]
        iban = doc.fields.get("iban")
        if iban:
            assert iban in doc.text.replace(" ", "")


def test_labeled_examples_are_balanced_and_apart_from_the_corpus() -> None:
    examples = labeled_examples(per_type=10, seed=1042)
    assert Counter(label for _, label in examples) == {k: 10 for k in DOCUMENT_TYPES}
    assert not {text for text, _ in examples} & {d.text for d in CORPUS}


REGENERATE_SEEDS = (
    ".venv/bin/python -c \"import json, pathlib; from bench.corpus.generate import "
    "labeled_examples; pathlib.Path('robots/document_seed_examples.json').write_text("
    "json.dumps([{'text': t, 'label': l, 'source': 'seed'} for t, l in "
    "labeled_examples(per_type=10)], ensure_ascii=False, indent=0))\"")


def test_the_shipped_seed_examples_are_the_generators_own() -> None:
    """The document robot ships its seed examples as a file (so the product does not import
    the benchmark corpus); that file is `labeled_examples(per_type=10)` with the default seed.
    When the generator changes, regenerate it from the repository root with REGENERATE_SEEDS."""
    shipped = [(e.text, e.label, e.source) for e in DocumentClassifier.load_examples(SEED_EXAMPLES)]
    fresh = [(text, label, "seed") for text, label in labeled_examples(per_type=10)]
    assert shipped == fresh, f"{SEED_EXAMPLES} is stale; regenerate it:\n{REGENERATE_SEEDS}"
