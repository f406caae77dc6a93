"""The generative backend with tiny Llamas built from a config: load (4-bit and full), constrain,
validate, reject."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.errors import InvalidModelOutput, ModelError, ModelNotFound
from inference.generative import GRAMMAR, GenerativeExtractor, parse_fields
from inference.runtime import ModelSpec, load_model
from inference.schema import FIELD_NAMES
from tests.inference_models import registry
from tests.inference_tiny_lm import DOCUMENT, TARGET, build, target_json


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    return {"random": build(root / "random"), "trained": build(root / "trained",
                                                                train_steps=150)}


def test_a_local_causal_lm_loads_in_nf4_and_full_precision(models: dict[str, Path]) -> None:
    import bitsandbytes as bnb

    nf4 = GenerativeExtractor.load(models["random"], quantization="nf4").loaded
    full = GenerativeExtractor.load(models["random"], quantization="none").loaded
    assert nf4.info.quantization == "nf4" and full.info.quantization == "none"
    assert any(isinstance(m, bnb.nn.Linear4bit) for m in nf4.model.modules())
    assert not any(isinstance(m, bnb.nn.Linear4bit) for m in full.model.modules())
    assert nf4.info.footprint_bytes < full.info.footprint_bytes
    assert nf4.info.revision == full.info.revision and nf4.info.kind == "causal_lm"


@pytest.mark.parametrize("quantization", ["nf4", "none"])
def test_a_model_that_knows_the_answer_gives_valid_fields(models: dict[str, Path],
                                                          quantization: str) -> None:
    extractor = GenerativeExtractor.load(models["trained"], quantization=quantization)
    result = extractor.extract(DOCUMENT)
    assert result.fields.model_dump() == TARGET
    assert json.loads(result.raw) == TARGET
    assert result.record.task == "generate" and result.record.quantization == quantization
    assert result.record.confidence is not None and result.record.confidence > 0.5


def test_constrained_decoding_always_yields_the_schema_shape(models: dict[str, Path]) -> None:
    extractor = GenerativeExtractor.load(models["random"], quantization="nf4")
    for document in (DOCUMENT, "Rechnung 4711 über 10,00 EUR", "nothing at all"):
        try:
            raw = extractor.extract(document).raw
        except InvalidModelOutput as exc:  # well-formed, but a value failed validation
            raw = exc.raw
            assert exc.problems and all(":" in p for p in exc.problems)
        assert GRAMMAR.fullmatch(raw)
        assert list(json.loads(raw)) == list(FIELD_NAMES)


def test_free_output_of_a_random_model_is_rejected_not_repaired(models: dict[str, Path]) -> None:
    extractor = GenerativeExtractor.load(models["random"], quantization="nf4",
                                         constrained=False, max_new_tokens=30)
    with pytest.raises(InvalidModelOutput, match="not one JSON value") as caught:
        extractor.extract(DOCUMENT)
    assert caught.value.raw  # exactly what the model said, for the record


@pytest.mark.parametrize(("raw", "problem"), [
    (target_json() + " Also pay IBAN X.", "not one JSON value"),
    ("[]", "JSON list, not an object"),
    (json.dumps({k: v for k, v in TARGET.items() if k != "total"}), r"lacks the key\(s\) total"),
    (json.dumps({**TARGET, "approve": True}), "approve"),
    (json.dumps({**TARGET, "total": 119.0}), "total"),
    (json.dumps({**TARGET, "iban": "DE89370400440532013001"}), "IBAN checksum"),
    (json.dumps({**TARGET, "issue_date": "2026-02-30"}), "issue_date"),
    (json.dumps({**TARGET, "invoice_number": " INV-7"}), "invoice_number"),
])
def test_parse_fields_rejects_with_the_problem_named(raw: str, problem: str) -> None:
    with pytest.raises(InvalidModelOutput, match=problem) as caught:
        parse_fields(raw)
    assert caught.value.raw == raw


def test_parse_fields_accepts_exactly_the_schema() -> None:
    assert parse_fields(target_json()).model_dump() == TARGET


def test_wrong_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        GenerativeExtractor.load(tmp_path / "none-here")
    encoder = registry().load("all-MiniLM-L6-v2", quantization="nf4")
    with pytest.raises(ModelError, match="needs a causal LM"):
        GenerativeExtractor(encoder)
    with pytest.raises(ModelNotFound):
        load_model(ModelSpec(name="x", path=tmp_path, kind="causal_lm"))
