"""RFC 9162 §2.1 Merkle trees, checked against the published Certificate
Transparency test vectors and against a reference written here from the RFC's
recursive definitions (hashlib only, every subtree recomputed from scratch)."""

from __future__ import annotations

import hashlib

import pytest

from archiver.fixity.merkle import (
    EMPTY_ROOT,
    Frontier,
    TreeStore,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962 / RFC 9162 test vectors (transparency-dev/merkle testonly, the
# Certificate Transparency reference implementation): leaf inputs, the root of
# each prefix, and some proofs.
ENTRIES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243",
                                      "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CONSISTENCY = {
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (2, 5): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}


def mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, literally."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:])).digest()


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(m, D[n]), literally."""
    n = len(entries)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, entries[:k]), mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), literally."""
    n = len(entries)
    if m == n:
        return [] if whole else [mth(entries)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, entries[:k], whole), mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), mth(entries[:k])]


def store_of(entries: list[bytes]) -> TreeStore:
    store = TreeStore()
    store.extend(leaf_hash(e) for e in entries)
    return store


def test_roots_match_the_published_vectors() -> None:
    with store_of(ENTRIES) as store:
        assert [store.root(n).hex() for n in range(9)] == ROOTS
    assert EMPTY_ROOT.hex() == ROOTS[0]


def test_proofs_match_the_published_vectors_and_verify() -> None:
    with store_of(ENTRIES) as store:
        for (index, size), proof in INCLUSION.items():
            assert [p.hex() for p in store.inclusion_proof(index, size)] == proof
            assert verify_inclusion(leaf_hash(ENTRIES[index]), index, size,
                                    [bytes.fromhex(p) for p in proof], bytes.fromhex(ROOTS[size]))
        for (old, new), proof in CONSISTENCY.items():
            assert [p.hex() for p in store.consistency_proof(old, new)] == proof
            assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]),
                                      bytes.fromhex(ROOTS[new]), [bytes.fromhex(p) for p in proof])


ENTRIES_70 = [bytes([i, (i * 7) % 256, 0xAB]) for i in range(70)]


def test_every_root_and_proof_of_trees_up_to_70_leaves_matches_the_reference() -> None:
    with store_of(ENTRIES_70) as store:
        frontier = Frontier()
        for n in range(71):
            prefix = ENTRIES_70[:n]
            assert store.root(n) == mth(prefix) == frontier.root()
            for i in range(n):
                proof = store.inclusion_proof(i, n)
                assert proof == ref_path(i, prefix)
                assert verify_inclusion(leaf_hash(prefix[i]), i, n, proof, mth(prefix))
            for m in range(1, n):
                proof = store.consistency_proof(m, n)
                assert proof == ref_subproof(m, prefix, True)
                assert verify_consistency(m, n, mth(ENTRIES_70[:m]), mth(prefix), proof)
            if n < 70:
                frontier.append(leaf_hash(ENTRIES_70[n]))


@pytest.mark.parametrize(("m", "n"), [(1, 2), (3, 7), (4, 8), (5, 70), (32, 70), (63, 64)])
def test_a_changed_leaf_root_or_proof_is_rejected(m: int, n: int) -> None:
    with store_of(ENTRIES_70) as store:
        proof = store.consistency_proof(m, n)
        old, new = store.root(m), store.root(n)
        changed = list(ENTRIES_70[:n])
        changed[m - 1] += b"!"  # a leaf inside the old tree
        assert not verify_consistency(m, n, old, mth(changed), ref_subproof(m, changed, True))
        assert not verify_consistency(m, n, old, new, [*proof[:-1], b"\x00" * 32])
        assert not verify_consistency(m, n, old, new, proof[:-1])
        assert not verify_consistency(m, n, new, old, proof)
        bad = store.inclusion_proof(m - 1, n)
        assert not verify_inclusion(leaf_hash(changed[m - 1]), m - 1, n, bad, new)
        assert not verify_inclusion(store.leaf(m - 1), m, n, bad, new)
