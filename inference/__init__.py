"""Document intelligence on local models: runtime and registry (NF4 4-bit or full precision),
embeddings, hostile-text normalization, document reading, classification, extraction
(pattern-based and generative), vector indexes and near-duplicate detection.

Imports nothing from governance, audit, robots or flows; every inference returns an
`InferenceRecord` for the caller to put in the ledger.

The public names below are re-exported lazily (a module-level `__getattr__`): `import
inference` loads none of the submodules, and `from inference import X` loads only the one
that defines `X`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name and the submodule that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Calibration", "Classification", "DocumentClassifier", "Example"),
                    "classifier"),
    **dict.fromkeys(("Document", "DocumentLimits", "read_bytes", "read_document"), "reading"),
    **dict.fromkeys(("DuplicateCheck", "DuplicateDetector", "SimilarDocument"), "duplicates"),
    "Embedder": "embeddings",
    **dict.fromkeys((
        "ClassifierError", "DocumentError", "DocumentTooLarge", "EmptyDocument",
        "EncryptedDocument", "InferenceError", "InvalidModelOutput", "MalformedDocument",
        "ModelError", "ModelLoadError", "ModelNotFound", "QuantizationUnavailable",
        "UnsupportedDocument", "VectorIndexError", "VectorIndexUnavailable"), "errors"),
    **dict.fromkeys(("ExtractedField", "Extraction", "FieldExample"), "extraction"),
    "InvoiceExtractor": "extractor",
    **dict.fromkeys(("GenerativeExtractor", "GenerativeResult", "parse_fields"), "generative"),
    **dict.fromkeys(("EmbeddedIndex", "Hit", "VectorIndex", "WeaviateIndex"), "index"),
    **dict.fromkeys(("InferenceRecord", "sha256_text"), "records"),
    **dict.fromkeys(("DEFAULT_EMBEDDING_MODEL", "ModelRegistry", "load_embedder"), "registry"),
    **dict.fromkeys(("LoadedModel", "ModelInfo", "ModelSpec", "installed_model_path",
                     "load_model"), "runtime"),
    **dict.fromkeys(("DOCUMENT_TYPES", "FIELD_NAMES", "DocumentType", "InvoiceFields"),
                    "schema"),
    "InferenceSettings": "settings",
    **dict.fromkeys(("NormalizedText", "normalize"), "text"),
}

__all__ = [  # the names of `_EXPORTS`, written out for tools that read `__all__`
    "Calibration", "Classification", "ClassifierError", "DEFAULT_EMBEDDING_MODEL", "DOCUMENT_TYPES",
    "Document", "DocumentClassifier", "DocumentError", "DocumentLimits", "DocumentTooLarge",
    "DocumentType", "DuplicateCheck", "DuplicateDetector", "EmbeddedIndex", "Embedder",
    "EmptyDocument", "EncryptedDocument", "Example", "ExtractedField", "Extraction", "FIELD_NAMES",
    "FieldExample", "GenerativeExtractor", "GenerativeResult", "Hit", "InferenceError",
    "InferenceRecord", "InferenceSettings", "InvalidModelOutput", "InvoiceExtractor",
    "InvoiceFields", "LoadedModel", "MalformedDocument", "ModelError", "ModelInfo",
    "ModelLoadError", "ModelNotFound", "ModelRegistry", "ModelSpec", "NormalizedText",
    "QuantizationUnavailable", "SimilarDocument", "UnsupportedDocument", "VectorIndex",
    "VectorIndexError", "VectorIndexUnavailable", "WeaviateIndex", "installed_model_path",
    "load_embedder", "load_model", "normalize", "parse_fields", "read_bytes", "read_document",
    "sha256_text",
]


def __getattr__(name: str) -> Any:
    """Load the submodule that defines `name` on first use, and keep the value here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inference' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"inference.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from inference.classifier import Calibration, Classification, DocumentClassifier, Example
    from inference.duplicates import DuplicateCheck, DuplicateDetector, SimilarDocument
    from inference.embeddings import Embedder
    from inference.errors import (
        ClassifierError,
        DocumentError,
        DocumentTooLarge,
        EmptyDocument,
        EncryptedDocument,
        InferenceError,
        InvalidModelOutput,
        MalformedDocument,
        ModelError,
        ModelLoadError,
        ModelNotFound,
        QuantizationUnavailable,
        UnsupportedDocument,
        VectorIndexError,
        VectorIndexUnavailable,
    )
    from inference.extraction import ExtractedField, Extraction, FieldExample
    from inference.extractor import InvoiceExtractor
    from inference.generative import GenerativeExtractor, GenerativeResult, parse_fields
    from inference.index import EmbeddedIndex, Hit, VectorIndex, WeaviateIndex
    from inference.reading import Document, DocumentLimits, read_bytes, read_document
    from inference.records import InferenceRecord, sha256_text
    from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry, load_embedder
    from inference.runtime import (
        LoadedModel,
        ModelInfo,
        ModelSpec,
        installed_model_path,
        load_model,
    )
    from inference.schema import DOCUMENT_TYPES, FIELD_NAMES, DocumentType, InvoiceFields
    from inference.settings import InferenceSettings
    from inference.text import NormalizedText, normalize
