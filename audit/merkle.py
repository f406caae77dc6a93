"""A Merkle tree over the ledger in the style of RFC 6962 / RFC 9162.

Leaves and interior nodes are hashed differently (a 0x00 or 0x01 prefix), so no leaf can pass for
a node. `NodeSource` gives the hash of any *perfect* subtree (2**level leaves starting at
index * 2**level); proofs need O(log n) of them, so they stay fast on logs of millions.

    root = tree_root(source, size)
    proof = inclusion_proof(source, index, size)
    verify_inclusion(leaf_hash(data), index, size, proof, root)        # True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


class NodeSource(Protocol):
    def perfect(self, level: int, index: int) -> bytes:
        """Hash of the perfect subtree of 2**level leaves that starts at leaf index * 2**level."""
        ...


class LeafList:
    """A `NodeSource` over leaf hashes held in memory, with every perfect subtree cached."""

    def __init__(self, leaves: Sequence[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        self._complete()

    def append(self, leaf: bytes) -> None:
        self.levels[0].append(leaf)
        self._complete()

    def perfect(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def __len__(self) -> int:
        return len(self.levels[0])

    def _complete(self) -> None:
        level = 0
        while len(self.levels[level]) >= 2:
            below = self.levels[level]
            if len(self.levels) == level + 1:
                self.levels.append([])
            above = self.levels[level + 1]
            for i in range(len(above), len(below) // 2):
                above.append(node_hash(below[2 * i], below[2 * i + 1]))
            level += 1


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(source: NodeSource, start: int, size: int) -> bytes:
    """MTH of the `size` leaves from `start` (RFC 9162 2.1.1), from perfect subtrees."""
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return source.perfect(size.bit_length() - 1, start // size)
    k = _split(size)
    return node_hash(subtree_root(source, start, k), subtree_root(source, start + k, size - k))


def tree_root(source: NodeSource, size: int) -> bytes:
    return subtree_root(source, 0, size)


def inclusion_proof(source: NodeSource, index: int, size: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of the first `size` leaves (RFC 9162 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    proof: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            proof.append(subtree_root(source, start + k, n - k))
            n = k
        else:
            proof.append(subtree_root(source, start, k))
            start, n, m = start + k, n - k, m - k
    return list(reversed(proof))


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def consistency_proof(source: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """Proof that the first `old_size` leaves are a prefix of the first `new_size` (2.1.4.1)."""
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    return _subproof(source, old_size, 0, new_size, True)


def _subproof(source: NodeSource, m: int, start: int, n: int, complete: bool) -> list[bytes]:
    if m == n:
        return [] if complete else [subtree_root(source, start, n)]
    k = _split(n)
    if m <= k:
        return [*_subproof(source, m, start, k, complete),
                subtree_root(source, start + k, n - k)]
    return [*_subproof(source, m - k, start + k, n - k, False), subtree_root(source, start, k)]


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 2.1.4.2."""
    if old_size == new_size:
        return old_root == new_root and not proof
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
