"""Settings of the Acme Payables demo app, including the knobs for legacy-app faults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class AcmeConfig:
    """How one Acme Payables instance runs: its database, its clerk, and its fault knobs."""

    db_path: Path
    slow_ms: int = 0  # added to every response: a slow legacy app
    session_ttl_s: int = 1800  # idle time after which the session expires
    layout: Literal["classic", "alternate"] = "classic"  # alternate: other ids, names, order
    unlabelled: str | None = None  # this field's label is plain text, not tied to its input
    fail_after_save: int = 0  # this many invoice saves answer 500 *after* saving (a lost reply)
    save_reply_ms: int = 0  # a saved invoice's reply comes this much later (a crash window)
    username: str = "clerk"
    password: str = "acme-clerk-pw"
