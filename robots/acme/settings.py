"""Where the Acme Payables app is and how its robot signs in (`PROCTOR_ACME_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AcmeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_ACME_", extra="ignore")

    url: str = Field(default="http://127.0.0.1:8765", description="Acme Payables base URL")
    username: str = "clerk"
    password: SecretStr = SecretStr("acme-clerk-pw")
