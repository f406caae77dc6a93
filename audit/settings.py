"""The ledger's settings (`PROCTOR_LEDGER_*`), nested in the root settings as `ledger`.

Also where every package's state defaults come from: a default written under `.proctor/`
(`HOME`) means "in the project's state folder", which is `PROCTOR_HOME` when set, else
`.proctor` in the current working directory (the user's project), never the installed code.
A value set explicitly (`PROCTOR_LEDGER_URL`, a keyword argument) is kept as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HOME = Path(".proctor")
"""How state defaults are written: relative to the project's state folder."""
HOME_VARIABLE = "PROCTOR_HOME"
_SQLITE = f"sqlite:///{HOME}/"


def state_home(environ: Mapping[str, str] | None = None) -> Path:
    """The project's state folder, absolute: `PROCTOR_HOME`, else `./.proctor` of the current
    working directory."""
    value = (os.environ if environ is None else environ).get(HOME_VARIABLE, "")
    return Path(value or HOME).expanduser().resolve()


def in_home(default: Any, home: Path) -> Any:
    """`default` moved into `home` if it is written under `.proctor/` (a path or a SQLite URL);
    anything else unchanged."""
    if isinstance(default, Path) and not default.is_absolute() and default.parts[:1] == HOME.parts:
        return home.joinpath(*default.parts[1:])
    if isinstance(default, str) and default.startswith(_SQLITE):
        return f"sqlite:///{home / default.removeprefix(_SQLITE)}"
    return default


def place_state(model: BaseModel, home: Path | None = None) -> None:
    """Put each state default of `model` that was not set explicitly under `home` (default:
    `state_home()`)."""
    home = state_home() if home is None else home
    for name, field in type(model).model_fields.items():
        if name not in model.model_fields_set:
            moved = in_home(field.default, home)
            if moved is not field.default:
                model.__dict__[name] = moved


class StateSettings(BaseSettings):
    """Settings whose defaults under `.proctor/` live in the project's state folder."""

    @model_validator(mode="after")
    def _place_state(self) -> StateSettings:
        place_state(self)
        return self


class LedgerSettings(StateSettings):
    model_config = SettingsConfigDict(env_prefix="PROCTOR_LEDGER_", extra="ignore")

    url: str = Field(
        default=f"{_SQLITE}proctor.db",
        description="SQLAlchemy URL of the ledger (and approval store) database",
    )
    busy_timeout_ms: int = Field(
        default=5000, ge=0, description="how long an append waits for a locked SQLite database"
    )
    signing_key: Path = Field(
        default=HOME / "keys" / "ledger-ed25519.pem",
        description="Ed25519 key that signs checkpoints (made on first use, mode 0600)",
    )
    redaction_key: Path = Field(
        default=HOME / "keys" / "redaction.key",
        description="secret that keys the hashes replacing secrets in the ledger (0600)",
    )
    checkpoint_dir: Path = Field(
        default=HOME / "checkpoints",
        description="where signed checkpoints are written for auditors to keep",
    )
    checkpoint_every: int = Field(
        default=1000, ge=0, description="sign a checkpoint every N entries (0: on demand only)"
    )
