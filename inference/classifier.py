"""Document type classification from few labeled examples, with calibrated confidence.

Embeddings of the document's head feed a multinomial logistic regression; its scores are
divided by a temperature fitted on held-out predictions (k-fold over the examples, so every
example is scored by a model that did not see it) to make confidence mean what it says: of the
documents classified with confidence 0.9, about 90% are right. Reviewer corrections go back in
with `learn`, which refits and recalibrates.

    classifier = DocumentClassifier(embedder, examples)    # [(text, "invoice"), ...]
    result = classifier.classify(text)                     # Classification(label, confidence)
    record = classifier.learn(text, "credit_note")         # a reviewer said otherwise
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from inference.embeddings import Embedder
from inference.errors import ClassifierError
from inference.records import InferenceRecord, timed
from inference.schema import DOCUMENT_TYPES, DocumentType
from inference.text import normalize


class Example(BaseModel):
    """One labeled document: seed data or a reviewer's correction."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    label: DocumentType
    source: str = "seed"


class Classification(BaseModel):
    """The predicted type, its calibrated probability, all probabilities, and the record."""

    model_config = ConfigDict(frozen=True)

    label: DocumentType
    confidence: float
    probabilities: dict[str, float]
    record: InferenceRecord


class Calibration(BaseModel):
    """How the temperature was fitted and how well calibrated the held-out predictions are."""

    model_config = ConfigDict(frozen=True)

    calibrated: bool
    temperature: float
    held_out: int = Field(description="examples scored by a model that did not see them")
    accuracy: float | None = None
    ece_before: float | None = Field(default=None, description="expected calibration error, "
                                     "T = 1")
    ece_after: float | None = None
    reason: str = ""


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 10) -> float:
    """ECE: the average gap between confidence and accuracy over equal-width bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class DocumentClassifier:
    """Few-shot document type classifier over sentence embeddings."""

    def __init__(self, embedder: Embedder, examples: Iterable[Example | tuple[str, str]] = (), *,
                 head_chars: int = 1500, regularization: float = 10.0) -> None:
        self.embedder = embedder
        self.head_chars = head_chars
        self.regularization = regularization
        self._examples: list[Example] = []
        self._vectors: list[np.ndarray] = []
        self._model = None
        self._classes: list[str] = []
        self.calibration = Calibration(calibrated=False, temperature=1.0, held_out=0,
                                       reason="not fitted")
        examples = list(examples)
        if examples:
            self.fit(examples)

    @property
    def examples(self) -> list[Example]:
        """The labeled examples the classifier was fitted on, corrections included."""
        return list(self._examples)

    def fit(self, examples: Iterable[Example | tuple[str, str]]) -> InferenceRecord:
        """Replace the examples with these, refit and recalibrate; the record of the embedding
        and fitting (input: the examples; output: how many, and the calibration)."""
        parsed = [_example(e) for e in examples]
        with timed() as clock:
            vectors = self.embedder.encode([self._head(e.text) for e in parsed])
            self._examples, self._vectors = parsed, list(vectors)
            self._refit()
        return self._fit_record(parsed, clock.ms)

    def learn(self, text: str, label: str, source: str = "reviewer") -> InferenceRecord:
        """Add one correction as a labeled example, refit and recalibrate; the record of it."""
        example = _example(Example(text=text, label=_label(label), source=source))
        with timed() as clock:
            self._examples.append(example)
            self._vectors.append(self.embedder.encode([self._head(example.text)])[0])
            self._refit()
        return self._fit_record([example], clock.ms)

    def classify(self, text: str) -> Classification:
        """The type of one document."""
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """The types of several documents (embedded in batches)."""
        if self._model is None:
            raise ClassifierError("the classifier has no examples yet; fit() it first")
        with timed() as clock:
            heads = [self._head(t) for t in texts]
            probabilities = softmax(self._model.decision_function(self.embedder.encode(heads)),
                                    self.calibration.temperature)
        each_ms = clock.ms / max(1, len(texts))
        return [self._result(text, row, each_ms) for text, row in zip(texts, probabilities,
                                                                       strict=True)]

    def save_examples(self, path: Path) -> None:
        """Write the examples (corrections included) as JSON, to fit a classifier later."""
        path.write_text(json.dumps([e.model_dump() for e in self._examples], ensure_ascii=False))

    @staticmethod
    def load_examples(path: Path) -> list[Example]:
        """Examples written by `save_examples`."""
        return [Example.model_validate(e) for e in json.loads(path.read_text())]

    def _head(self, text: str) -> str:
        return normalize(text).text[: self.head_chars]

    def _fit_record(self, added: list[Example], latency_ms: float) -> InferenceRecord:
        """The record of embedding `added` and refitting: input hash over the added examples."""
        given = json.dumps([[e.label, e.text] for e in added], ensure_ascii=False)
        output = {"added": len(added), "labels": dict(Counter(e.label for e in added)),
                  "examples": len(self._examples),
                  "calibration": self.calibration.model_dump(include={
                      "calibrated", "temperature", "accuracy", "held_out"})}
        return self.embedder.record("fit", given, output, None, latency_ms)

    def _result(self, text: str, row: np.ndarray, latency_ms: float) -> Classification:
        best = int(row.argmax())
        probabilities = {c: round(float(p), 6) for c, p in zip(self._classes, row, strict=True)}
        label, confidence = self._classes[best], float(row[best])
        record = self.embedder.record("classify", text, {"label": label,
                                                         "probabilities": probabilities},
                                      confidence, latency_ms)
        return Classification(label=label, confidence=confidence, probabilities=probabilities,
                              record=record)

    def _refit(self) -> Calibration:
        labels = [e.label for e in self._examples]
        if len(set(labels)) < 2:
            raise ClassifierError("need examples of at least two document types, got "
                                  f"{sorted(set(labels)) or 'none'}")
        x, y = np.stack(self._vectors), np.array(labels)
        self._model = self._new_model().fit(x, y)
        self._classes = [str(c) for c in self._model.classes_]
        self.calibration = self._calibrate(x, y)
        return self.calibration

    def _new_model(self):  # noqa: ANN202 - scikit-learn estimator
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.regularization, max_iter=5000)

    def _calibrate(self, x: np.ndarray, y: np.ndarray) -> Calibration:
        from scipy.optimize import minimize_scalar
        from sklearn.model_selection import StratifiedKFold

        folds = min(5, min(Counter(y.tolist()).values()))
        if folds < 2:
            return Calibration(calibrated=False, temperature=1.0, held_out=0,
                               reason="every type needs at least 2 examples to calibrate")
        logits = np.zeros((len(y), len(self._classes)))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
        for train, test in splitter.split(x, y):
            fold = self._new_model().fit(x[train], y[train])
            columns = [self._classes.index(str(c)) for c in fold.classes_]
            logits[np.ix_(test, columns)] = fold.decision_function(x[test])
        truth = np.array([self._classes.index(str(label)) for label in y])

        def nll(log_t: float) -> float:
            p = softmax(logits, math.exp(log_t))[np.arange(len(truth)), truth]
            return float(-np.log(np.clip(p, 1e-12, 1.0)).mean())

        best = minimize_scalar(nll, bounds=(-4.0, 4.0), method="bounded")
        temperature = float(math.exp(best.x))
        before, after = softmax(logits), softmax(logits, temperature)
        correct = (after.argmax(axis=1) == truth).astype(float)
        return Calibration(
            calibrated=True, temperature=temperature, held_out=len(y),
            accuracy=float(correct.mean()),
            ece_before=expected_calibration_error(before.max(axis=1), correct),
            ece_after=expected_calibration_error(after.max(axis=1), correct))


def _label(label: str) -> DocumentType:
    if label not in DOCUMENT_TYPES:
        raise ClassifierError(f"unknown document type {label!r}; use one of "
                              f"{', '.join(DOCUMENT_TYPES)}")
    return label  # type: ignore[return-value]


def _example(item: Example | tuple[str, str]) -> Example:
    if isinstance(item, Example):
        return item
    text, label = item
    if not text or not text.strip():
        raise ClassifierError("an example has no text")
    return Example(text=text, label=_label(label))
