"""Signed checkpoints: (tree size, root hash, head entry, time) signed with Ed25519.

A checkpoint commits the ledger to its first `size` entries: any later change to one of them,
a removal, a reordering or a rewritten tail gives another root, and only the key holder can sign
a new one. Checkpoints are stored in the database and written as files for auditors to keep.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit.entries import LedgerEntry
from audit.keys import key_id, sign, signature_ok
from audit.merkle import inclusion_proof, verify_inclusion
from audit.store import ensure_tables
from audit.tree import StoredTree, entry_leaf


class Checkpoint(SQLModel, table=True):
    __tablename__ = "ledger_checkpoints"

    size: int = Field(primary_key=True, description="number of entries covered")
    root_hash: str = Field(description="Merkle root of entries 1..size, hex")
    head_hash: str = Field(description="chain hash of entry `size`, hex")
    created_at: str
    key_id: str
    signature: str = Field(description="Ed25519 over message(), base64")

    def message(self) -> bytes:
        """The exact bytes that are signed."""
        return (f"proctor-ledger-checkpoint/v1\nsize {self.size}\nroot {self.root_hash}\n"
                f"head {self.head_hash}\ntime {self.created_at}\nkey {self.key_id}\n").encode()

    def signed_by(self, key: Ed25519PublicKey) -> bool:
        return self.key_id == key_id(key) and signature_ok(key, self.message(), self.signature)


class Checkpoints:
    """Makes, stores and lists checkpoints of one ledger."""

    def __init__(self, engine: Engine, key: Ed25519PrivateKey, out_dir: Path | None = None):
        self._engine = engine
        self._key = key
        self._out_dir = out_dir
        self.tree = StoredTree(engine)
        ensure_tables(engine, [Checkpoint.__table__])

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def make(self) -> Checkpoint | None:
        """Sign the ledger as it is now; None while it is empty. Idempotent per size."""
        size = self.tree.extend()
        if size == 0:
            return None
        with Session(self._engine) as session:
            existing = session.get(Checkpoint, size)
            if existing is not None:
                return existing
            head = session.exec(select(LedgerEntry.entry_hash)
                                .where(LedgerEntry.seq == size)).one()
            checkpoint = Checkpoint(size=size, root_hash=self.tree.root(size).hex(),
                                    head_hash=head, key_id=key_id(self.public_key),
                                    created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                                    signature="")
            checkpoint.signature = sign(self._key, checkpoint.message())
            session.add(checkpoint)
            session.commit()
            session.refresh(checkpoint)
        self._write_file(checkpoint)
        return checkpoint

    def inclusion(self, seq: int, size: int | None = None) -> dict[str, Any]:
        """The inclusion proof of entry `seq` in the signed checkpoint of `size` (default: the
        latest), with the hashes a verifier needs; raises LookupError when none covers it."""
        signed = {c.size: c for c in self.all()}
        size = size or max(signed, default=0)
        if size not in signed or not 1 <= seq <= size:
            raise LookupError(f"no signed checkpoint of size {size} covers entry {seq}: "
                              "make one with `proctor audit checkpoint`")
        with Session(self._engine) as session:
            head = session.exec(select(LedgerEntry.entry_hash)
                                .where(LedgerEntry.seq == seq)).one()
        leaf, root = entry_leaf(head), bytes.fromhex(signed[size].root_hash)
        path = inclusion_proof(self.tree, seq - 1, size)
        return {"seq": seq, "leaf_index": seq - 1, "tree_size": size, "leaf_hash": leaf.hex(),
                "root_hash": root.hex(), "proof": [h.hex() for h in path],
                "verified": verify_inclusion(leaf, seq - 1, size, path, root)}

    def all(self) -> list[Checkpoint]:
        with Session(self._engine) as session:
            return list(session.exec(select(Checkpoint).order_by(col(Checkpoint.size))).all())

    def _write_file(self, checkpoint: Checkpoint) -> None:
        if self._out_dir is None:
            return
        self._out_dir.mkdir(parents=True, exist_ok=True)
        path = self._out_dir / f"checkpoint-{checkpoint.size:012d}.json"
        path.write_text(json.dumps(checkpoint.model_dump(), indent=2) + "\n")
