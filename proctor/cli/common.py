"""What every command group shares: how a command fails, how it gets the wired-up governance,
who `--as` is, and how a person proves it with their password.

Nothing heavy is imported here at module level: `proctor --help` must stay fast and must not
load Prefect, torch, transformers or Playwright. The composition (which imports Prefect) is
loaded by `load_governance()`, inside the commands that need it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from governance.identity.users import User
    from governance.services import Governance

AsUser = Annotated[
    Optional[str], typer.Option("--as", help="your identity (default: PROCTOR_USER)")
]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON lines")]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read your password from stdin instead of asking")]
PolicyDir = Annotated[Optional[Path], typer.Option(help="default: PROCTOR_POLICY_DIR")]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Proctor's own checkout: its prefect.yaml, used when the current folder has none. State never
goes here: see `state_dir()`."""


def state_dir(*parts: str) -> Path:
    """A path in the project's state folder: `PROCTOR_HOME`, else `./.proctor` of the current
    working directory (never the installed code)."""
    from audit.settings import state_home

    return state_home().joinpath(*parts)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` in red on stderr and exit with `code` (2: the command was misused)."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def load_governance() -> Governance:
    """The default stack, wired from the settings (imports the composition, hence Prefect)."""
    from proctor.composition import build
    from proctor.settings import Settings

    return build(Settings())


def authenticate(governance: Governance, as_user: str | None, password_stdin: bool) -> str:
    """The name of the person `--as` names (default PROCTOR_USER), once their password is
    confirmed; a wrong password is recorded in the ledger and the command exits 1."""
    who = (as_user or governance.settings.user).strip()
    password = (sys.stdin.readline().rstrip("\n") if password_stdin
                else typer.prompt(f"Password for {who}", hide_input=True))
    if governance.identity.check_password(who, password) is None:
        governance.writer.append("access.refused", actor=who or "anonymous", payload={
            "path": "cli", "method": "password", "reason": "wrong user name or password"})
        fail(f"refused: wrong user name or password for {who!r}")
    return who


def require_admin(governance: Governance, as_user: str | None, password_stdin: bool,
                  command: str, *, or_self: str | None = None) -> User:
    """The enabled administrator `--as` names (or, for commands about oneself, the person
    `or_self` names), once their password is confirmed; refused and recorded otherwise."""
    who = authenticate(governance, as_user, password_stdin)
    user = governance.identity.get(who)
    if user is None or (who != or_self and not user.has_role("admin")):
        refuse(governance, who, command, f"{who} is not an administrator")
    return user


def refuse(governance: Governance, who: str, command: str, why: str, code: int = 1) -> NoReturn:
    """Record an administrative command refused (`access.refused`) and exit with `code`."""
    governance.writer.append("access.refused", actor=who or "anonymous", payload={
        "path": f"cli {command}", "method": "admin", "reason": why})
    fail(f"refused: {why}", code)


def read_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in `path`, or a clear exit 2 naming what is wrong with it."""
    from cryptography.exceptions import UnsupportedAlgorithm

    from audit.keys import load_public_key

    try:
        return load_public_key(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read the public key {path}: {exc.strerror or exc}", 2)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        fail(f"{path} is not an Ed25519 public key in PEM form ({exc}); pass the "
             "public_key.pem the ledger's operator gave you", 2)
