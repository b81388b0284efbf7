"""Client-side verification of Merkle proofs, written from RFC 9162 alone.

Deliberately independent of :mod:`transparency.tree`: the verifiers below are the bit-walking
algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, and :func:`root_from_leaves` is the recursive
definition of §2.1.1. A bug in the tree code therefore shows up as a failed verification
instead of being reproduced by the checker. Every function returns ``False`` (never raises)
on malformed input such as a wrong hash length or an impossible index.
"""

from __future__ import annotations

from collections.abc import Sequence

from transparency.hashing import EMPTY_ROOT, HASH_SIZE, node_hash


def _hashes_ok(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def root_from_leaves(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) straight from its definition (RFC 9162 §2.1.1), in O(n) hashes.

    MTH({}) = SHA-256(""); MTH({d}) = the leaf hash; otherwise, with k the largest power of
    two smaller than n, MTH(D[n]) = node_hash(MTH(D[0:k]), MTH(D[k:n])).
    """

    def mth(start: int, end: int) -> bytes:
        n = end - start
        if n == 1:
            return leaf_hashes[start]
        k = 1
        while k * 2 < n:
            k *= 2
        return node_hash(mth(start, start + k), mth(start + k, end))

    return EMPTY_ROOT if not leaf_hashes else mth(0, len(leaf_hashes))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows leaf ``leaf_hash`` at ``index`` in the tree of ``size`` with
    root ``root``: the algorithm of RFC 9162 §2.1.3.2, step by step."""
    if not _hashes_ok(leaf_hash, root, *proof):
        return False
    # 1. leaf_index must be < tree_size.
    if not 0 <= index < size:
        return False
    # 2.-3. fn = leaf_index, sn = tree_size - 1, r = hash.
    fn, sn, r = index, size - 1, leaf_hash
    # 4. For each p in the path...
    for p in proof:
        if sn == 0:  # a. more path than tree
            return False
        if fn & 1 or fn == sn:  # b. p is a left sibling
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # p is a right sibling
            r = node_hash(r, p)
        fn >>= 1  # c.
        sn >>= 1
    # 5. The whole path was used, and it leads to the root.
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree (``new_size``, ``new_root``) extends the tree
    (``old_size``, ``old_root``): RFC 9162 §2.1.4.2, plus the trivial cases it excludes.

    For ``old_size == new_size`` the roots must be equal and the proof empty (§2.1.4.2 lets a
    log omit this proof). For ``old_size == 0`` the old root must be the empty tree's and the
    proof empty: every tree extends the empty one.
    """
    if not _hashes_ok(old_root, new_root, *proof):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return old_root == EMPTY_ROOT and not proof
    if old_size == new_size:
        return old_root == new_root and not proof
    # 1. An empty path proves nothing for 0 < first < second.
    if not proof:
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 3. fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # 4. Right-shift both while LSB(fn) is set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. fr = sr = first value of the path.
    fr = sr = path[0]
    # 6. For each subsequent value c...
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b. c is a left sibling on both paths
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:  # c only exists in the new tree, to the right
            sr = node_hash(sr, c)
        fn >>= 1  # c.
        sn >>= 1
    # 7. Both roots reproduced and the whole new tree covered.
    return fr == old_root and sr == new_root and sn == 0
