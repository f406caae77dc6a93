"""A policy package: the engine's base plus a user's policy folder, as one set of files.

The base (`governance/policy/base/`, shipped as package data) holds the combiner
`proctor.rego`, which turns the `deny` / `approval` / `allow` reason sets into
`data.proctor.decision`, and `defaults.json`, the data it reads. A user's folder holds only
their app's rules, tests and `data.json`; their data wins over the defaults, key by key.

    package = PolicyPackage.load(Path("policies"))
    package.modules()     # [(name, path)]: the base's combiner, then the folder's rules
    package.data()        # defaults.json deep-merged with every data.json of the folder
    package.revision()    # SHA-256 of every policy and data file, the base's included

A folder that still holds its own combiner (a non-test module of package `proctor` defining
`decision`) keeps deciding as it did: the base is then not loaded, and `warning` says so and
what to do. Within a signed bundle the base travels beside the folder's files, under
`BASE_NAME/`, so a worker decides with exactly the base that was signed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from governance.errors import PolicyError

BASE_DIR = Path(str(resources.files("governance.policy") / "base"))
"""The engine's base as installed (tests may point this at a copy)."""
BASE_NAME = "_proctor_base"
"""The base's folder name inside a bundle and in the revision; not a name for user folders."""
COMBINER, DEFAULTS, DATA_FILE = "proctor.rego", "defaults.json", "data.json"

Base = Path | Literal["engine"] | None
"""Which base to load: "engine" (the installed one), a folder holding one, or None (none)."""

_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z0-9_.]+)", re.MULTILINE)
_DECISION_RULE = re.compile(r"^(?:default\s+)?decision\b", re.MULTILINE)


@dataclass(frozen=True)
class PolicyPackage:
    """The files one policy engine loads; see the module docstring."""

    folder: Path
    base: Path | None
    own_combiner: Path | None = None  # the folder's own file defining data.proctor.decision
    warning: str | None = field(default=None, compare=False)

    @classmethod
    def load(cls, folder: Path, base: Base = "engine") -> PolicyPackage:
        """The package for `folder`; raises `PolicyError` when the folder does not exist."""
        folder = Path(folder)
        if not folder.is_dir():
            raise PolicyError(f"policy directory {folder} does not exist")
        base_dir = BASE_DIR if base == "engine" else base
        own = _own_combiner(folder)
        if own is None or base_dir is None:
            return cls(folder, base_dir, own)
        shipped = base_dir / COMBINER
        warning = (f"{own} defines data.proctor.decision itself, so it decides instead of the "
                   f"engine's combiner ({shipped}), and the engine's defaults ({DEFAULTS}) are "
                   "not loaded either. If it is a copy of the shipped proctor.rego, delete it: "
                   "your folder then holds only your app's rules and data, and you get the "
                   "engine's combiner as it is updated.")
        return cls(folder, None, own, warning)

    def modules(self) -> list[tuple[str, Path]]:
        """Every Rego module that makes decisions (tests excluded), base first, by name."""
        base = [(f"{BASE_NAME}/{COMBINER}", self.base / COMBINER)] if self.base else []
        return base + [(n, p) for n, p in self._own("*.rego") if not n.endswith("_test.rego")]

    def tests(self) -> list[tuple[str, Path]]:
        return [(n, p) for n, p in self._own("*_test.rego")]

    def data_files(self) -> list[tuple[str, Path]]:
        base = [(f"{BASE_NAME}/{DEFAULTS}", self.base / DEFAULTS)] if self.base else []
        return base + self._own(DATA_FILE)

    def files(self) -> list[tuple[str, Path]]:
        """Everything a bundle carries: modules, tests and data, by name."""
        return sorted(set(self.modules() + self.tests() + self.data_files()))

    def revision(self) -> str:
        """SHA-256 over the name and bytes of every policy and data file, the base's included
        (a change to the base is a new revision). Without a base it is the folder's revision
        as computed before the base existed."""
        digest = hashlib.sha256()
        for name, path in sorted(self.modules() + self.data_files()):
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        return digest.hexdigest()

    def data(self) -> dict[str, Any]:
        """The base's defaults with every data file of the folder merged over them (objects
        merge key by key; any other value of the folder replaces the default). Raises
        `PolicyError` naming the file for bad JSON, or two folder files disagreeing."""
        merged: dict[str, Any] = {}
        owners: dict[tuple[str, ...], str] = {}
        for name, path in self.data_files():
            value = _read_json(path, name)
            _merge(merged, value, (), owners, name, is_default=name.startswith(BASE_NAME))
        return merged

    def _own(self, pattern: str) -> list[tuple[str, Path]]:
        found = []
        for path in self.folder.rglob(pattern):
            name = path.relative_to(self.folder).as_posix()
            if name.split("/", 1)[0] != BASE_NAME:
                found.append((name, path))
        return sorted(found)


def package_of(source: str) -> str | None:
    match = _PACKAGE.search(source)
    return match.group(1) if match else None


def _own_combiner(folder: Path) -> Path | None:
    for path in sorted(folder.rglob("*.rego")):
        relative = path.relative_to(folder).as_posix()
        if path.name.endswith("_test.rego") or relative.split("/", 1)[0] == BASE_NAME:
            continue
        source = path.read_text("utf-8", errors="replace")
        if package_of(source) == "proctor" and _DECISION_RULE.search(source):
            return path
    return None


def _read_json(path: Path, name: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text("utf-8"))
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{name} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    except OSError as exc:
        raise PolicyError(f"{name}: cannot be read ({exc})") from None
    if not isinstance(value, dict):
        raise PolicyError(f"{name}: must hold one JSON object (its keys become data.<key>), "
                          f"not {type(value).__name__}")
    return value


def _merge(into: dict[str, Any], value: dict[str, Any], at: tuple[str, ...],
           owners: dict[tuple[str, ...], str], name: str, *, is_default: bool) -> None:
    for key, new in value.items():
        path = (*at, key)
        old = into.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            _merge(old, new, path, owners, name, is_default=is_default)
            continue
        owner = owners.get(path)
        if key in into and owner is not None and old != new and not is_default:
            raise PolicyError(f"{name} sets data.{'.'.join(path)}, which {owner} sets to "
                              "another value: keep it in one data file")
        into[key] = new
        if not is_default:
            owners[path] = name
