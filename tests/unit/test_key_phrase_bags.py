"""A build worker's key phrases, a chunk at a time (semantic.key_phrase_bags), equal `key_phrases` paper by
paper: the same terms in the same first-seen order, the same float32 weights to the bit."""

from __future__ import annotations

from array import array
from pathlib import Path

import numpy as np
import pytest

from paperlens.core.model import Paper
from paperlens.index.semantic import key_phrase_bags, key_phrase_bags_packed, key_phrases
from paperlens.index.terms import pack
from paperlens.library.store import read_library, snapshot_file
from paperlens.sources.feedfile import read_feed_file

SHARED = Path(__file__).resolve().parents[3] / "shared" / "realworld"


def _one_by_one(papers: list[tuple[str, str, tuple[str, ...]]]) -> tuple[list[str], list[int], bytes, list[int]]:
    ids: dict[str, int] = {}
    tids: list[int] = []
    weights = array("f")
    lens = []
    for title, abstract, keywords in papers:
        bag = key_phrases(title, abstract, keywords)
        tids.extend(ids.setdefault(t, len(ids)) for t in bag)
        weights.extend(bag.values())
        lens.append(len(bag))
    return list(ids), tids, weights.tobytes(), lens


def _check(papers: list[tuple[str, str, tuple[str, ...]]]) -> None:
    vocab, tids, weights, lens = key_phrase_bags(papers)
    want = _one_by_one(papers)
    assert vocab == want[0]
    # The worker's form: the vocabulary packed in numpy as terms.pack packs the strings (the same bags).
    blob, off, tids2, weights2, lens2 = key_phrase_bags_packed(papers)
    assert (blob, off.tolist()) == (pack(vocab)[0], pack(vocab)[1].tolist())
    assert (tids2.tolist(), weights2.tobytes(), lens2.tolist()) == (tids.tolist(), weights.tobytes(), lens.tolist())
    assert tids.tolist() == want[1]
    assert weights.tobytes() == want[2]
    assert lens.tolist() == want[3]


def _texts(papers: list[Paper]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(p.title, p.abstract, p.ai_keywords) for p in papers]


def test_real_papers() -> None:
    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    _check(_texts(real + read_library(snapshot_file()).papers + real[:3]))


def test_edge_cases() -> None:
    _check([
        ("", "", ()),  # nothing at all
        ("Super-Resolution: state-of-the-art off-the-shelf x-state-of-the-art models", "A -state-of-the-art "
         "model - and a--b; see https://github.com/a/b.git or www.example.com/x. Transformers transformer "
         "transformers TRANSFORMER (the) kv-cache kv cache", ("kv cache", "Kv-Cache", "")),
        ("Time series: time series of the series", "Time series, time series. Species series.", ()),
        ("Gloc-IB Gloc-IB Gloc-IB", " ".join(["gloc ib"] * 300), ("gloc-ib",) * 3),  # counts past 255
        ("", "word", ()),
        ("Only a title", "", ("keyword one", "keyword two")),
    ])
    assert key_phrase_bags([])[0] == [] and len(key_phrase_bags([])[3]) == 0


def test_many_papers_share_terms_across_the_chunk() -> None:
    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    texts = _texts(real)
    rng = np.random.default_rng(2)
    mixed = [(texts[i][0], texts[j][1], texts[k][2]) for i, j, k in rng.integers(0, len(texts), size=(200, 3))]
    _check(mixed)


def test_hyphenated_words_split_unless_boilerplate_as_a_whole() -> None:
    # "real-world-scale" is three words; "real-world" alone is boilerplate and ends a phrase ("world test" is none).
    bag = key_phrases("", "Real-world-scale super-resolution and a real-world test.")
    assert list(bag) == ["world", "scale", "world scale", "super", "scale super", "resolution", "super resolution",
                         "test"]
    assert list(key_phrases("", "Super-resolution with state-of-the-art models.")) == \
        ["super", "resolution", "super resolution", "model"]


def test_a_worker_chunk_in_batches_numbers_terms_as_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    from paperlens.index import build

    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    papers = real + read_library(snapshot_file()).papers

    def numbered(batch: int) -> tuple[list[str], bytes, bytes, bytes]:
        monkeypatch.setattr(build, "BAG_BATCH", batch)
        b = build.IndexBuilder({}, defer_terms=True)
        for p in papers:
            b.add(p)
        (blob, off), tids, weights = b.numbered_terms()
        vocab = [blob[x:y].decode() for x, y in zip(off[:-1].tolist(), off[1:].tolist(), strict=True)]
        assert (blob, off.tolist()) == (pack(vocab)[0], pack(vocab)[1].tolist())
        return vocab, tids.tobytes(), weights.tobytes(), b.bag_len.tobytes()

    whole = numbered(10_000)
    assert numbered(7) == whole
    want = _one_by_one(_texts(papers))
    assert whole[0] == want[0] and whole[2] == want[2]


