"""Invoice field extraction: validated patterns, labeled by the words around them, cross-checked.

1. Normalize the text (invisible characters out, NFKC).
2. Find candidates with validated patterns (`inference.candidates`, `inference.patterns`):
   IBANs with a good checksum, VAT ids, real dates in EN/DE/FR forms, amounts in both decimal
   conventions, identifiers after their keywords, company names by their legal form.
3. Label each candidate by its context: keywords in three languages (`inference.keywords`) and,
   with an embedder, the similarity of the context to a description of each label.
4. Choose and cross-check each field (`inference.fields`): net + tax = total raises the
   confidence of all three, a mismatch lowers it; a due date before the issue date lowers both;
   two different IBANs, or an instruction to the machine in the text, send the IBAN to a person.

The results (`ExtractedField`, `Extraction`) and reviewers' examples (`FieldExample`) are in
`inference.extraction`.

Learning from reviewers (`learn`): a corrected amount or date is looked up in the text, and the
words around each place it appears become a labeled context example for that field, compared
with like the built-in phrases; for an invoice or PO number, the words before it become a
keyword. Vendor, VAT id, IBAN and currency are not learned this way.

    extraction = InvoiceExtractor(embedder).extract(text)
    extraction.fields["total"].value, extraction.fields["total"].confidence
    extraction.needs_review({"iban": 0.9}, default=0.8)   # fields a person must confirm
    examples, record = extractor.learn(text, "total", "119.00")   # a reviewer's correction
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np

from inference.candidates import Candidates, canonical, words_before
from inference.context import Window, keyword_scores
from inference.embeddings import Embedder
from inference.extraction import LEARNED_FIELDS, Extraction, FieldExample
from inference.fields import choose_fields
from inference.keywords import AMOUNT_KEYWORDS, DATE_KEYWORDS, ID_KEYWORDS, PROTOTYPES
from inference.patterns import Match
from inference.records import InferenceRecord, sha256_text, timed
from inference.text import normalize

# The recorded revision of the pattern extractor (`InferenceRecord.revision`): unchanged by
# moving the code, so earlier records still name the same patterns.
PATTERN_REVISION = hashlib.sha256(b"inference.extractor patterns v1").hexdigest()
_ID_FIELDS = ("invoice_number", "po_number")
LEARNED_SIMILARITY = 0.9  # how like a reviewer's example a context must be to count
LEARNED_WEIGHT = 0.6


class InvoiceExtractor:
    """Extracts `InvoiceFields` from invoice text; `embedder` labels unusual phrasings."""

    def __init__(self, embedder: Embedder | None = None, *, embedding_weight: float = 0.4,
                 examples: Iterable[FieldExample] = ()) -> None:
        self.embedder = embedder
        self.embedding_weight = embedding_weight
        self._prototypes: dict[str, np.ndarray] = {}
        self._learned: dict[str, np.ndarray] = {}  # reviewers' contexts, by field
        self._examples: list[FieldExample] = []
        self._keywords: dict[str, list[str]] = {name: list(words)
                                                for name, words in ID_KEYWORDS.items()}
        if embedder is not None:
            self._prototypes = {label: embedder.encode(phrases)
                                for label, phrases in PROTOTYPES.items()}
        self._add(list(examples))

    @property
    def examples(self) -> list[FieldExample]:
        """What reviewers' corrections taught, in the order learned."""
        return list(self._examples)

    def learn(self, text: str, field: str, value: str,
              source: str = "reviewer") -> tuple[list[FieldExample], InferenceRecord]:
        """A person said `field` is `value` in `text`: keep the words around every place the
        value appears in the text as examples for `field` (none when it does not appear, or
        the field is not one that is learned). The new examples, and the record of the call."""
        with timed() as clock:
            new = [e for e in self.contexts(text, field, value, source)
                   if e not in self._examples]
            self._add(new)
        output = {"field": field, "added": len(new), "examples": len(self._examples)}
        return new, self._record(text, output, None, clock.ms, task="fit")

    def save_examples(self, path: Path) -> None:
        """Write what reviewers taught as JSON, to load into an extractor later."""
        path.write_text(json.dumps([e.model_dump() for e in self._examples], ensure_ascii=False))

    @staticmethod
    def load_examples(path: Path) -> list[FieldExample]:
        """Examples written by `save_examples`."""
        return [FieldExample.model_validate(e) for e in json.loads(path.read_text())]

    def contexts(self, text: str, field: str, value: str,
                 source: str = "reviewer") -> list[FieldExample]:
        """The labeled context of `value` as `field` in `text`: where the value appears (where
        it reads most like `field`, when it appears more than once); [] when it does not."""
        if field not in LEARNED_FIELDS or not value:
            return []
        doc = Candidates(normalize(text).text)
        if field in _ID_FIELDS:
            found = [words_before(doc, hit.start())
                     for hit in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", doc.text)]
            found = [c for c in found if any(ch.isalpha() for ch in c)][:1]
        elif self.embedder is None:  # amounts and dates are learned as phrases to compare with
            return []
        else:
            kind = "amount" if field in ("net", "tax", "total") else "date"
            scores = self._windows(doc)
            matching = [m for m in doc.amounts + doc.dates
                        if m.kind == kind and canonical(m) == value]
            values = doc.amounts + doc.dates
            found = [doc.lines.window(m, values).text() for m in sorted(
                matching, key=lambda m: -scores[id(m)].get(field, 0.0))][:1]
        return [FieldExample(field=field, context=c[-300:], source=source)  # type: ignore[arg-type]
                for c in found if c]

    def _add(self, examples: list[FieldExample]) -> None:
        phrases = [e for e in examples if e.field not in _ID_FIELDS]
        if phrases and self.embedder is not None:
            vectors = self.embedder.encode([e.context for e in phrases])
            for example, vector in zip(phrases, vectors, strict=True):
                known = self._learned.get(example.field)
                self._learned[example.field] = vector[None, :] if known is None else np.vstack(
                    [known, vector])
        for example in examples:
            if example.field in _ID_FIELDS and example.context not in self._keywords[
                    example.field]:
                self._keywords[example.field].append(example.context)
        self._examples += examples

    def extract(self, text: str) -> Extraction:
        """The invoice fields of `text`, each with a confidence."""
        with timed() as clock:
            normalized = normalize(text)
            state = Candidates(normalized.text)
            warnings = normalized.report() + state.injection_warnings()
            windows = self._windows(state)
            checks: list[str] = []
            fields = choose_fields(state, windows, self._keywords, warnings, checks)
        confidence = min(f.confidence for f in fields.values())
        output = {k: f.value for k, f in fields.items()}
        record = self._record(text, output, confidence, clock.ms)
        return Extraction(fields=fields, checks=checks, warnings=warnings,
                          text=normalized.text, record=record)

    def _record(self, text: str, output: dict, confidence: float | None, ms: float,
                task: Literal["extract", "fit"] = "extract") -> InferenceRecord:
        if self.embedder is not None:
            return self.embedder.record(task, text, output, confidence, ms)
        return InferenceRecord(task=task, model="patterns", revision=PATTERN_REVISION,
                               quantization="none", input_sha256=sha256_text(text),
                               output=output, confidence=confidence, latency_ms=ms)

    def _windows(self, state: Candidates) -> dict[int, dict[str, float]]:
        """Label scores of every amount and date candidate, keyed by id(match)."""
        values = state.amounts + state.dates
        windows = {id(m): state.lines.window(m, values) for m in values}
        scores: dict[int, dict[str, float]] = {}
        for m in values:
            table = AMOUNT_KEYWORDS if m.kind == "amount" else DATE_KEYWORDS
            scores[id(m)] = keyword_scores(windows[id(m)], table)
        if self._prototypes and values:
            self._add_similarity(values, windows, scores)
        return scores

    def _add_similarity(self, values: list[Match], windows: dict[int, Window],
                        scores: dict[int, dict[str, float]]) -> None:
        assert self.embedder is not None
        vectors = self.embedder.encode([windows[id(m)].text() for m in values])
        for m, vector in zip(values, vectors, strict=True):
            labels = list(scores[id(m)])
            sims = np.array([float((self._prototypes[label] @ vector).max())
                             for label in labels])
            probs = np.exp((sims - sims.max()) / 0.03)
            probs /= probs.sum()
            for label, p in zip(labels, probs, strict=True):
                scores[id(m)][label] += self.embedding_weight * float(p)
            for label, learned in self._learned.items():
                # a context a reviewer labeled, met again almost word for word
                similarity = float((learned @ vector).max())
                if label in scores[id(m)] and similarity >= LEARNED_SIMILARITY:
                    scores[id(m)][label] += LEARNED_WEIGHT * similarity
