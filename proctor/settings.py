"""Every setting Proctor reads, joined in one root. Each package owns its own settings model
(`audit.settings`, `governance.policy.settings`, `robots.settings`, `inference.settings`, ...);
this root nests them, as Prefect's settings do. Environment variables are named by path:
`PROCTOR_LEDGER_URL`, `PROCTOR_POLICY_DIR`, `PROCTOR_REVIEW_BASE_URL`, ...

Load once (`Settings()`), pass down explicitly; no other module reads the environment.
An app's own settings (its URL, its robot's account) belong beside its robot, not here.

State defaults live under the project's state folder, `PROCTOR_HOME` (default `./.proctor` of
the current working directory). Building the root refuses an unknown `PROCTOR_*` variable,
naming the nearest known one (`UnknownSetting`); what is known is `known_variables()`.
"""

from __future__ import annotations

import difflib
import getpass
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.settings import HOME, LedgerSettings, place_state, state_home
from governance.approvals.settings import ApprovalSettings
from governance.policy.settings import PolicySettings
from governance.review.settings import ReviewSettings
from inference.settings import InferenceSettings
from robots.secrets import SecretsSettings
from robots.settings import APP_VARIABLE_PREFIXES, BrowserSettings, EvidenceSettings

OTHER_VARIABLES = frozenset({
    "PROCTOR_PROJECT_DIR",  # `proctor run` / `proctor flows`: the folder of prefect.yaml
    "PROCTOR_CHROMIUM_PATH",  # tests and benchmarks: the Chromium to drive
    "PROCTOR_SOAK",  # tests: the long load test
    "PROCTOR_CRASH_SEED",  # tests: the crash-recovery test's seed
    "PROCTOR_TEST_POSTGRES_URL",  # tests: the PostgreSQL ledger backend
    "PROCTOR_DEMO_REVIEW_URL",  # the demo: its review service
})
"""`PROCTOR_*` variables that are no setting of these models, yet known."""


class UnknownSetting(ValueError):
    """A `PROCTOR_*` environment variable that no setting reads (a typo, most often)."""


def known_variables() -> frozenset[str]:
    """Every `PROCTOR_*` variable a setting reads, and `OTHER_VARIABLES`; apps' and secrets'
    variables are known by prefix (`APP_VARIABLE_PREFIXES`)."""
    names = set(OTHER_VARIABLES)
    for model in (Settings, SecretsSettings):
        names |= _variables(model)
    return frozenset(names)


def _variables(model: type[BaseModel]) -> set[str]:
    prefix = str(model.model_config.get("env_prefix", ""))
    names = set()
    for name, field in model.model_fields.items():
        names.add(f"{prefix}{name}".upper())
        choices = getattr(field.validation_alias, "choices", ())
        names |= {c.upper() for c in choices if isinstance(c, str)}
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            names |= _variables(field.annotation)
    return {n for n in names if n.startswith("PROCTOR_")}


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Raise `UnknownSetting` for the first `PROCTOR_*` variable nothing reads."""
    environ = os.environ if environ is None else environ
    known = known_variables()
    for name in sorted(environ):
        if (name.startswith("PROCTOR_") and name not in known
                and not name.startswith(APP_VARIABLE_PREFIXES)):
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean {near[0]}?" if near else "no setting has a similar name"
            raise UnknownSetting(
                f"unknown environment variable {name}: {hint} (every setting: "
                "docs/reference/settings.md)")


class Settings(BaseSettings):
    """The root of all settings."""

    model_config = SettingsConfigDict(env_prefix="PROCTOR_", extra="ignore")

    def __init__(self, **values: Any) -> None:
        check_environment()
        super().__init__(**values)

    home: Path = Field(
        default=HOME, description="the project's state folder: ledger, keys, checkpoints, "
        "evidence, the document inbox's state (every default shown under `.proctor/`); "
        "relative to the current working directory")
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
        default=HOME / "documents",
        description="the document inbox's state: vector index and labeled examples (unless "
        "PROCTOR_INFERENCE_INDEX_PATH / _EXAMPLES_PATH say otherwise)")

    @model_validator(mode="after")
    def _place_state(self) -> Settings:
        """The state folder made absolute; defaults not set explicitly placed in it, in the
        nested settings built here too."""
        self.__dict__["home"] = (self.home.expanduser().resolve() if "home" in
                                 self.model_fields_set else state_home())
        place_state(self, self.home)
        for name in type(self).model_fields.keys() - self.model_fields_set:
            nested = getattr(self, name)
            if isinstance(nested, BaseModel):
                place_state(nested, self.home)
        return self
