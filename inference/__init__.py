"""Document intelligence on local models: runtime and registry (NF4 4-bit or full precision),
embeddings, hostile-text normalization, document reading, classification, extraction
(pattern-based and generative), vector indexes and near-duplicate detection.

Imports nothing from governance, audit, robots or flows; every inference returns an
`InferenceRecord` for the caller to put in the ledger.
"""

from inference.classifier import Calibration, Classification, DocumentClassifier, Example
from inference.documents import Document, DocumentLimits, read_bytes, read_document
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
from inference.extractor import Extraction, FieldExample, FieldValue, InvoiceExtractor
from inference.generative import GenerativeExtractor, GenerativeResult, parse_fields
from inference.index import EmbeddedIndex, Hit, VectorIndex, WeaviateIndex
from inference.records import InferenceRecord, sha256_text
from inference.registry import DEFAULT_EMBEDDING_MODEL, ModelRegistry, load_embedder
from inference.runtime import LoadedModel, ModelInfo, ModelSpec, installed_model_path, load_model
from inference.schema import DOCUMENT_TYPES, FIELD_NAMES, DocumentType, InvoiceFields
from inference.settings import InferenceSettings
from inference.text import NormalizedText, normalize

__all__ = [
    "DEFAULT_EMBEDDING_MODEL", "DOCUMENT_TYPES", "FIELD_NAMES", "Calibration", "Classification",
    "ClassifierError", "Document", "DocumentClassifier", "DocumentError", "DocumentLimits",
    "DocumentTooLarge", "DocumentType", "DuplicateCheck", "DuplicateDetector", "EmbeddedIndex",
    "Embedder", "EmptyDocument", "EncryptedDocument", "Example", "Extraction", "FieldExample",
    "FieldValue",
    "GenerativeExtractor", "GenerativeResult", "Hit", "InferenceError", "InferenceRecord",
    "InferenceSettings", "InvalidModelOutput", "InvoiceExtractor", "InvoiceFields",
    "LoadedModel", "MalformedDocument", "ModelError", "ModelInfo", "ModelLoadError",
    "ModelNotFound", "ModelRegistry", "ModelSpec", "NormalizedText", "QuantizationUnavailable",
    "SimilarDocument",
    "UnsupportedDocument", "VectorIndex", "VectorIndexError", "VectorIndexUnavailable",
    "WeaviateIndex", "installed_model_path", "load_embedder", "load_model", "normalize",
    "parse_fields", "read_bytes", "read_document", "sha256_text",
]
