"""RFC 9162 Merkle trees (domain/merkle.py): hand-computed small trees, the RFC's edge cases,
and every proof for random sizes checked against the RFC's recursive definitions, written
out here over plain lists as the RFC states them."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import merkle
from domain.merkle import ProofError


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def entries(n: int) -> list[bytes]:
    return [sha(str(i).encode()) for i in range(n)]


# --- the RFC's definitions, literally (§2.1.1, §2.1.3.1, §2.1.4.1) --------------------------


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha(b"")
    if len(d) == 1:
        return sha(b"\x00" + d[0])
    k = merkle.split(len(d))
    return sha(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = merkle.split(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    if m == len(d):
        return [] if whole else [mth(d)]
    k = merkle.split(len(d))
    if m <= k:
        return [*subproof(m, d[:k], whole), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


class Tree:
    """The module's view of a tree of `n` leaves: its stored subtrees, proofs made from them."""

    def __init__(self, d: list[bytes]):
        self.d = d
        self.store = merkle.tree_store([merkle.leaf_hash(e) for e in d])

    def root(self, size: int) -> bytes:
        return merkle.hashes_of(merkle.root_ranges(size), self.store)[0]

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return merkle.hashes_of(merkle.inclusion_ranges(index, size), self.store)

    def consistency(self, first: int, second: int) -> list[bytes]:
        return merkle.hashes_of(merkle.consistency_ranges(first, second), self.store)


# --- hand-computed ---------------------------------------------------------------------------


def test_a_tree_of_three_leaves_has_the_root_the_rfc_draws():
    a, b, c = (merkle.leaf_hash(e) for e in entries(3))
    expected = merkle.node_hash(merkle.node_hash(a, b), c)

    tree = Tree(entries(3))

    assert tree.root(3) == expected
    assert tree.root(2) == merkle.node_hash(a, b)
    assert tree.root(1) == a
    assert tree.inclusion(2, 3) == [merkle.node_hash(a, b)]
    assert tree.inclusion(0, 3) == [b, c]
    assert tree.consistency(2, 3) == [c]
    assert tree.consistency(1, 3) == [b, c]


def test_a_tree_of_seven_leaves_proves_leaf_three_and_size_three_as_the_rfc_example():
    # RFC 9162 §2.1.5: d's path in the 7-leaf tree is [c, g, l]; PROOF(3, D[7]) = [c, d, g, l].
    leaves = [merkle.leaf_hash(e) for e in entries(7)]
    a, b, c, d, e, f, j = leaves
    g, h = merkle.node_hash(a, b), merkle.node_hash(c, d)
    i, k = merkle.node_hash(e, f), merkle.node_hash(g, h)
    l_ = merkle.node_hash(i, j)
    tree = Tree(entries(7))

    assert tree.root(7) == merkle.node_hash(k, l_)
    assert tree.inclusion(3, 7) == [c, g, l_]
    assert tree.consistency(3, 7) == [c, d, g, l_]
    assert tree.consistency(4, 7) == [l_]
    assert tree.consistency(6, 7) == [i, j, k]


def test_the_empty_tree_has_the_hash_of_nothing():
    assert Tree([]).root(0) == sha(b"")


def test_appending_a_leaf_stores_only_the_subtrees_it_completes():
    store = merkle.tree_store([merkle.leaf_hash(e) for e in entries(7)])
    leaf = merkle.leaf_hash(b"eighth")
    completed = merkle.completed_by(7, leaf, store)

    assert [subtree for subtree, _ in completed] == [(0, 7), (1, 3), (2, 1), (3, 0)]
    assert merkle.left_siblings(7) == [(0, 6), (1, 2), (2, 0)]
    assert merkle.completed_by(8, leaf, store) == [((0, 8), leaf)]


def test_a_root_reads_no_more_stored_subtrees_than_the_size_has_binary_ones():
    for size in (1, 6, 1000, 1_000_003, 2**40 - 1):
        assert len(merkle.subtrees_for(merkle.root_ranges(size))) == bin(size).count("1")


# --- the RFC's edge cases --------------------------------------------------------------------


