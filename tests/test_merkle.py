"""RFC 6962/9162 Merkle proofs: every index and size pair verifies; any change fails."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import (
    LeafList,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [leaf_hash(str(i).encode()) for i in range(70)]
SOURCE = LeafList(LEAVES)


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962's recursive definition, straight from the text."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


def test_root_matches_the_rfc_definition() -> None:
    for size in range(0, 70):
        assert tree_root(SOURCE, size) == reference_root(LEAVES[:size])


def test_rfc6962_known_answer() -> None:
    # The empty tree and a one-leaf tree over the empty string, from RFC 6962's test vectors.
    assert tree_root(LeafList(), 0).hex().startswith("e3b0c442")
    assert tree_root(LeafList([leaf_hash(b"")]), 1).hex().startswith("6e340b9c")


def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not() -> None:
    for size in range(1, 40):
        root = tree_root(SOURCE, size)
        for index in range(size):
            proof = inclusion_proof(SOURCE, index, size)
            assert verify_inclusion(LEAVES[index], index, size, proof, root)
            assert not verify_inclusion(LEAVES[index], (index + 1) % size, size, proof, root) \
                or size == 1
            assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)


def test_every_consistency_proof_verifies_and_a_fork_does_not() -> None:
    forked = LeafList([*LEAVES[:10], leaf_hash(b"forged"), *LEAVES[11:]])
    for new in range(1, 40):
        for old in range(1, new + 1):
            proof = consistency_proof(SOURCE, old, new)
            old_root, new_root = tree_root(SOURCE, old), tree_root(SOURCE, new)
            assert verify_consistency(old, new, old_root, new_root, proof)
            if old > 10:
                assert not verify_consistency(old, new, tree_root(forked, old), new_root, proof)


def test_proofs_are_logarithmic() -> None:
    big = LeafList([leaf_hash(i.to_bytes(4, "big")) for i in range(4097)])
    assert len(inclusion_proof(big, 1234, 4097)) <= 13
    assert len(consistency_proof(big, 1000, 4097)) <= 2 * 13


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(SOURCE, 5, 5)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(SOURCE, 6, 5)
