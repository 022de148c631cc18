"""Key-phrase terms numbered by hash (index/terms.py): the numbering, counts and strings a dict would give."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest

from paperlens.index.build import Strings, by_doc_order, paper_weight_order, postings
from paperlens.index.terms import HashedTerms, pack, term_hashes


def _packed(terms: list[str]) -> tuple[bytes, np.ndarray]:
    s = Strings()
    for t in terms:
        s.add(t)
    return bytes(s.blob), np.frombuffer(s.off, dtype=np.int64)


def test_hashes_are_stable_and_tell_close_strings_apart() -> None:
    terms = ["", "a", "b", "ab", "ba", "aa", "kv cache", "kv caches", "kv cache ", "rope", "RoPE", "über", "ü",
             "information bottleneck", "bottleneck information", *(f"term{i}" for i in range(2000))]
    blob, off = _packed(terms)
    h = term_hashes(blob, off)
    assert h.dtype == np.uint64 and len(h) == len(terms)
    assert len(np.unique(h)) == len(terms)
    # The same string hashes alike wherever it sits in a chunk (workers hash chunks apart; the merge compares).
    blob2, off2 = _packed(["zzz", "kv cache", "über"])
    h2 = term_hashes(blob2, off2)
    assert h2[1] == h[terms.index("kv cache")] and h2[2] == h[terms.index("über")]


def test_numbering_counts_and_strings_match_a_dictionary() -> None:
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(500)] + ["état", "kv cache", "α-β"]
    ids: dict[str, int] = {}  # what a paper-by-paper build numbers: first seen, first numbered
    df: dict[str, int] = {}
    bags: list[list[int]] = []
    with tempfile.TemporaryFile() as f:
        ht = HashedTerms(f, merge_at=64)  # small, so that the table is merged many times over
        for _ in range(30):  # chunks
            local: dict[str, int] = {}
            tids, lens = [], []
            for _ in range(int(rng.integers(1, 12))):  # papers of the chunk
                bag = list(dict.fromkeys(rng.choice(words, size=int(rng.integers(0, 15))).tolist()))
                for t in bag:
                    ids.setdefault(t, len(ids))
                    df[t] = df.get(t, 0) + 1
                    tids.append(local.setdefault(t, len(local)))
                lens.append(len(bag))
                bags.append([ids[t] for t in bag])
            blob, off = _packed(list(local))
            ht.add_chunk(term_hashes(blob, off), blob, off, np.array(tids, dtype=np.uint32),
                         np.arange(len(tids), dtype=np.float32), np.array(lens, dtype=np.uint32))
        ht.close()
        vocab = list(ids)
        assert ht.n_terms == len(vocab)
        assert ht.df.tolist() == [df[t] for t in vocab]
        assert ht.strings(np.arange(len(vocab))) == vocab
        assert ht.strings(np.array([3, 40, 41, len(vocab) - 1])) == [vocab[3], vocab[40], vocab[41], vocab[-1]]
        got_t = np.concatenate([t for t, _, _ in ht.bag_chunks()]).tolist()
        got_s = np.concatenate([s for _, _, s in ht.bag_chunks()]).tolist()
        assert got_t == [j for bag in bags for j in bag]
        assert got_s == [i for i, bag in enumerate(bags) for _ in bag]


def test_packed_sorts_match_the_plain_ones() -> None:
    """postings() with float16 weights sorts one packed key; by_doc_order() likewise: both must give what an
    argsort and np.lexsort give, ties included."""
    rng = np.random.default_rng(3)
    n_terms, n = 50, 400
    pairs = {(int(a), int(b)) for a, b in zip(rng.integers(0, n_terms, 3000), rng.integers(0, n, 3000), strict=True)}
    t = np.array([a for a, _ in pairs], dtype=np.uint32)
    s = np.array([b for _, b in pairs], dtype=np.uint32)
    w32 = rng.choice(np.array([0.0, 0.125, 0.5, 0.7, 1.0], dtype=np.float32), size=len(t))  # many ties
    rank = rng.permutation(n).astype(np.int32)
    keep = np.ones(n_terms, dtype=bool)
    keep[::7] = False
    vocab = [f"t{j:03d}"[::-1] for j in range(n_terms)]  # string order is not id order

    def strings(ids: np.ndarray) -> list[bytes]:
        return [vocab[j].encode("utf-8") for j in ids.tolist()]

    packed, kept_a, wa = postings(strings, n_terms, t, s, rank, keep, w32.astype(np.float16))
    plain, kept_b, wb = postings(strings, n_terms, t, s, rank, keep, w32)
    assert wa is not None and wb is not None and wa.dtype == np.float16
    assert list(packed.terms) == list(plain.terms) == sorted(vocab[j] for j in range(n_terms) if keep[j])
    assert kept_a.tolist() == kept_b.tolist()
    assert np.array_equal(packed.offsets, plain.offsets) and np.array_equal(packed.ids, plain.ids)
    assert np.array_equal(wa, wb.astype(np.float16))
    ids = np.asarray(packed.ids)
    assert np.array_equal(by_doc_order(ids, wa), np.lexsort((-wa.astype(np.float32), ids)))


def test_paper_weight_order_is_lexsorts() -> None:
    rng = np.random.default_rng(5)
    m = 5000
    seq = np.sort(rng.integers(100, 400, m)).astype(np.int32)
    tids = rng.integers(0, 3_000_000, m).astype(np.uint32)
    w = rng.choice(np.array([0.0, 0.25, 0.5, 3.0], dtype=np.float32), size=m)  # ties, broken by term id
    own = rng.integers(0, 2, m).astype(np.int8)
    o = np.lexsort((tids, -w, own, seq))
    want: tuple[np.ndarray, ...] = (tids[o], w[o], seq[o], own[o])
    for a, b in zip(paper_weight_order(tids, w, seq, own, 100), want, strict=True):
        assert np.array_equal(a, b) and a.dtype == b.dtype
    neg = (-w - 1.0).astype(np.float32)  # negative weights do not order as their bits: the plain lexsort then
    o2 = np.lexsort((tids, -neg, own, seq))
    want = (tids[o2], neg[o2], seq[o2], own[o2])
    got = paper_weight_order(tids, neg, seq, own, 100)
    assert all(np.array_equal(got[k], want[k]) for k in range(4))


def test_pack_is_each_string_encoded_in_turn() -> None:
    # pack joins the strings by NUL and encodes them at once; a string holding a NUL takes the per-string path.
    rng = np.random.default_rng(4)
    for _ in range(500):
        strings = ["".join(rng.choice(["a", "é", "中", " ", "\0", "😀"], size=int(rng.integers(0, 4))).tolist())
                   for _ in range(int(rng.integers(0, 7)))]
        enc = [s.encode("utf-8") for s in strings]
        for given in (strings, iter(strings)):
            blob, off = pack(given)
            assert blob == b"".join(enc)
            assert off.tolist() == np.cumsum([0, *map(len, enc)]).tolist()


def test_term_hashes_in_blocks_are_the_hashes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # term_hashes takes HASH_BLOCK bytes at a time (small temporaries): any block size gives the same hashes.
    from paperlens.index import terms

    rng = np.random.default_rng(7)
    strings = ["".join(rng.choice(["a", "é", "中", " ", "\0"], size=int(rng.integers(0, 30))).tolist())
               for _ in range(400)]
    blob, off = pack(strings)
    whole = term_hashes(blob, off)
    assert len(set(whole.tolist())) == len(set(strings))
    for block in (1, 5, 64, 1000):
        monkeypatch.setattr(terms, "HASH_BLOCK", block)
        assert term_hashes(blob, off).tolist() == whole.tolist()


def test_paper_weight_order_in_slices_of_papers_is_lexsorts() -> None:
    # With term ids of many bits (a 1M build's 8.7M key phrases: 24) the papers are sorted in slices that the
    # bits left can tell apart (down to 2 papers a slice at 31 bits), each with the term ids in the key.
    rng = np.random.default_rng(8)
    for top in (10, 3_000_000, 9_000_000, 2**30, 2**31 - 1):
        m = 4000
        seq = np.sort(rng.integers(0, 1500, m)).astype(np.int32)
        tids = rng.integers(0, top, m).astype(np.uint32)
        w = rng.choice(np.array([0.0, 0.25, 0.5, 3.0, 1e-3], dtype=np.float32), size=m)
        own = rng.integers(0, 2, m).astype(np.int8)
        o = np.lexsort((tids, -w, own, seq))
        got = paper_weight_order(tids, w, seq, own, 0)
        for a, b in zip(got, (tids[o], w[o], seq[o], own[o]), strict=True):
            assert np.array_equal(a, b) and a.dtype == b.dtype


def test_bloom_built_in_numpy_is_the_one_added_name_by_name() -> None:
    # Bloom.build computes zlib's CRC-32 of all the names at once (store._crc32s): the same bits as Bloom.add
    # name by name, whether the names come packed (a StrArray) or as Python strings (a set of prefixes).
    import zlib

    from paperlens.index.store import Bloom, StrArray, _crc32s

    rng = np.random.default_rng(9)
    names = sorted({"".join(rng.choice(["a", "z", "0", "é", "中", "😀", "-", " "], size=int(rng.integers(0, 16))))
                    for _ in range(3000)})
    blob, off = StrArray.build(names).packed()
    for seed in (0, 0x9E3779B9, 12345):
        assert _crc32s(np.asarray(blob), np.asarray(off), seed).tolist() == \
            [zlib.crc32(x.encode("utf-8"), seed) for x in names]
    one_by_one = Bloom(bytearray(Bloom.build([], len(names)).bits))
    for x in names:
        one_by_one.add(x)
    assert Bloom.build(StrArray.build(names), len(names)).bits == one_by_one.bits
    assert Bloom.build(set(names), len(names)).bits == one_by_one.bits
    assert all(x in one_by_one for x in names)


def test_telling_a_block_of_terms_at_a_time_is_telling_of_each(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperlens.index import build
    from paperlens.index.semantic import telling
    from paperlens.index.store import StrArray

    terms = sorted({"kv cache", "the", "transformer", "état de l'art", "α-β", "rope", "of", "", "a b", "zebra",
                    "information bottleneck", "résumé", "model", "x"})
    want = [(" " in t) or telling(t) for t in terms]
    assert any(want) and not all(want)
    for block in (1, 3, 1 << 20):
        monkeypatch.setattr(build, "TELLING_BLOCK", block)
        assert build._telling(StrArray.build(terms)).tolist() == want
