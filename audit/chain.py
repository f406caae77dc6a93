"""The hash chain: how an entry's hash is computed and how a sequence of entries is verified.

Each entry's hash covers its sequence number, its content and the hash of the entry before it,
so altering, removing or reordering any entry breaks every hash from that point on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64

# The fields that an entry's hash covers, in the order they are hashed.
HASHED_FIELDS = (
    "seq",
    "recorded_at",
    "kind",
    "actor",
    "flow_run_id",
    "action_id",
    "action_kind",
    "idempotency_key",
    "payload",
    "prev_hash",
)


def canonical_json(value: Any) -> str:
    """Serialize `value` the same way every time: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical form of the hashed fields of one entry."""
    material = canonical_json([fields[name] for name in HASHED_FIELDS])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verification:
    """The result of checking a log: `ok`, entries and checkpoints checked, the first bad entry."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    checkpoints: int = 0

    def describe(self) -> str:
        if self.ok:
            plural = "s match" if self.checkpoints > 1 else " matches"
            signed = f", {self.checkpoints} signed checkpoint{plural}" if self.checkpoints else ""
            return f"ledger OK: {self.checked} entries, hash chain intact{signed}"
        where = f"entry {self.first_bad_seq}" if self.first_bad_seq else "the log"
        return f"ledger BROKEN at {where}: {self.problem}"


class ChainChecker:
    """Checks entries one at a time, in ascending `seq` order."""

    def __init__(self) -> None:
        self.expected_seq, self.prev_hash, self.checked = 1, GENESIS_HASH, 0

    def check(self, row: dict[str, Any]) -> Verification | None:
        """None when `row` continues the chain, else what is wrong with it."""
        seq = row["seq"]
        if seq != self.expected_seq:
            what = "missing" if seq > self.expected_seq else "duplicated or reordered"
            return self._bad(self.expected_seq, f"entry {self.expected_seq} is {what}")
        if row["prev_hash"] != self.prev_hash:
            return self._bad(seq, "previous-hash link broken (entry removed or reordered)")
        if entry_hash(row) != row["entry_hash"]:
            return self._bad(seq, "content does not match its hash (altered)")
        self.prev_hash, self.expected_seq = row["entry_hash"], seq + 1
        self.checked += 1
        return None

    def _bad(self, seq: int, problem: str) -> Verification:
        return Verification(False, self.checked, seq, problem)


def verify_chain(rows: Iterable[dict[str, Any]]) -> Verification:
    """Check entries given in ascending `seq` order; stop at the first one that does not verify."""
    checker = ChainChecker()
    for row in rows:
        bad = checker.check(row)
        if bad is not None:
            return bad
    return Verification(True, checker.checked)
