"""Ledger exports: everything an auditor needs to check the ledger offline, with nothing else.

    DIR/entries.jsonl      every entry, in order, with its hashes
    DIR/checkpoints.json   the signed checkpoints
    DIR/public_key.pem     the key that signed them (compare its id with the one you trust)
    DIR/proofs.json        consistency proofs between consecutive checkpoints
    DIR/manifest.json      counts, key id, when and how the export was made
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from audit.chain import Verification
from audit.checkpoints import Checkpoint, Checkpoints
from audit.keys import key_id, load_public_key, public_pem
from audit.ledger import LedgerReader
from audit.merkle import consistency_proof, verify_consistency
from audit.verify import verify_log

FORMAT = "proctor-ledger-export/v1"  # "proctor-evidence-bundle/v1" before: the same files


def export_ledger(reader: LedgerReader, checkpoints: Checkpoints, out: Path) -> dict[str, Any]:
    """Write the export to `out` (a new or empty folder); returns the manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; export into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    checkpoints.make()  # the export ends on a checkpoint of everything in it
    signed = checkpoints.all()
    count = 0
    with (out / "entries.jsonl").open("w", encoding="utf-8") as entries:
        for row in reader.rows():
            entries.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    (out / "checkpoints.json").write_text(json.dumps([c.model_dump() for c in signed], indent=2))
    (out / "public_key.pem").write_text(public_pem(checkpoints.public_key))
    proofs = [{"old_size": a.size, "new_size": b.size,
               "proof": [h.hex() for h in consistency_proof(checkpoints.tree, a.size, b.size)]}
              for a, b in zip(signed, signed[1:], strict=False)]
    (out / "proofs.json").write_text(json.dumps(proofs, indent=2))
    manifest = {"format": FORMAT, "entries": count, "checkpoints": len(signed),
                "key_id": key_id(checkpoints.public_key),
                "exported_at": datetime.now(UTC).isoformat(timespec="seconds")}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def verify_export(folder: Path, trusted_key: Ed25519PublicKey | None = None) -> Verification:
    """Check an export with nothing but its files (and, ideally, the key you trust)."""
    folder = Path(folder)
    try:
        exported_key = load_public_key((folder / "public_key.pem").read_bytes())
        signed = [Checkpoint(**c) for c in json.loads((folder / "checkpoints.json").read_text())]
        proofs = json.loads((folder / "proofs.json").read_text())
    except (OSError, ValueError, TypeError) as exc:
        return Verification(False, 0, None, f"export {folder} is incomplete or malformed: {exc}")
    key = trusted_key or exported_key
    if trusted_key is not None and key_id(trusted_key) != key_id(exported_key):
        return Verification(False, 0, None, (
            f"the export's key {key_id(exported_key)} is not the trusted key {key_id(trusted_key)}"
            ": its checkpoints were signed by someone else"))
    bad_proof = _check_proofs(signed, proofs)
    if bad_proof is not None:
        return bad_proof
    try:
        return verify_log(_entries(folder / "entries.jsonl"), signed, key)
    except _BadLine as exc:
        return Verification(False, 0, None, str(exc))


def _check_proofs(signed: list[Checkpoint], proofs: list[dict[str, Any]]) -> Verification | None:
    by_size = {c.size: c for c in signed}
    for item in proofs:
        old, new = by_size.get(item["old_size"]), by_size.get(item["new_size"])
        path = [bytes.fromhex(h) for h in item["proof"]]
        if old is None or new is None or not verify_consistency(
                old.size, new.size, bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash),
                path):
            return Verification(False, 0, item["old_size"] + 1, (
                f"checkpoints at sizes {item['old_size']} and {item['new_size']} are not "
                "consistent: the log was forked between them"))
    return None


class _BadLine(ValueError):
    pass


def _entries(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise _BadLine(f"entries.jsonl line {number} is not valid JSON: {exc}") from None