def test_a_consistency_proof_between_equal_sizes_is_empty_and_needs_equal_roots():
    tree = Tree(entries(5))

    assert tree.consistency(5, 5) == []
    assert merkle.verify_consistency(5, 5, tree.root(5), tree.root(5), [])
    assert not merkle.verify_consistency(5, 5, tree.root(5), tree.root(4), [])
    assert not merkle.verify_consistency(5, 5, tree.root(5), tree.root(5), [tree.root(5)])


@pytest.mark.parametrize(("first", "second"), [(0, 5), (0, 0), (6, 5), (-1, 3)])
def test_a_consistency_proof_from_no_leaf_or_back_in_time_is_refused(first, second):
    with pytest.raises(ProofError):
        merkle.consistency_ranges(first, second)
    assert not merkle.verify_consistency(first, second, sha(b""), sha(b""), [sha(b"")])


@pytest.mark.parametrize(("index", "size"), [(5, 5), (0, 0), (-1, 4)])
def test_an_inclusion_proof_outside_the_tree_is_refused(index, size):
    with pytest.raises(ProofError):
        merkle.inclusion_ranges(index, size)
    assert not merkle.verify_inclusion(sha(b"x"), index, size, [], sha(b"x"))


def test_a_single_leaf_proves_itself_with_an_empty_path():
    tree = Tree(entries(1))
    leaf = merkle.leaf_hash(entries(1)[0])

    assert tree.inclusion(0, 1) == []
    assert merkle.verify_inclusion(leaf, 0, 1, [], tree.root(1))


def test_an_empty_proof_between_different_sizes_fails():
    tree = Tree(entries(8))
    assert not merkle.verify_consistency(4, 8, tree.root(4), tree.root(8), [])


def test_a_proof_one_hash_too_long_fails():
    tree = Tree(entries(6))
    leaf = merkle.leaf_hash(entries(6)[2])
    proof = tree.inclusion(2, 6)

    assert merkle.verify_inclusion(leaf, 2, 6, proof, tree.root(6))
    assert not merkle.verify_inclusion(leaf, 2, 6, [*proof, sha(b"")], tree.root(6))
    assert not merkle.verify_inclusion(leaf, 2, 6, proof[:-1], tree.root(6))


# --- random sizes, against the definitions ---------------------------------------------------

sizes = st.integers(min_value=1, max_value=70)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_every_inclusion_proof_is_the_rfcs_and_verifies_and_a_flipped_hash_fails(data, n):
    d = entries(n)
    tree = Tree(d)
    size = data.draw(st.integers(1, n), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    leaf, root = merkle.leaf_hash(d[index]), tree.root(size)
    proof = tree.inclusion(index, size)

    assert root == mth(d[:size])
    assert proof == path(index, d[:size])
    assert merkle.verify_inclusion(leaf, index, size, proof, root)
    assert not merkle.verify_inclusion(flip(leaf), index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size, proof, flip(root))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="flipped")
        assert not merkle.verify_inclusion(leaf, index, size, flipped(proof, at), root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        assert not merkle.verify_inclusion(leaf, other, size, proof, root)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), n=sizes)
def test_every_consistency_proof_is_the_rfcs_and_verifies_and_a_flipped_hash_fails(data, n):
    d = entries(n)
    tree = Tree(d)
    second = data.draw(st.integers(1, n), label="second")
    first = data.draw(st.integers(1, second), label="first")
    old, new = tree.root(first), tree.root(second)
    proof = tree.consistency(first, second)

    assert proof == subproof(first, d[:second], True)
    assert merkle.verify_consistency(first, second, old, new, proof)
    assert not merkle.verify_consistency(first, second, flip(old), new, proof)
    assert not merkle.verify_consistency(first, second, old, flip(new), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1), label="flipped")
        assert not merkle.verify_consistency(first, second, old, new, flipped(proof, at))
    if first < second:
        # Another old tree (one leaf changed) is not extended by the new one.
        forged = Tree([*d[: first - 1], sha(b"forged")]).root(first)
        assert not merkle.verify_consistency(first, second, forged, new, proof)


def flip(digest: bytes) -> bytes:
    return bytes([digest[0] ^ 1]) + digest[1:]


def flipped(proof: list[bytes], at: int) -> list[bytes]:
    return [flip(h) if i == at else h for i, h in enumerate(proof)]
