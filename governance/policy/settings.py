"""The policy engine's settings (`PROCTOR_POLICY_*`); state defaults (`.proctor/...`) live in
the project's state folder (`PROCTOR_HOME`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from audit.settings import HOME, StateSettings

ROOT = Path(__file__).resolve().parents[2]


class PolicySettings(StateSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_POLICY_", extra="ignore")

    dir: Path = Field(default=ROOT / "policies", description="folder of .rego and data.json")
    timeout_ms: float = Field(
        default=250, gt=0, description="an evaluation slower than this is a deny"
    )
    opa_url: str | None = Field(
        default=None, description="decide by asking this OPA server (or `proctor policy "
        "serve`) instead of evaluating in process, e.g. http://127.0.0.1:8181")
    bundle: Path | None = Field(
        default=None, description="decide only with this signed policy bundle (.tar.gz from "
        "`proctor policy bundle`), verified with `trusted_key`; `dir` is then not used")
    trusted_key: Path | None = Field(
        default=None, description="PEM of the Ed25519 public key that signs policy bundles")
    bundle_workdir: Path = Field(default=HOME / "bundles",
                                 description="where verified bundles are unpacked")
    signing_key: Path = Field(default=HOME / "keys" / "policy-ed25519.pem",
                              description="the key `proctor policy bundle` signs with")
    shadow_dir: Path | None = Field(
        default=None, description="a candidate policy folder evaluated beside the live one on "
        "every action; where it would decide otherwise, the difference is recorded "
        "(`policy.shadow_differs`); it never decides")
