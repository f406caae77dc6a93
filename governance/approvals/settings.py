"""How approval waits behave (`PROCTOR_APPROVALS_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApprovalSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_APPROVALS_", extra="ignore")

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
