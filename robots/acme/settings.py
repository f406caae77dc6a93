"""Where the Acme Payables app is and how its robot signs in (`PROCTOR_ACME_*`).

The password comes from the robot toolkit's `Secrets` under `password_secret` (environment
`PROCTOR_SECRET_ACME_PASSWORD`, the file `<PROCTOR_SECRETS_DIR>/acme/password`, or the Prefect
Secret block `acme-password`); `password` is used only when none of them holds it.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AcmeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_ACME_", extra="ignore")

    url: str = Field(default="http://127.0.0.1:8765", description="Acme Payables base URL")
    username: str = "clerk"
    password_secret: str = Field(
        default="acme/password", description="the key of the robot's password in Secrets")
    password: SecretStr = Field(
        default=SecretStr("acme-clerk-pw"),
        description="the password when no secret store holds `password_secret` (the demo app's "
        "published clerk password)")
