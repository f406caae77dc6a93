"""Credentials for robots, from wherever the deployment keeps them, never in clear text.

    secrets = Secrets.from_settings(SecretsSettings())   # environment, then files, then Prefect
    password = secrets.get("acme/password")              # a pydantic SecretStr
    password = secrets.get("acme/password", default=settings.password)  # or a fallback
    repr(password)                                        # SecretStr('**********')
    attempt.form({"Password": password}).fill()               # typed outside any trace

Providers, each answering `lookup(key) -> SecretStr | None`:

- `EnvironmentSecrets`: `acme/password` is `PROCTOR_SECRET_ACME_PASSWORD`;
- `FileSecrets`: `acme/password` is the file `<dir>/acme/password` (the way Docker and
  Kubernetes mount secrets), one trailing newline removed;
- `PrefectSecrets`: `acme/password` is the Prefect Secret block `acme-password` (deployed runs).

A secret that no provider has is a `SecretNotFound`, which names the key and every place looked,
never a value. A provider that cannot answer (Prefect unreachable) raises `SecretUnavailable`:
an unknown answer is not taken for "no such secret".
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*$")


class SecretsSettings(BaseSettings):
    """Where robots' secrets come from (`PROCTOR_SECRETS_DIR`, `PROCTOR_SECRETS_PREFECT_BLOCKS`).
    """

    model_config = SettingsConfigDict(env_prefix="PROCTOR_SECRETS_", extra="ignore")

    env_prefix: str = Field(default="PROCTOR_SECRET_",
                            description="environment variables holding secrets start so")
    dir: Path | None = Field(default=None, description="a folder of secret files, one per key")
    prefect_blocks: bool = Field(default=False,
                                 description="also look in Prefect Secret blocks (deployments)")


class SecretError(LookupError):
    """Base class: a secret could not be had. Messages name keys, never values."""


class SecretNotFound(SecretError):
    """No provider holds the key."""


class SecretUnavailable(SecretError):
    """A provider could not be asked (e.g. the Prefect API is down); nothing was assumed."""


class SecretProvider(Protocol):
    """One place secrets live."""

    def lookup(self, key: str) -> SecretStr | None:
        """The secret under `key`, or None if this provider has none."""
        ...

    def where(self, key: str) -> str:
        """Where this provider looks for `key`, for error messages."""
        ...


def check_key(key: str) -> str:
    """Keys are path-like names (`acme/password`); anything else is refused."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid secret key {key!r}: use letters, digits, '_', '-', '.' and "
                         "'/' between parts, e.g. 'acme/password'")
    return key


class EnvironmentSecrets:
    """Secrets in environment variables: `acme/password` -> `PROCTOR_SECRET_ACME_PASSWORD`."""

    def __init__(self, prefix: str = "PROCTOR_SECRET_",
                 environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self._environ = environ if environ is not None else os.environ

    def variable(self, key: str) -> str:
        return self.prefix + re.sub(r"[^A-Za-z0-9]", "_", check_key(key)).upper()

    def lookup(self, key: str) -> SecretStr | None:
        value = self._environ.get(self.variable(key))
        return SecretStr(value) if value else None

    def where(self, key: str) -> str:
        return f"environment variable {self.variable(key)}"


class FileSecrets:
    """Secrets in files: `acme/password` -> `<directory>/acme/password`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, key: str) -> Path:
        return self.directory.joinpath(*check_key(key).split("/"))

    def lookup(self, key: str) -> SecretStr | None:
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SecretUnavailable(f"secret file {path} exists but cannot be read "
                                    f"({exc.strerror}): fix its permissions") from None
        text = text[:-1] if text.endswith("\n") else text
        return SecretStr(text) if text else None

    def where(self, key: str) -> str:
        return f"file {self.path(key)}"


class PrefectSecrets:
    """Secrets in Prefect Secret blocks: `acme/password` -> block `acme-password`.

    Prefect is imported on first use only, so robots that never deploy do not pay for it.
    """

    def block_name(self, key: str) -> str:
        return re.sub(r"[^a-z0-9-]", "-", check_key(key).lower())

    def lookup(self, key: str) -> SecretStr | None:
        from prefect.blocks.system import Secret

        name = self.block_name(key)
        try:
            block = Secret.load(name)
        except ValueError:
            return None  # Prefect's answer for "no block document with this name"
        except Exception as exc:
            raise SecretUnavailable(f"could not ask Prefect for secret block {name!r}: "
                                    f"{type(exc).__name__}; is PREFECT_API_URL reachable?"
                                    ) from None
        value = block.get()
        return SecretStr(str(value)) if value else None

    def where(self, key: str) -> str:
        return f"Prefect Secret block {self.block_name(key)!r}"


class Secrets:
    """Providers asked in order; the first that has the key answers."""

    def __init__(self, providers: Sequence[SecretProvider]) -> None:
        if not providers:
            raise ValueError("Secrets needs at least one provider")
        self.providers = tuple(providers)

    @classmethod
    def from_settings(cls, settings: SecretsSettings) -> Secrets:
        providers: list[SecretProvider] = [EnvironmentSecrets(settings.env_prefix)]
        if settings.dir is not None:
            providers.append(FileSecrets(settings.dir))
        if settings.prefect_blocks:
            providers.append(PrefectSecrets())
        return cls(providers)

    def get(self, key: str, default: SecretStr | None = None) -> SecretStr:
        """The secret under `key`; else `default` when one is given (e.g. a demo app's published
        password in its settings); else `SecretNotFound`, which says where it was looked for."""
        for provider in self.providers:
            value = provider.lookup(key)
            if value is not None:
                return value
        if default is not None:
            return default
        places = "; ".join(p.where(key) for p in self.providers)
        raise SecretNotFound(f"no secret {key!r}: looked in {places}. Set one of them.")

    def __repr__(self) -> str:
        return f"Secrets({', '.join(type(p).__name__ for p in self.providers)})"
