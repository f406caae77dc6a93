"""Document intelligence benchmark: the NF4 4-bit and the full-precision all-MiniLM-L6-v2 side
by side on one generated corpus (EN/DE/FR, many layouts, scanned-looking noise, hostile text).

For each model: accuracy per document type, calibration error, precision and recall per invoice
field, how many documents went to a person (classification below its threshold, or an invoice
with a field below its threshold), documents per second and memory footprint.

    python -m bench.documents [--documents 300] [--seed 42] [--examples 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from typing import Any

import numpy as np

from bench.common import report
from inference.classifier import DocumentClassifier, expected_calibration_error
from inference.corpus import CorpusDocument, generate_corpus, labeled_examples
from inference.embeddings import Embedder
from inference.extractor import InvoiceExtractor
from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry
from inference.schema import DOCUMENT_TYPES, FIELD_NAMES

CLASS_THRESHOLD = 0.8
FIELD_THRESHOLD = 0.8


def run(embedder: Embedder, docs: list[CorpusDocument], examples: list[tuple[str, str]]
        ) -> dict[str, Any]:
    started = time.perf_counter()
    classifier = DocumentClassifier(embedder, examples)
    fit_s = time.perf_counter() - started
    extractor = InvoiceExtractor(embedder)
    started = time.perf_counter()
    classes = classifier.classify_many([d.text for d in docs])
    extractions = {d.id: extractor.extract(d.text) for d, c in zip(docs, classes, strict=True)
                   if c.label == "invoice" or d.doc_type == "invoice"}
    seconds = time.perf_counter() - started
    out: dict[str, Any] = {"fit_s": fit_s, "docs_per_s": len(docs) / seconds,
                           "calibration": classifier.calibration}
    correct = np.array([c.label == d.doc_type for c, d in zip(classes, docs, strict=True)])
    confidence = np.array([c.confidence for c in classes])
    out["accuracy"] = float(correct.mean())
    out["ece"] = expected_calibration_error(confidence, correct.astype(float))
    for kind in DOCUMENT_TYPES:
        mask = np.array([d.doc_type == kind for d in docs])
        out[f"accuracy {kind}"] = float(correct[mask].mean()) if mask.any() else None
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # tp, fp, fn
    for doc in docs:
        if doc.doc_type != "invoice":
            continue
        fields = extractions[doc.id].fields
        for name in FIELD_NAMES:
            got, truth = _norm(fields[name].value), _norm(doc.fields.get(name))
            counts[name][0] += got is not None and got == truth
            counts[name][1] += got is not None and got != truth
            counts[name][2] += truth is not None and got != truth
    for name, (tp, fp, fn) in counts.items():
        out[f"precision {name}"] = tp / (tp + fp) if tp + fp else None
        out[f"recall {name}"] = tp / (tp + fn) if tp + fn else None
    to_person = 0
    for doc, c in zip(docs, classes, strict=True):
        unsure = c.confidence < CLASS_THRESHOLD
        if c.label == "invoice" and not unsure:
            unsure = bool(extractions[doc.id].needs_review(default=FIELD_THRESHOLD))
        to_person += unsure
    out["to a person"] = to_person
    out["to a person (share)"] = to_person / len(docs)
    wrong_auto = 0
    for doc, c in zip(docs, classes, strict=True):
        if c.confidence >= CLASS_THRESHOLD and c.label != doc.doc_type:
            wrong_auto += 1
    out["confidently wrong type"] = wrong_auto
    return out


def _norm(value: object) -> str | None:
    return None if value is None else " ".join(str(value).lower().split())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.documents", description=__doc__)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--examples", type=int, default=10, help="labeled examples per type")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: best)")
    args = parser.parse_args()
    docs = generate_corpus(args.documents, seed=args.seed)
    examples = labeled_examples(args.examples, seed=args.seed + 1000)
    registry = ModelRegistry.with_defaults(device=args.device)
    results, infos = {}, {}
    for quantization in ("nf4", "none"):
        loaded = registry.load(DEFAULT_EMBEDDING_MODEL, quantization=quantization)
        infos[quantization] = loaded.info
        results[quantization] = run(Embedder(loaded), docs, examples)
    rows = [{"measure": "memory footprint (MB)",
             **{q: infos[q].footprint_bytes / 1e6 for q in infos}},
            {"measure": "documents/s (classify + extract)",
             **{q: results[q]["docs_per_s"] for q in results}},
            {"measure": "held-out ECE after temperature (examples)",
             **{q: results[q]["calibration"].ece_after for q in results}},
            {"measure": "ECE on the corpus", **{q: results[q]["ece"] for q in results}}]
    keys = ["accuracy", *[f"accuracy {k}" for k in DOCUMENT_TYPES]]
    keys += [f"{m} {f}" for f in FIELD_NAMES for m in ("precision", "recall")]
    keys += ["to a person", "to a person (share)", "confidently wrong type"]
    rows += [{"measure": key, **{q: results[q][key] for q in results}} for key in keys]
    for row in rows:
        row["full"] = row.pop("none")
        row["nf4 - full"] = (row["nf4"] - row["full"] if isinstance(row["nf4"], int | float)
                             and isinstance(row["full"], int | float) else None)
    invoices = sum(d.doc_type == "invoice" for d in docs)
    report("documents", rows, [
        f"{len(docs)} generated documents (seed {args.seed}; {invoices} invoices), "
        f"{args.examples} labeled examples per type (seed {args.seed + 1000})",
        f"model {DEFAULT_EMBEDDING_MODEL} revision {infos['nf4'].revision[:12]} on "
        f"{infos['nf4'].device}; nf4 = bitsandbytes NF4 4-bit linear layers (embeddings stay "
        "float32), full = float32",
        f"a person sees a document whose type confidence is below {CLASS_THRESHOLD}, or an "
        f"invoice with a field below {FIELD_THRESHOLD} or a required field missing",
        "field precision/recall over the true invoices; a value counts when it equals the "
        "truth after case and whitespace folding",
    ])


if __name__ == "__main__":
    main()
