"""Every setting Proctor reads, in one place. Environment variables are named by path:
`PROCTOR_LEDGER_URL`, `PROCTOR_POLICY_DIR`, `PROCTOR_ACME_PASSWORD`, ...

Load once (`Settings()`), pass down explicitly; no other module reads the environment.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.settings import InferenceSettings

ROOT = Path(__file__).resolve().parent.parent


def _area(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=f"PROCTOR_{prefix}_", extra="ignore")


class LedgerSettings(BaseSettings):
    model_config = _area("LEDGER")

    url: str = Field(
        default=f"sqlite:///{ROOT / '.proctor' / 'proctor.db'}",
        description="SQLAlchemy URL of the ledger (and approval store) database",
    )
    busy_timeout_ms: int = Field(
        default=5000, ge=0, description="how long an append waits for a locked SQLite database"
    )
    signing_key: Path = Field(
        default=ROOT / ".proctor" / "keys" / "ledger-ed25519.pem",
        description="Ed25519 key that signs checkpoints (made on first use, mode 0600)",
    )
    redaction_key: Path = Field(
        default=ROOT / ".proctor" / "keys" / "redaction.key",
        description="secret that keys the hashes replacing secrets in the ledger (0600)",
    )
    checkpoint_dir: Path = Field(
        default=ROOT / ".proctor" / "checkpoints",
        description="where signed checkpoints are written for auditors to keep",
    )
    checkpoint_every: int = Field(
        default=1000, ge=0, description="sign a checkpoint every N entries (0: on demand only)"
    )


class PolicySettings(BaseSettings):
    model_config = _area("POLICY")

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
    bundle_workdir: Path = Field(default=ROOT / ".proctor" / "bundles",
                                 description="where verified bundles are unpacked")
    signing_key: Path = Field(default=ROOT / ".proctor" / "keys" / "policy-ed25519.pem",
                              description="the key `proctor policy bundle` signs with")
    shadow_dir: Path | None = Field(
        default=None, description="a candidate policy folder evaluated beside the live one on "
        "every action; where it would decide otherwise, the difference is recorded "
        "(`policy.shadow_differs`); it never decides")


class ApprovalSettings(BaseSettings):
    model_config = _area("APPROVALS")

    poll_interval_s: float = Field(
        default=1.0, gt=0, description="how often a waiting run checks for a resume"
    )
    resume_patience_s: float = Field(
        default=15.0, ge=0, description="how long a decision waits for its run to pause"
    )
    suspend_after_s: float = Field(
        default=300.0, ge=0, description="a deployed run with longer than this left to wait "
        "is suspended (its process exits, freeing the worker) instead of paused"
    )


class ReviewSettings(BaseSettings):
    """The review service: web UI and REST API for approvers, auditors and administrators."""

    model_config = _area("REVIEW")

    base_url: str = Field(default="http://127.0.0.1:8700",
                          description="how approvers reach the review UI (links in notices)")
    secure_cookies: bool = Field(default=True,
                                 description="session cookies only over HTTPS (and localhost)")
    idle_timeout_s: int = Field(default=900, gt=0, description="a session unused this long ends")
    absolute_timeout_s: int = Field(default=8 * 3600, gt=0,
                                    description="a session ends this long after login, in use "
                                    "or not")
    reauth_window_s: int = Field(default=300, ge=0,
                                 description="a password confirmed this recently counts for "
                                 "high-risk approvals (0: ask every time)")
    login_attempts: int = Field(default=5, ge=1,
                                description="failed logins per user (and per address) allowed "
                                "in `login_window_s`")
    login_window_s: int = Field(default=900, gt=0)
    sweep_interval_s: float = Field(default=5.0, gt=0,
                                    description="how often expiry and escalation are applied")
    smtp_host: str | None = Field(default=None, description="notify approvers by email via this")
    smtp_port: int = 25
    smtp_sender: str = "proctor@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    webhook_url: str | None = Field(default=None, description="POST every notice here (JSON)")
    webhook_secret: SecretStr | None = Field(default=None,
                                             description="HMAC-SHA256 key signing webhook bodies")


class BrowserSettings(BaseSettings):
    model_config = _area("BROWSER")

    executable: Path | None = Field(
        default=Path("/usr/bin/chromium"),
        description="Chromium to drive; empty uses Playwright's own (`playwright install`)",
    )
    headless: bool = True
    timeout_ms: float = Field(default=10_000, gt=0, description="Playwright's default timeout")


class EvidenceSettings(BaseSettings):
    model_config = _area("EVIDENCE")

    dir: Path = Field(default=ROOT / ".proctor" / "evidence",
                      description="screenshots and HTML the robots saw, named by SHA-256")


class AcmeSettings(BaseSettings):
    model_config = _area("ACME")

    url: str = Field(default="http://127.0.0.1:8765", description="Acme Payables base URL")
    username: str = "clerk"
    password: SecretStr = SecretStr("acme-clerk-pw")


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
    acme: AcmeSettings = Field(default_factory=AcmeSettings)
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    documents_dir: Path = Field(
        default=ROOT / ".proctor" / "documents",
        description="the document inbox's state: vector index and labeled examples (unless "
        "PROCTOR_INFERENCE_INDEX_PATH / _EXAMPLES_PATH say otherwise)")
