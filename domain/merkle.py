"""RFC 9162 (Certificate Transparency v2) Merkle trees, §2.1: the tree head, inclusion and
consistency proofs, and their verification.

A proof is a list of MTH(D[a:b]) over ranges [a, b) the RFC's recursion picks; each such range
starts at a multiple of a power of two at least its length, so its hash is the fold of the
complete, aligned subtrees its length's binary digits name (at most log2 n of them). The tree
is therefore stored as those complete subtrees only, keyed by (level, index) — subtree `index`
of level `level` covers leaves [index·2^level, (index+1)·2^level) — and every function here
takes such a store: a mapping the caller fills with `subtrees_for(...)`. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

Subtree = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)

LEAF_PREFIX, NODE_PREFIX = b"\x00", b"\x01"


class ProofError(ValueError):
    """A proof asked for sizes or indexes that name no proof (m == 0, m > n, index >= n)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def empty_root() -> bytes:
    """MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1)."""
    return hashlib.sha256(b"").digest()


def completed_by(leaf_index: int, leaf: bytes, left_of: Mapping[Subtree, bytes]) -> list[
    tuple[Subtree, bytes]
]:
    """The subtrees appending leaf `leaf_index` completes, the leaf first: each one's left
    sibling is a subtree completed earlier (`left_of` holds those, see `left_siblings`)."""
    completed = [((0, leaf_index), leaf)]
    level, index, digest = 0, leaf_index, leaf
    while index & 1:
        digest = node_hash(left_of[(level, index - 1)], digest)
        level, index = level + 1, index >> 1
        completed.append(((level, index), digest))
    return completed


def left_siblings(leaf_index: int) -> list[Subtree]:
    """What `completed_by` reads to append leaf `leaf_index`."""
    siblings, level, index = [], 0, leaf_index
    while index & 1:
        siblings.append((level, index - 1))
        level, index = level + 1, index >> 1
    return siblings


def split(size: int) -> int:
    """The largest power of two smaller than `size` (size > 1): where the RFC splits D[n]."""
    return 1 << ((size - 1).bit_length() - 1)


def decompose(start: int, end: int) -> list[Subtree]:
    """The complete aligned subtrees covering [start, end), left to right."""
    subtrees = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while start + (1 << level) > end:
            level -= 1
        subtrees.append((level, start >> level))
        start += 1 << level
    return subtrees


def range_hash(start: int, end: int, store: Mapping[Subtree, bytes]) -> bytes:
    """MTH(D[start:end]) for a range the RFC's recursion names: its subtrees folded from the
    right, as the recursion splits off the largest power of two on the left each time."""
    if start == end:
        return empty_root()
    parts = [store[subtree] for subtree in decompose(start, end)]
    digest = parts[-1]
    for part in reversed(parts[:-1]):
        digest = node_hash(part, digest)
    return digest


def subtrees_for(ranges: Iterable[Range]) -> set[Subtree]:
    """The stored subtrees the ranges' hashes are made of."""
    return {subtree for start, end in ranges for subtree in decompose(start, end)}


def root_ranges(size: int) -> list[Range]:
    return [(0, size)]


def inclusion_ranges(leaf_index: int, size: int) -> list[Range]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1) as ranges, in the proof's order (nearest the leaf
    first)."""
    if not 0 <= leaf_index < size:
        raise ProofError(f"leaf {leaf_index} is not in a tree of {size} leaves")
    path: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split(end - start)
        if leaf_index - start < k:
            path.append((start + k, end))
            end = start + k
        else:
            path.append((start, start + k))
            start += k
    return path[::-1]


def consistency_ranges(first: int, second: int) -> list[Range]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1) as ranges, in the proof's order; empty when m == n."""
    if not 0 < first <= second:
        raise ProofError(f"no consistency proof from {first} leaves to {second}")
    proof: list[Range] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split(end - start)
        if m <= k:
            proof.append((start + k, end))
            end = start + k
        else:
            proof.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append((start, end))
    return proof[::-1]


def hashes_of(ranges: Sequence[Range], store: Mapping[Subtree, bytes]) -> list[bytes]:
    return [range_hash(start, end, store) for start, end in ranges]


def verify_inclusion(
    leaf: bytes, leaf_index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, `leaf` being the leaf's hash."""
    if leaf_index >= size or leaf_index < 0:
        return False
    fn, sn, r = leaf_index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2. The same size twice is consistent with an empty proof and the same
    root (the RFC leaves that case to the caller); a tree of no leaf has no proof."""
    if not 0 < first <= second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a subtree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


def tree_store(leaves: Sequence[bytes]) -> dict[Subtree, bytes]:
    """Every complete subtree of the leaf hashes, as the incremental read model stores them."""
    store: dict[Subtree, bytes] = {}
    for index, leaf in enumerate(leaves):
        store.update(completed_by(index, leaf, store))
    return store
