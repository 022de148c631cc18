"""Key-phrase terms numbered by hash (index/terms.py): the numbering, counts and strings a dict would give."""

from __future__ import annotations

import tempfile

import numpy as np

from paperlens.index.build import Strings
from paperlens.index.terms import HashedTerms, term_hashes


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