def test_random_texts_of_hyphens_boilerplate_and_punctuation() -> None:
    # The chunk's tokens are found in numpy over its bytes (semantic._chunk_tokens), not by _words' regexes: texts
    # made of the pieces where the two could part (a boilerplate word inside a longer hyphenated one, " - ",
    # dangling hyphens, NUL, non-ASCII that folds to ASCII, URLs) give the same bags as key_phrases.
    pieces = ["state-of-the-art", "large-scale", "x-", "-", " - ", " -", "- ", "trade-off", "off-the-shelf",
              "real-world", "end-to-end", "long-standing", "in-depth", "up-to-date", "so-called", "x-large-scale",
              "large-scale-y", "-large-scale", "--", "a-b-c", "foo", "Kernel", "attention", "2023", "a", "of", "the",
              ".", ",", "(", ")", '"', "é", "ﬁ", "Straße", "中文", "ΑΒΓ", "https://x.com/y", "www.a.org/b", " ", "\n",
              "\x00", "quantum", "graph", "bottleneck", "kv", "cache", "imputation", "－"]
    rng = np.random.default_rng(5)

    def text() -> str:
        n = int(rng.integers(0, 20))
        return "".join(pieces[i] + ("", " ", " ", "-")[j] for i, j in
                       zip(rng.integers(0, len(pieces), n).tolist(), rng.integers(0, 4, n).tolist(), strict=True))

    for _ in range(150):
        _check([(text(), text(), tuple(text() for _ in range(int(rng.integers(0, 3)))))
                for _ in range(int(rng.integers(1, 6)))])


def _unique(h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u, f, i = np.unique(h, return_index=True, return_inverse=True)
    return f, i.reshape(-1)


@pytest.mark.parametrize("seed", range(8))
def test_distinct_values_number_values_as_np_unique_up_to_order(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # semantic._distinct_values (a hash table in numpy) against np.unique: the same partition of the places, a
    # place of each value that holds it. Values alike in many bits meet in the table's slots and go to the next
    # round; with one round whose slot is the top bits alone (seeds 4-7), many go to the sort at the end.
    from paperlens.index import semantic
    from paperlens.index.semantic import _distinct_values

    if seed >= 4:
        monkeypatch.setattr(semantic, "_SLOT_MULTS", (np.uint64(1),))

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 20_000))
    pool = rng.integers(0, 2**64, size=int(rng.integers(1, n + 1)), dtype=np.uint64)
    if seed % 2 == 0:
        pool &= np.uint64(0xFFFF0000_00000FFF) if seed else np.uint64(0xF0000000_00000000)
    h = pool[rng.integers(0, len(pool), size=n)]
    first, inv = _distinct_values(h)
    want_first, want_inv = _unique(h)
    assert len(first) == len(want_first) and len(inv) == n
    assert (h[first[inv]] == h).all()  # each place numbered as a place that holds its value
    assert len(np.unique(inv)) == len(first) and inv.min() == 0 and inv.max() == len(first) - 1
    assert (np.sort(h[first]) == h[want_first]).all()


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_WORDY = st.lists(st.sampled_from(list("abc xyz-.,é中ﬁ0") + ["kv", "cache", "the", "of", " - ", "state-of-the-art",
                                                              "Straße", "\u2028", "\x00", "www.a.org/b"]),
                  max_size=60).map("".join)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_WORDY | st.text(max_size=40), _WORDY, st.lists(_WORDY, max_size=2).map(tuple)),
                min_size=1, max_size=6))
def test_hypothesis_texts_with_unicode(papers: list[tuple[str, str, tuple[str, ...]]]) -> None:
    _check(papers)


def test_word_keys_tell_words_apart() -> None:
    # semantic._word_keys: a word of <= 8 bytes is its bytes, a longer one a hash of its 8-byte windows; words
    # that share windows in another order or differ in one byte of the last window ("loplusholo", "noplushono")
    # or in length only must get distinct keys, equal words equal ones (the real feed's words and made-up ones).
    from paperlens.index.semantic import _chunk_tokens, _folded, _word_keys

    rng = np.random.default_rng(3)
    alpha = list("abcdefghijklmnopqrstuvwxyz0123456789")
    made = ["loplusholo", "noplushono", "a" * 8, "a" * 9, "a" * 16, "a" * 17, "a" * 24, "a" * 100, "ab" * 8 + "x",
            "ba" * 8 + "x", "abcdefgh" + "ijklmnop", "ijklmnop" + "abcdefgh", "x", "0"]
    for _ in range(3000):
        stem = "".join(rng.choice(alpha, size=int(rng.integers(1, 30))).tolist())
        made += [stem, stem + rng.choice(alpha), stem[::-1], stem[8:] + stem[:8]]
    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    texts = [t for p in real for t in (p.title, p.abstract)] + [" ".join(made)]
    blob, starts = _folded(texts)
    is_word, _, start, lens = _chunk_tokens(blob, starts)
    keys = _word_keys(blob, start, lens)
    words = [blob[a:a + n] for a, n in zip(start.tolist(), lens.tolist(), strict=True)]
    assert len(words) == len(keys) == int(is_word.sum()) > 15_000
    by_key: dict[int, bytes] = {}
    for w, k in zip(words, keys.tolist(), strict=True):
        assert by_key.setdefault(k, w) == w
    assert len(by_key) == len(set(words))
    assert _word_keys(b"", np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == []


def test_words_of_earlier_chunks_remembered_and_begun_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # A worker keeps its words' stems and rarities from chunk to chunk (semantic._SEEN): a later chunk that
    # shares words with earlier ones, some new, has the same bags as one worked out from scratch; so it has
    # when the memory is full and begun afresh between (and within) chunks.
    from paperlens.index import semantic

    real, _ = read_feed_file(SHARED / "hf" / "daily_papers-2024-10-25.json")
    texts = _texts(real)
    half = len(texts) // 2
    for limit in (None, 40, 1):
        monkeypatch.setattr(semantic, "_SEEN", semantic._SeenWords())
        if limit is not None:
            monkeypatch.setattr(semantic._SeenWords, "LIMIT", limit)
        _check(texts[:half])
        assert limit is not None or len(semantic._SEEN.keys) > 100
        _check(texts[half // 2 :] + [("Transformers of a new unseen-word kind", "Zyxwv qwertyuiop stems.", ())])
        _check(texts[:half])
