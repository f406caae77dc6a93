"""The document robot's models: what one worker loads once (`DocumentModels`: classifier,
extractor, duplicate detector, where reviewers' corrections are kept) and how they are fitted
over adapters already built (`fit_document_models`, called by
`proctor.composition.document_models`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from inference import (
    DocumentClassifier,
    DuplicateDetector,
    Embedder,
    GenerativeExtractor,
    InferenceRecord,
    InvoiceExtractor,
    ModelInfo,
    VectorIndex,
)
from inference.extraction import LEARNED_FIELDS

FIELD_EXAMPLES = "field_examples.json"  # reviewers' field contexts, next to examples.json
# Seed examples (10 per document type, from bench.corpus.labeled_examples(per_type=10)), used
# until reviewers' corrections are saved beside the index.
SEED_EXAMPLES = Path(__file__).parent.parent / "document_seed_examples.json"


@dataclass
class DocumentModels:
    """The models one worker loads once: classifier, extractor (the generative one for invoice
    fields when configured), duplicate detector, where reviewers' corrections are kept, what
    was loaded (`loaded`) and the model calls made while loading (`startup`)."""

    classifier: DocumentClassifier
    extractor: InvoiceExtractor
    duplicates: DuplicateDetector
    examples_path: Path
    generative: GenerativeExtractor | None = None
    loaded: list[ModelInfo] = field(default_factory=list)
    startup: list[InferenceRecord] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def field_examples_path(self) -> Path:
        """Where the field contexts reviewers taught are kept: next to the type examples."""
        return self.examples_path.with_name(FIELD_EXAMPLES)

    def learn_fields(self, text: str, values: dict[str, str]) -> list[InferenceRecord]:
        """A reviewer corrected these fields: keep the words around each corrected value in
        the text as a labeled example for its field (`InvoiceExtractor.learn`)."""
        records = []
        with self.lock:
            for name, value in values.items():
                if name in LEARNED_FIELDS and value:
                    records.append(self.extractor.learn(text, name, value)[1])
            if records:
                self.examples_path.parent.mkdir(parents=True, exist_ok=True)
                self.extractor.save_examples(self.field_examples_path)
        return records

    def learn_type(self, text: str, label: str) -> InferenceRecord:
        """A reviewer said what this document is: keep it as an example and refit."""
        with self.lock:
            record = self.classifier.learn(text, label)
            self.examples_path.parent.mkdir(parents=True, exist_ok=True)
            self.classifier.save_examples(self.examples_path)
        return record


def fit_document_models(embedder: Embedder, index: VectorIndex, examples_path: Path, *,
                        generative: GenerativeExtractor | None = None) -> DocumentModels:
    """The document models over adapters already built (`proctor.composition.document_models`
    picks them from the settings): a classifier fitted on the labeled examples in
    `examples_path` (the seed examples until reviewers' corrections are saved there), the
    extractor with the field contexts reviewers taught (`field_examples.json` next to the
    examples), the duplicate detector over `index`, and the `generative` extractor when one is
    given. `loaded` and `startup` say what was loaded and which model calls fitting made, for
    `DocumentRobot.record_models`.
    """
    examples = DocumentClassifier.load_examples(
        examples_path if examples_path.exists() else SEED_EXAMPLES)
    field_examples_path = examples_path.with_name(FIELD_EXAMPLES)
    field_examples = InvoiceExtractor.load_examples(field_examples_path) \
        if field_examples_path.exists() else []
    classifier = DocumentClassifier(embedder)
    fitted = classifier.fit(examples)
    return DocumentModels(classifier=classifier,
                          extractor=InvoiceExtractor(embedder, examples=field_examples),
                          duplicates=DuplicateDetector(index, embedder),
                          examples_path=examples_path, generative=generative,
                          loaded=[embedder.info] + ([generative.loaded.info] if generative
                                                    else []),
                          startup=[fitted])
