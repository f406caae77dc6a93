"""Settings of the Acme Payables demo app, including the knobs for legacy-app faults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class AcmeConfig:
    db_path: Path
    slow_ms: int = 0  # added to every response: a slow legacy app
    session_ttl_s: int = 1800  # idle time after which the session expires
    layout: Literal["classic", "alternate"] = "classic"  # alternate: other ids, names, order
    username: str = "clerk"
    password: str = "acme-clerk-pw"
