"""Every setting Proctor reads, in one place. Environment variables are named by path:
`PROCTOR_LEDGER_URL`, `PROCTOR_POLICY_DIR`, `PROCTOR_ACME_PASSWORD`, ...

Load once (`Settings()`), pass down explicitly; no other module reads the environment.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class ApprovalSettings(BaseSettings):
    model_config = _area("APPROVALS")

    poll_interval_s: float = Field(
        default=1.0, gt=0, description="how often a waiting run checks for a resume"
    )
    resume_patience_s: float = Field(
        default=15.0, ge=0, description="how long a decision waits for its run to pause"
    )


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
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    approvals: ApprovalSettings = Field(default_factory=ApprovalSettings)
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    acme: AcmeSettings = Field(default_factory=AcmeSettings)
