"""Verifying a whole log: its hash chain, and every signed checkpoint against the entries.

The same function checks the live database and an exported bundle, so both say the same thing
about the same entries: which is the first bad one, and what is wrong (altered, missing,
reordered, forked, truncated, bad signature).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.chain import ChainChecker, Verification
from audit.checkpoints import Checkpoint
from audit.keys import key_id
from audit.tree import RootAccumulator, entry_leaf


def verify_log(rows: Iterable[dict[str, Any]], checkpoints: Sequence[Checkpoint] = (),
               public_key: Ed25519PublicKey | None = None) -> Verification:
    """Check `rows` (ascending seq) and the checkpoints that cover them."""
    ordered = sorted(checkpoints, key=lambda c: c.size)
    if ordered and public_key is None:
        return Verification(False, 0, None, "checkpoints exist but no public key was given")
    for checkpoint in ordered:
        if not checkpoint.signed_by(public_key):  # type: ignore[arg-type]
            return Verification(False, 0, checkpoint.size, (
                f"checkpoint at size {checkpoint.size} has a bad signature: it was not signed "
                f"by key {key_id(public_key)}"))  # type: ignore[arg-type]
    chain, roots = ChainChecker(), RootAccumulator()
    pending, last_good = list(ordered), 0
    for row in rows:
        bad = chain.check(row)
        if bad is not None:
            return bad
        roots.add(entry_leaf(row["entry_hash"]))
        while pending and pending[0].size == roots.size:
            checkpoint = pending.pop(0)
            if roots.root().hex() != checkpoint.root_hash or \
                    row["entry_hash"] != checkpoint.head_hash:
                return Verification(False, chain.checked, last_good + 1, (
                    f"entries {last_good + 1}..{checkpoint.size} do not match the signed "
                    f"checkpoint at size {checkpoint.size}: the log was forked or rewritten "
                    f"after entry {last_good}"))
            last_good = checkpoint.size
    if pending:
        return Verification(False, chain.checked, roots.size + 1, (
            f"entries {roots.size + 1}..{pending[-1].size} are missing: the signed checkpoint "
            f"at size {pending[-1].size} covers them (log truncated)"))
    return Verification(True, chain.checked, checkpoints=len(ordered))
