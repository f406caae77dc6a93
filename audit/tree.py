"""The Merkle tree's perfect subtrees, stored beside the ledger so proofs cost O(log n) reads.

The stored nodes are a cache derived from the entries: a verifier recomputes roots from the
entries themselves, so a tampered node can only produce proofs that fail.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from audit.entries import LedgerEntry
from audit.merkle import EMPTY_ROOT, leaf_hash, node_hash, tree_root
from audit.store import WRITE_OPTION, ensure_tables, lock_for_append


class MerkleNode(SQLModel, table=True):
    __tablename__ = "merkle_nodes"

    level: int = Field(primary_key=True)
    idx: int = Field(primary_key=True)
    hash: bytes


def entry_leaf(entry_hash_hex: str) -> bytes:
    """The Merkle leaf of a ledger entry: its chain hash, leaf-prefixed."""
    return leaf_hash(bytes.fromhex(entry_hash_hex))


class StoredTree:
    """A `NodeSource` over the `merkle_nodes` table; `extend()` catches up with the ledger."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._cache: dict[tuple[int, int], bytes] = {}
        ensure_tables(engine, [MerkleNode.__table__])

    def size(self) -> int:
        with Session(self._engine) as session:
            return session.exec(select(func.count()).select_from(MerkleNode)
                                .where(MerkleNode.level == 0)).one()

    def perfect(self, level: int, index: int) -> bytes:
        key = (level, index)
        if key not in self._cache:
            with Session(self._engine) as session:
                node = session.get(MerkleNode, key)
            if node is None:
                raise LookupError(f"no stored subtree at level {level} index {index}: "
                                  "extend the tree first")
            self._cache[key] = node.hash
        return self._cache[key]

    def root(self, size: int) -> bytes:
        return tree_root(self, size)

    def extend(self, batch: int = 5000) -> int:
        """Add the nodes for every entry appended since the last call; returns the tree size."""
        with self._engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            with conn.begin(), Session(bind=conn) as session:
                lock_for_append(conn)
                size = session.exec(select(func.count()).select_from(MerkleNode)
                                    .where(MerkleNode.level == 0)).one()
                while True:
                    rows = session.exec(select(LedgerEntry.entry_hash)
                                        .where(LedgerEntry.seq > size)
                                        .order_by(col(LedgerEntry.seq)).limit(batch)).all()
                    if not rows:
                        return size
                    session.add_all(self._nodes_for(session, size, rows))
                    session.flush()
                    size += len(rows)

    def _nodes_for(self, session: Session, start: int, hashes: list[str]) -> list[MerkleNode]:
        made: dict[tuple[int, int], bytes] = {}

        def get(level: int, index: int) -> bytes:
            if (level, index) in made:
                return made[(level, index)]
            node = session.get(MerkleNode, (level, index))
            assert node is not None, "the stored tree has a hole"
            return node.hash

        for offset, entry_hash in enumerate(hashes):
            index, level = start + offset, 0
            current = made[(0, index)] = entry_leaf(entry_hash)
            while index & 1:
                current = node_hash(get(level, index - 1), current)
                index, level = index >> 1, level + 1
                made[(level, index)] = current
        return [MerkleNode(level=lv, idx=ix, hash=h) for (lv, ix), h in made.items()]


class RootAccumulator:
    """Roots of every prefix of a stream of leaves, in O(log n) memory (for verification)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # perfect subtrees, largest first
        self.size = 0

    def add(self, leaf: bytes) -> None:
        level, current = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            current, level = node_hash(left, current), level + 1
        self._stack.append((level, current))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        current = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            current = node_hash(left, current)
        return current
