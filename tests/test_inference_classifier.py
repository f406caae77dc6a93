"""Document type classification with the real MiniLM, from few examples, calibrated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.corpus.generate import generate_corpus, labeled_examples
from inference.classifier import DocumentClassifier, Example, expected_calibration_error
from inference.errors import ClassifierError
from tests.inference_models import embedder

EXAMPLES = labeled_examples(6, seed=1000)
TEST = [d for d in generate_corpus(60, seed=11)]


@pytest.fixture(scope="module")
def classifier() -> DocumentClassifier:
    return DocumentClassifier(embedder("nf4"), EXAMPLES)


def test_few_examples_classify_unseen_documents_well(classifier: DocumentClassifier) -> None:
    results = classifier.classify_many([d.text for d in TEST])
    correct = [r.label == d.doc_type for r, d in zip(results, TEST, strict=True)]
    assert np.mean(correct) >= 0.8
    invoices = [r for r, d in zip(results, TEST, strict=True) if d.doc_type == "invoice"]
    assert np.mean([r.label == "invoice" for r in invoices]) >= 0.85


def test_confidence_is_calibrated_on_held_out_examples(classifier: DocumentClassifier) -> None:
    calibration = classifier.calibration
    assert calibration.calibrated and calibration.held_out == len(EXAMPLES)
    assert calibration.ece_after is not None and calibration.ece_before is not None
    assert calibration.ece_after < calibration.ece_before  # temperature scaling helped
    results = classifier.classify_many([d.text for d in TEST])
    confidence = np.array([r.confidence for r in results])
    correct = np.array([r.label == d.doc_type for r, d in zip(results, TEST, strict=True)])
    assert expected_calibration_error(confidence, correct.astype(float)) < 0.2
    assert confidence[correct].mean() > confidence[~correct].mean() if (~correct).any() else True


def test_result_carries_probabilities_and_a_ledger_record(classifier: DocumentClassifier) -> None:
    result = classifier.classify(TEST[0].text)
    assert set(result.probabilities) == {"invoice", "receipt", "credit_note", "purchase_order",
                                         "contract", "other"}
    assert abs(sum(result.probabilities.values()) - 1) < 1e-3
    assert result.record.task == "classify" and result.record.output["label"] == result.label
    assert result.record.confidence == result.confidence and result.record.quantization == "nf4"


def test_learn_turns_a_correction_into_an_example(tmp_path: Path) -> None:
    classifier = DocumentClassifier(embedder("nf4"), EXAMPLES)
    odd = ("ACME Storage — Statement of account, period 2026-03. Opening balance 0.00, "
           "closing balance 0.00. No action needed.")
    before = classifier.classify(odd)
    for _ in range(3):
        classifier.learn(odd + f" ref {_}", "other")
    after = classifier.classify(odd)
    assert after.label == "other" and after.probabilities["other"] > before.probabilities[
        "other"]
    assert [e.source for e in classifier.examples].count("reviewer") == 3
    classifier.save_examples(tmp_path / "examples.json")
    assert len(DocumentClassifier.load_examples(tmp_path / "examples.json")) == len(EXAMPLES) + 3


def test_bad_labels_and_too_few_examples_are_refused() -> None:
    classifier = DocumentClassifier(embedder("nf4"))
    with pytest.raises(ClassifierError, match="no examples yet"):
        classifier.classify("Invoice")
    with pytest.raises(ClassifierError, match="at least two document types"):
        classifier.fit([("Invoice 1", "invoice"), ("Invoice 2", "invoice")])
    with pytest.raises(ClassifierError, match="unknown document type 'bill'"):
        classifier.fit([("Invoice 1", "bill")])
    one_each = DocumentClassifier(embedder("nf4"), [Example(text="Invoice 1", label="invoice"),
                                                    Example(text="Receipt", label="receipt")])
    assert not one_each.calibration.calibrated
    assert "at least 2 examples" in one_each.calibration.reason
