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
    """The result of checking a chain: `ok`, entries checked, and the first bad one."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"ledger OK: {self.checked} entries, hash chain intact"
        return f"ledger BROKEN at entry {self.first_bad_seq}: {self.problem}"


def verify_chain(rows: Iterable[dict[str, Any]]) -> Verification:
    """Check entries given in ascending `seq` order; stop at the first one that does not verify."""
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    for row in rows:
        seq = row["seq"]
        if seq != expected_seq:
            what = "missing" if seq > expected_seq else "duplicated or reordered"
            return Verification(False, checked, expected_seq, f"entry {expected_seq} is {what}")
        if row["prev_hash"] != prev_hash:
            return Verification(
                False, checked, seq, "previous-hash link broken (entry removed or reordered)"
            )
        if entry_hash(row) != row["entry_hash"]:
            return Verification(False, checked, seq, "content does not match its hash (altered)")
        prev_hash, expected_seq, checked = row["entry_hash"], seq + 1, checked + 1
    return Verification(True, checked)
