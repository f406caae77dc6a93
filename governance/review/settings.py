"""The review service's settings (`PROCTOR_REVIEW_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ReviewSettings(BaseSettings):
    """The review service: web UI and REST API for approvers, auditors and administrators."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_REVIEW_", extra="ignore")

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
