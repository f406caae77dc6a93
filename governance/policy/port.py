"""The policy port: something that turns a policy input into a `Decision`.

Adapters: `governance.policy_regorus.RegorusEngine` (in process, the default).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from governance.models import Decision

DATA_FILE = "data.json"


class PolicyEngine(Protocol):
    """Evaluates the policy. Never raises: any failure comes back as a deny."""

    @property
    def revision(self) -> str:
        """Hash of the policy files and data that make the decisions."""
        ...

    def decide(self, policy_input: dict[str, Any]) -> Decision: ...


def policy_files(policy_dir: Path) -> list[Path]:
    """The Rego modules that make decisions (tests excluded), in a stable order."""
    return sorted(p for p in policy_dir.rglob("*.rego") if not p.name.endswith("_test.rego"))


def test_files(policy_dir: Path) -> list[Path]:
    return sorted(policy_dir.rglob("*_test.rego"))


def data_files(policy_dir: Path) -> list[Path]:
    return sorted(policy_dir.rglob(DATA_FILE))


def policy_revision(policy_dir: Path) -> str:
    """SHA-256 over the relative path and bytes of every policy and data file."""
    digest = hashlib.sha256()
    for path in sorted(policy_files(policy_dir) + data_files(policy_dir)):
        digest.update(path.relative_to(policy_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def decision_from(raw: Any, revision: str, entrypoint: str, **extra: Any) -> Decision:
    """The `Decision` in an engine's raw answer; a missing or malformed answer is a deny."""
    if not isinstance(raw, dict):
        return Decision.deny(f"policy_undefined: {entrypoint} gave {raw!r}", revision)
    try:
        return Decision.model_validate({**raw, "policy_revision": revision, **extra})
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return Decision.deny(f"policy_output_invalid: {problem}", revision)
