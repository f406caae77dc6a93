"""The robot toolkit's settings: the browser (`PROCTOR_BROWSER_*`) and evidence
(`PROCTOR_EVIDENCE_*`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.settings import HOME, StateSettings


class BrowserSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_BROWSER_", extra="ignore")

    executable: Path | None = Field(
        default=Path("/usr/bin/chromium"),
        description="Chromium to drive; empty uses Playwright's own (`playwright install`)",
    )
    headless: bool = True
    timeout_ms: float = Field(default=10_000, gt=0, description="Playwright's default timeout")


class EvidenceSettings(StateSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_EVIDENCE_", extra="ignore")

    dir: Path = Field(default=HOME / "evidence",
                      description="screenshots and HTML the robots saw, named by SHA-256")


APP_VARIABLE_PREFIXES = ("PROCTOR_APP_", "PROCTOR_SECRET_", "PROCTOR_ACME_")
"""Environment variables an app declares for itself, known by prefix: an app's settings
(`PROCTOR_APP_<NAME>_*`; the bundled Acme Payables app's own `PROCTOR_ACME_*`) and robots'
secrets (`PROCTOR_SECRET_<APP>_<NAME>`)."""
