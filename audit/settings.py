"""The ledger's settings (`PROCTOR_LEDGER_*`), nested in the root settings as `ledger`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

STATE = Path(__file__).resolve().parents[1] / ".proctor"


class LedgerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_LEDGER_", extra="ignore")

    url: str = Field(
        default=f"sqlite:///{STATE / 'proctor.db'}",
        description="SQLAlchemy URL of the ledger (and approval store) database",
    )
    busy_timeout_ms: int = Field(
        default=5000, ge=0, description="how long an append waits for a locked SQLite database"
    )
    signing_key: Path = Field(
        default=STATE / "keys" / "ledger-ed25519.pem",
        description="Ed25519 key that signs checkpoints (made on first use, mode 0600)",
    )
    redaction_key: Path = Field(
        default=STATE / "keys" / "redaction.key",
        description="secret that keys the hashes replacing secrets in the ledger (0600)",
    )
    checkpoint_dir: Path = Field(
        default=STATE / "checkpoints",
        description="where signed checkpoints are written for auditors to keep",
    )
    checkpoint_every: int = Field(
        default=1000, ge=0, description="sign a checkpoint every N entries (0: on demand only)"
    )
