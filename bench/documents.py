"""Document intelligence benchmark: the NF4 4-bit and the full-precision all-MiniLM-L6-v2 side
by side on one generated corpus (EN/DE/FR, many layouts, scanned-looking noise, hostile text).

For each model: accuracy per document type, calibration error, precision and recall per invoice
field, how many documents the shipped policy sends to a person (it decides on the same
`documents.accept_invoice` action the document robot proposes), documents per second (read,
classify and extract, as the inbox does) and memory footprint (and peak GPU memory on CUDA).

    python -m bench.documents [--documents 300] [--seed 42] [--examples 10] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import report
from bench.corpus.generate import CorpusDocument, generate_corpus, labeled_examples
from governance.models import Action
from governance.policy.regorus import RegorusEngine
from inference.classifier import Classification, DocumentClassifier, expected_calibration_error
from inference.embeddings import Embedder
from inference.extraction import Extraction
from inference.extractor import InvoiceExtractor
from inference.reading import Document, read_bytes
from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry
from inference.schema import DOCUMENT_TYPES, FIELD_NAMES
from robots.inbox.robot import ACCEPT, DocumentRobot, accept_proposal, pattern_fields

POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"
NO_DUPLICATE = {"of": None, "similarity": 0.0, "same_fields": []}


def run(embedder: Embedder, docs: list[CorpusDocument], examples: list[tuple[str, str]],
        policy: RegorusEngine) -> dict[str, Any]:
    started = time.perf_counter()
    classifier = DocumentClassifier(embedder, examples)
    fit_s = time.perf_counter() - started
    extractor = InvoiceExtractor(embedder)
    started = time.perf_counter()  # what the inbox does with each file: read, classify, extract
    read = [read_bytes(d.text.encode(), f"{d.id}.txt") for d in docs]
    classes = classifier.classify_many([r.text for r in read])
    extractions = [extractor.extract(r.text) for r in read]
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
    for doc, extraction in zip(docs, extractions, strict=True):
        if doc.doc_type != "invoice":
            continue
        for name in FIELD_NAMES:
            got, truth = _norm(extraction.fields[name].value), _norm(doc.fields.get(name))
            counts[name][0] += got is not None and got == truth
            counts[name][1] += got is not None and got != truth
            counts[name][2] += truth is not None and got != truth
    for name, (tp, fp, fn) in counts.items():
        out[f"precision {name}"] = tp / (tp + fp) if tp + fp else None
        out[f"recall {name}"] = tp / (tp + fn) if tp + fn else None
    routes = [_route(policy, r, c, e) for r, c, e in zip(read, classes, extractions, strict=True)]
    out["to a person"] = sum(r == "require_approval" for r in routes)
    out["to a person (share)"] = out["to a person"] / len(docs)
    out["accepted without a person"] = sum(r == "allow" for r in routes)
    out["filed or denied without a person"] = sum(r == "deny" for r in routes)
    wrong = [r == "allow" and d.doc_type != "invoice" for r, d in zip(routes, docs, strict=True)]
    out["non-invoice accepted as invoice"] = sum(wrong)
    sure = json.loads((POLICY_DIR / "data.json").read_text())["documents"][
        "classification_threshold"]
    out["confidently wrong type"] = sum(c.confidence >= sure and c.label != d.doc_type
                                        for c, d in zip(classes, docs, strict=True))
    return out


def _route(policy: RegorusEngine, document: Document, kind: Classification,
           extraction: Extraction) -> str:
    """What the shipped policy decides for the `documents.accept_invoice` action the document
    robot would propose (the first of its kind: nothing in the duplicate index)."""
    params, context = accept_proposal(kind, pattern_fields(document, extraction), NO_DUPLICATE)
    action = Action(kind=ACCEPT, target="documents", robot=DocumentRobot.robot,
                    requested_by="bench", params=params, context=context)
    return policy.decide(action.policy_input()).outcome


def _reset_peak_gpu_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def _peak_gpu_memory(device: str) -> float | None:
    """Peak bytes torch allocated on the GPU since the last reset, in MB; None on the CPU."""
    import torch

    if not device.startswith("cuda"):
        return None
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() / 1e6


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
    policy = RegorusEngine(POLICY_DIR)
    results, infos = {}, {}
    peaks: dict[str, float] = {}
    for quantization in ("nf4", "none"):
        _reset_peak_gpu_memory()  # one model on the GPU at a time: the other is freed first
        registry = ModelRegistry.with_defaults(device=args.device)
        loaded = registry.load(DEFAULT_EMBEDDING_MODEL, quantization=quantization)
        infos[quantization] = loaded.info
        results[quantization] = run(Embedder(loaded), docs, examples, policy)
        peak = _peak_gpu_memory(loaded.info.device)
        if peak is not None:
            peaks[quantization] = peak
        del registry, loaded
    rows = [{"measure": "memory footprint (MB)",
             **{q: infos[q].footprint_bytes / 1e6 for q in infos}},
            *([{"measure": "peak GPU memory while running (MB)", **peaks}] if peaks else []),
            {"measure": "documents/s (read + classify + extract)",
             **{q: results[q]["docs_per_s"] for q in results}},
            {"measure": "held-out ECE after temperature (examples)",
             **{q: results[q]["calibration"].ece_after for q in results}},
            {"measure": "ECE on the corpus", **{q: results[q]["ece"] for q in results}}]
    keys = ["accuracy", *[f"accuracy {k}" for k in DOCUMENT_TYPES]]
    keys += [f"{m} {f}" for f in FIELD_NAMES for m in ("precision", "recall")]
    keys += ["to a person", "to a person (share)", "accepted without a person",
             "filed or denied without a person", "non-invoice accepted as invoice",
             "confidently wrong type"]
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
        "float32; they compute in bfloat16 on CUDA, float32 on the CPU), full = float32",
        "routing by the shipped policy (policies/, revision "
        f"{policy.revision[:12]}) on the accept action the document robot proposes: type "
        "confidence, field confidences against data.json's thresholds, required fields, "
        "warnings (hidden characters, instructions); nothing in the duplicate index",
        "field precision/recall over the true invoices; a value counts when it equals the "
        "truth after case and whitespace folding",
    ])


if __name__ == "__main__":
    main()
