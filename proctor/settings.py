"""Every setting Proctor reads, joined in one root. Each package owns its own settings model
(`audit.settings`, `governance.policy.settings`, `robots.settings`, `inference.settings`, ...);
this root nests them, as Prefect's settings do. Environment variables are named by path:
`PROCTOR_LEDGER_URL`, `PROCTOR_POLICY_DIR`, `PROCTOR_REVIEW_BASE_URL`, ...

Load once (`Settings()`), pass down explicitly; no other module reads the environment.
An app's own settings (its URL, its robot's account) belong beside its robot, not here.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.settings import LedgerSettings
from governance.approvals.settings import ApprovalSettings
from governance.policy.settings import PolicySettings
from governance.review.settings import ReviewSettings
from inference.settings import InferenceSettings
from robots.settings import BrowserSettings, EvidenceSettings

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".proctor"


class Settings(BaseSettings):
    """The root of all settings."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_", extra="ignore")

    user: str = Field(
        default_factory=getpass.getuser,
        description="who is acting: the requester of a flow run, the approver in the CLI",
    )
    tracing_exporter: str = Field(
        default="none", description="OpenTelemetry spans: none, console or otlp (standard "
        "OTEL_EXPORTER_OTLP_* variables say where)")
    plan: bool = Field(
        default=False, description="plan mode: ask the policy what a run would need, record "
        "and change nothing (`proctor run FLOW --plan`)")
    flow_author: str | None = Field(
        default=None, description="who wrote the flows this worker runs (set per deployment); "
        "they never approve those flows' actions")
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    documents_dir: Path = Field(
        default=STATE / "documents",
        description="the document inbox's state: vector index and labeled examples (unless "
        "PROCTOR_INFERENCE_INDEX_PATH / _EXAMPLES_PATH say otherwise)")
