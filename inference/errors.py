"""Errors of the inference layer, with their retry semantics.

    InferenceError                 base; `retryable` says whether trying again can help
    ├── ModelError
    │   ├── ModelNotFound          no model at that path or package (don't retry: fix the path)
    │   ├── ModelLoadError         transformers could not load it (bad or partial files)
    │   └── QuantizationUnavailable  4-bit was asked for and bitsandbytes cannot run it here
    ├── DocumentError              the document cannot be used as it is; never retry
    │   ├── EmptyDocument          no text at all (empty file, image-only PDF)
    │   ├── EncryptedDocument      a password is needed to read it
    │   ├── MalformedDocument      not a readable PDF / e-mail / text file
    │   ├── DocumentTooLarge       over a size, page or text limit
    │   └── UnsupportedDocument    a kind of file that is not read at all
    ├── InvalidModelOutput         a generative model's answer broke the schema; it is rejected
    ├── ClassifierError            the classifier cannot answer (no examples, unknown label)
    └── VectorIndexError           the index refused (wrong dimension, bad id, server down)

Errors of the libraries underneath (pypdf, transformers, weaviate) are translated at the edge
with `raise ... from exc`, so callers catch these and nothing else.
"""

from __future__ import annotations

from typing import Any


class InferenceError(Exception):
    """Base class of this package's errors."""

    retryable = False


class ModelError(InferenceError):
    """A model could not be found, loaded or quantized."""


class ModelNotFound(ModelError):
    """The path or package holds no model (config.json and weights)."""


class ModelLoadError(ModelError):
    """The files are there but transformers could not load them."""


class QuantizationUnavailable(ModelError):
    """NF4 was requested explicitly and bitsandbytes cannot quantize on this device."""


class DocumentError(InferenceError):
    """The document itself is the problem; the message names the file and what is wrong."""


class EmptyDocument(DocumentError):
    """The document holds no text to read."""


class EncryptedDocument(DocumentError):
    """The document needs a password."""


class MalformedDocument(DocumentError):
    """The bytes are not a readable document of the kind they claim to be."""


class DocumentTooLarge(DocumentError):
    """The document is over one of the configured limits."""


class UnsupportedDocument(DocumentError):
    """Not a PDF, e-mail (.eml) or plain-text document."""


class InvalidModelOutput(InferenceError):
    """A generative model produced output that does not fit the extraction schema.

    `raw` is exactly what the model produced and `problems` says what is wrong with it; the
    output is never repaired. `record` is the call's `InferenceRecord` when the model ran.
    """

    def __init__(self, message: str, *, raw: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.raw = raw
        self.problems = problems or []
        self.record: Any = None


class ClassifierError(InferenceError):
    """The classifier has too few examples, or was given an unknown label."""


class VectorIndexError(InferenceError):
    """The vector index refused an operation."""


class VectorIndexUnavailable(VectorIndexError):
    """The index's server cannot be reached; trying again later may help."""

    retryable = True
