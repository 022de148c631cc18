"""What a paper or a passage is about, as weighted key phrases: for related-paper search and its explanations.

Key phrases are the content words of a title and abstract and the two-word phrases they form ("information
bottleneck", "kv cache", "time series"), each weighted by how rare its words are in general English, from
wordfreq's English frequency table: "global", "model" and "performance" say little about a topic,
"imputation" and "bottleneck" say much. A feed's own document frequencies cannot tell this on a small feed (every
paper of the seed feed says "global" or "bottleneck"); the index multiplies both (see build.py).
Academic boilerplate ("propose", "state-of-the-art") is listed here, as general English does not know it is.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import os
import pickle
import re
import threading
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from paperlens.core.text import fold
from paperlens.index.terms import pack

MAX_ZIPF = 6.0  # words at least this frequent in English ("time", "new") carry no topic weight
PHRASE_BONUS = 1.0  # a two-word unit is more specific than its words
EXPLAIN_RARITY = 1.5  # a single word shown as a reason must be at least this rare (not "model", "value")
TITLE_WEIGHT = 2  # a title occurrence counts as this many abstract occurrences

# Function words end a phrase; academic boilerplate is never a topic, however rare in general English.
_STOP = frozenset("""
a about above across after again against all almost along also although always am among an and another any are
around as at be because been before being below between both but by can could did do does doing done down due
during each either else enough etc even ever every few for from further had has have having he her here hers
him his how however i if in into is it its itself just least less let like many may me might more most much must
my neither no nor not now of off often on once one only onto or other others otherwise our ours out over own per
rather same several she should since so some such than that the their theirs them then there thereby therefore
these they this those though through thus to together too toward towards under until up upon us very via was we
well were what whatever when where whereas whether which while who whom whose why will with within without would
yet you your yours
""".split())
_BOILERPLATE = frozenset("""
ability able accuracy achieve achieved achieves achieving across additionally address addresses addressing
advance advanced advances advantage advantages aim aims allow allows analysis analyze analyzing apply applied
applying approach approaches art available based baseline baselines behavior benchmark benchmarks benefit
benefits best better broad called capability capabilities case cases challenge challenges challenging code
common comparable compared comparison competitive complex comprehensive conduct conducted consider considering
consistently construct contribution contributions conventional core critical crucial current currently datasets
demonstrate demonstrated demonstrates demonstrating design designed designing despite develop developed
developing different difficult direction directly diverse driven effect effective effectively effectiveness
efficient efficiently empirical empirically enable enabled enables enabling enhance enhanced enhances enhancing
ensure ensuring establish evaluate evaluated evaluating evaluation evaluations evidence example examples existing
experiment experimental experiments explore exploring extensive extensively face facilitate fail fails field
finally finding findings first focus focused focuses focusing framework frameworks full fully fundamental
furthermore gain gains general generally github given good great greatly high higher highly https hence identify
illustrate impact important improve improved improvement improvements improves improving include includes
including increase increasing increasingly insight insights introduce introduced introduces introducing issue
issues key known lack large largely lead leading leads learn leverage leverages leveraging limitation
limitations limited literature lower main maintain maintaining make makes making manner mainstream method methods
moreover multiple namely need needed needs new notably novel numerous observe observed obtain offer offers
open optimal outperform outperforming outperforms overall paper papers paradigm particular particularly
performance perform performed performing performs perspective plausible play poor popular potential power
powerful practical practice present presented presents previous primarily prior problem problems promising
propose proposed proposes proposing prove provide provided provides providing publicly quality rapid rapidly
real realistic recent recently reduce reduced reduces reducing regarding related release released relevant
remain remains remarkable report reported require required requires requiring research researchers respectively
result resulting results reveal reveals robust scenario scenarios second set setting settings show showing shown
shows significant significantly similar simple simply small solution solutions source specific specifically
standard state strategies strategy strong study studies substantial substantially success successful suffer
superior support surpasses systematic systematically task tasks technique techniques terms third three towards
tradeoff trade-off trained training two typically understanding unlike use used useful uses using utilize
utilizes utilizing valuable validate variety various versus via way ways well widely work works yield yields
state-of-the-art sota large-scale real-world end-to-end well-known off-the-shelf high-quality long-standing
so-called in-depth up-to-date
""".split())


# ---------------------------------------------------------------- background frequencies


_cache_dir: list[Path] = []  # where the table is kept between starts (use_cache_dir)


def use_cache_dir(path: Path | None) -> None:
    """Keep the word table in this folder: the next start reads it in ~0.1 s instead of ~0.5 s (wordfreq's
    import and unpacking), which the first hover of a session would wait for."""
    _cache_dir[:] = [path] if path is not None else []


def table_dir() -> Path | None:
    """The folder use_cache_dir set (a build's worker processes are told it: ~0.1 s each instead of ~1.2 s)."""
    return _cache_dir[0] if _cache_dir else None


_table_lock = threading.Lock()
ZIPF_SLICE = 4096  # words per slice of the saved table (a dict of a slice: well under a millisecond)


class ZipfTable:
    """Word -> Zipf value, as a dict per slice of the sorted words (found by bisection on each slice's first
    word). One dict of 321k words would be resized in single C calls of up to ~20 ms while it fills, and a
    request waits for the GIL meanwhile; a slice's dict is made in one short call."""

    __slots__ = ("firsts", "parts")

    def __init__(self) -> None:
        self.firsts: list[str] = []
        self.parts: list[dict[str, float]] = []

    def add(self, words: list[str], values: Iterable[float]) -> None:
        """The next slice: sorted words, each after every word added before."""
        if words:
            if self.firsts and words[0] <= self.firsts[-1]:
                raise ValueError("word table slices out of order")
            self.parts.append(dict(zip(words, values, strict=True)))
            self.firsts.append(words[0])

    def get(self, word: str) -> float | None:
        i = bisect.bisect_right(self.firsts, word) - 1
        return self.parts[i].get(word) if i >= 0 else None

    def items(self) -> Iterator[tuple[str, float]]:
        for part in self.parts:
            yield from part.items()


_TABLE: ZipfTable | None = None


def _zipf_table() -> ZipfTable:
    """General-English word frequencies (wordfreq's large English list, 321k words) as Zipf values. Made once:
    a request that needs it while a background thread makes it waits for that one (not a second copy)."""
    global _TABLE
    table = _TABLE
    if table is None:
        with _table_lock:
            if _TABLE is None:
                _TABLE = _make_zipf_table()
            table = _TABLE
    return table


def table_loading() -> bool:
    """Whether another thread is making the word table right now (a request had better not wait ~0.1-0.5 s
    for it on the event loop)."""
    return _TABLE is None and _table_lock.locked()


def _make_zipf_table() -> ZipfTable:
    # 4: a pickle per slice of the sorted words (one pickle of all of them held the GIL for ~10 ms)
    saved = _cache_dir[0] / "wordfreq-en-large-4.pickle" if _cache_dir else None
    if saved is not None:
        try:
            table = ZipfTable()
            # In slices: each C call short, so that requests get the GIL in between (it loads while they run).
            with io.BytesIO(saved.read_bytes()) as f:  # our own file; read in one go (see bibtex.READ_CHUNK)
                for _ in range(pickle.load(f)):
                    words, values = pickle.load(f)
                    table.add(words.split("\n"), values)
            if table.parts:
                return table
        except (OSError, ValueError, EOFError, TypeError, pickle.UnpicklingError):
            pass
    try:
        import wordfreq
    except ImportError as e:  # a clear message rather than a traceback in the editor's log
        raise OSError(f"the 'wordfreq' package is not installed ({e}); run `pip install wordfreq`") from e
    items = sorted((w, 9.0 + math.log10(f)) for w, f in wordfreq.get_frequency_dict("en", "large").items())
    table = ZipfTable()
    for a in range(0, len(items), ZIPF_SLICE):
        table.add([w for w, _ in items[a:a + ZIPF_SLICE]], [z for _, z in items[a:a + ZIPF_SLICE]])
    if saved is not None and all("\n" not in w for w, _ in items):
        try:
            saved.parent.mkdir(parents=True, exist_ok=True)
            tmp = saved.with_suffix(f".{os.getpid()}.tmp")
            cuts = [items[a:a + ZIPF_SLICE] for a in range(0, len(items), ZIPF_SLICE)]
            slices = [("\n".join(w for w, _ in c), array("d", (z for _, z in c))) for c in cuts]
            tmp.write_bytes(b"".join([pickle.dumps(len(slices), protocol=5)]
                                     + [pickle.dumps(x, protocol=5) for x in slices]))
            os.replace(tmp, saved)
        except OSError:  # a read-only cache costs the next start time, nothing else
            pass
    return table


def rarity(word: str) -> float:
    """How much a word says about a topic: 0 for everyday English and boilerplate, up to MAX_ZIPF for words
    English never uses (a method's name)."""
    if word in _STOP or word in _BOILERPLATE or len(word) < 2 or word.isdigit():
        return 0.0
    table = _zipf_table()
    z = table.get(word)
    if z is None and "-" in word:  # "super-resolution": as rare as its rarest part
        z = min((table.get(p) or 0.0 for p in word.split("-") if p), default=0.0)
    return max(0.0, MAX_ZIPF - (z or 0.0))


def _stem(w: str) -> str:
    # Plural folding keeps "transformers" and "transformer" together without a stemmer dependency.
    if len(w) <= 4 or not w.endswith("s") or w.endswith(("ss", "us", "is", "series", "species")):
        return w
    return w[:-3] + "y" if w.endswith("ies") else w[:-1]


_URL = re.compile(r"\b(?:https?://|www\.)\S+|\b\S+\.(?:com|org|io|net)/\S*")
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*|[.,;:!?()\[\]{}\"]| - ")
_BREAK_WORD = ("", 0.0)  # a word that ends a phrase and is not one
_WORDS: dict[str, tuple[str, float]] = {}  # word -> (stem, rarity of the stem); memo, bounded


def _word(w: str) -> tuple[str, float]:
    """(stem, rarity) of a word; ("", 0) for one that ends a phrase; (word, 0) for an everyday word that may
    start one ("time series", "long context")."""
    got = _WORDS.get(w)
    if got is None:
        if w in _STOP or w in _BOILERPLATE or w.isdigit() or len(w) < 2 or not w[0].isalnum():
            got = _BREAK_WORD
        else:
            s = _stem(w)
            got = (s, max(rarity(w), rarity(s)))
        if len(_WORDS) < 300_000:  # frequent words are met early; a rare one is cheap to redo
            _WORDS[w] = got
    return got


# ---------------------------------------------------------------- key phrases


def _words(text: str) -> list[str]:
    """Words and phrase-breaking punctuation; a hyphenated word is its parts ("super-resolution" is the phrase
    "super resolution", as a paper that writes it with a space has it), unless it is boilerplate as a whole
    ("state-of-the-art", "off-the-shelf")."""
    if "-" not in text:  # most texts: nothing to split (this runs a million times in a cold build)
        return _TOKEN.findall(text)
    if any(w in text for w in _HYPHENATED_BOILERPLATE):
        return _split_tokens().findall(text)
    return _PARTS.findall(text)  # every hyphenated word split: one regex, no loop over the tokens


_PARTS = re.compile(r"[a-z0-9]+|[.,;:!?()\[\]{}\"]| - ")
_HYPHENATED_BOILERPLATE = sorted((w for w in _BOILERPLATE if "-" in w), key=len, reverse=True)
_HYPHENATED_BOILERPLATE_BYTES = [w.encode("ascii") for w in _HYPHENATED_BOILERPLATE]


@functools.cache
def _split_tokens() -> re.Pattern[str]:
    """_PARTS, except that a boilerplate word that is a whole token stays one ("x-state-of-the-art" splits)."""
    return re.compile(r"(?<![a-z0-9])(?<![a-z0-9]-)(?:" + "|".join(map(re.escape, _HYPHENATED_BOILERPLATE)) +
                      r")(?!-?[a-z0-9])|[a-z0-9]+|[.,;:!?()\[\]{}\"]| - ")


def key_phrases(title: str, abstract: str, keywords: Iterable[str] = ()) -> dict[str, float]:
    """Weighted key phrases: single content words and adjacent pairs of them (never across a function word or a
    punctuation mark), each weighted by its words' rarity and by how often the text uses it (a title or keyword
    use counts TITLE_WEIGHT times)."""
    # The cold build calls this a million times: plain dicts and locals (not Counter and globals) in the loop.
    counts: dict[str, int] = {}
    rar: dict[str, float] = {}
    memo, word = _WORDS, _word
    for text, mult in ((title, TITLE_WEIGHT), (abstract, 1), *((k, TITLE_WEIGHT) for k in keywords)):
        if not text:
            continue
        if "." in text and "/" in text:
            text = _URL.sub(" ", text)
        prev, prev_r = "", 0.0
        # One pass over words and phrase-breaking punctuation (a punctuation token maps to "", like a stop word).
        for w in _words(fold(text)):
            got = memo.get(w)
            s, r = got if got is not None else word(w)
            if not s:
                prev = ""
                continue
            if r <= 0.0:
                prev, prev_r = s, 0.0
                continue
            counts[s] = counts.get(s, 0) + mult
            rar[s] = r
            # Pairs with a word general English lacks (a name, a made-up word) are phrases only in a title or
            # keyword: in an abstract they are mostly one-off pairs that only swell the vocabulary.
            if prev and (mult > 1 or (r < MAX_ZIPF and prev_r < MAX_ZIPF)):
                ph = prev + " " + s
                counts[ph] = counts.get(ph, 0) + mult
                rar[ph] = prev_r + r + PHRASE_BONUS
            prev, prev_r = s, r
    return {t: rar[t] * (_LOG1[c] if c < len(_LOG1) else 1.0 + math.log(c)) for t, c in counts.items()}


_LOG1 = [1.0 + math.log(c) if c else 0.0 for c in range(256)]  # 1 + log(count), counts being small integers


def key_phrase_bags(papers: Sequence[tuple[str, str, Iterable[str]]]
                    ) -> tuple[list[str], npt.NDArray[np.uint32], npt.NDArray[np.float32], npt.NDArray[np.uint32]]:
    """`key_phrases(title, abstract, keywords)` of many papers at once (a build worker's chunk): the terms in
    first-seen order (paper by paper, each bag in its dict's order), every bag in turn as term ids and float32
    weights, and each bag's length (see `_bag_arrays`)."""
    stems, x, n_st, tids, weights, lens = _bag_arrays(papers)
    vocab = [stems[t] if t < n_st else f"{stems[t // n_st - 1]} {stems[t % n_st]}" for t in x.tolist()]
    return vocab, tids, weights, lens


def key_phrase_bags_packed(papers: Sequence[tuple[str, str, Iterable[str]]]
                           ) -> tuple[bytes, npt.NDArray[np.int64], npt.NDArray[np.uint32], npt.NDArray[np.float32],
                                      npt.NDArray[np.uint32]]:
    """`key_phrase_bags` with its vocabulary packed as terms.pack packs it (UTF-8 blob, offsets): the blob put
    together in numpy from the stems' bytes, no Python string per term (~40,000 a chunk, ~11 ms, and ~4 more
    to pack them)."""
    stems, x, n_st, tids, weights, lens = _bag_arrays(papers)
    sblob, soff = pack(stems)
    src = np.frombuffer(sblob + b" ", dtype=np.uint8)  # (the space between a pair's stems: the last byte)
    pair = x >= n_st
    a = np.where(pair, x // n_st - 1, x)
    b = x % n_st
    piece_at = np.stack([soff[a], np.full(len(x), len(sblob), dtype=np.int64), soff[b]], axis=1)
    piece_len = np.stack([soff[a + 1] - soff[a], pair.astype(np.int64), np.where(pair, soff[b + 1] - soff[b], 0)],
                         axis=1)
    term_len = piece_len.sum(axis=1)
    piece_at, piece_len = piece_at.reshape(-1), piece_len.reshape(-1)
    off = np.zeros(len(x) + 1, dtype=np.int64)
    np.cumsum(term_len, out=off[1:])
    ends = np.cumsum(piece_len)
    idx = np.repeat(piece_at - (ends - piece_len), piece_len) + np.arange(int(off[-1]), dtype=np.int64)
    return src[idx].tobytes(), off, tids, weights, lens


def _bag_arrays(papers: Sequence[tuple[str, str, Iterable[str]]]
                ) -> tuple[list[str], npt.NDArray[np.int64], int, npt.NDArray[np.uint32], npt.NDArray[np.float32],
                           npt.NDArray[np.uint32]]:
    """`key_phrase_bags`' work: the chunk's stems, its terms in first-seen order (paper by paper, each bag in its
    dict's order) as numbers x (x < n_st: stem x; else the pair of stems x // n_st - 1 and x % n_st), n_st, every
    bag in turn as term ids and float32 weights, and each bag's length. The same bags, to the bit, with the
    per-token rules as array operations over the chunk's tokens: a Python step per paper and per distinct word new
    to the process, not per token (~500,000 tokens, ~30,000 words); the tokens themselves are found in numpy over
    the chunk's bytes (`_chunk_tokens`)."""
    # Every paper's texts in turn (title, abstract, keywords; an empty one has no token), folded and UTF-8.
    texts: list[str] = []
    n_texts = array("q")
    for title, abstract, keywords in papers:
        k = len(texts)
        texts.append(title)
        texts.append(abstract)
        texts.extend(keywords)
        n_texts.append(len(texts) - k)
    n = np.frombuffer(n_texts, dtype=np.int64)
    seg_paper = np.repeat(np.arange(len(n)), n)
    seg_mult = np.full(len(texts), TITLE_WEIGHT, dtype=np.int64)
    seg_mult[np.cumsum(n) - n + 1] = 1  # (the abstracts)
    joined, starts = _folded(texts)
    del texts
    is_word, seg, w_start, w_len = _chunk_tokens(joined, starts)
    del starts
    # Each distinct word once (told apart by a 64-bit hash of its bytes, as terms.py tells terms apart: two of a
    # chunk's ~30,000 words share one with odds ~1e-11): its stem (-1: it ends a phrase) and rarity (0: an
    # everyday word, which may start one).
    h = _word_keys(joined, w_start, w_len)
    first_w, inv_w = _distinct_values(h)
    keys = h[first_w]
    del h
    w_stem, w_r = _known_words(keys, joined, w_start, w_len, first_w)
    del joined, w_start, w_len
    # The chunk's stems numbered among themselves (the keys' bound below stays the chunk's, not the worker's).
    used = np.unique(w_stem[w_stem >= 0])
    w_stem = np.where(w_stem >= 0, np.searchsorted(used, w_stem), -1)
    all_stems = _SEEN.stems
    stems = [all_stems[x] for x in used.tolist()]
    del used, keys
    mults = seg_mult[seg]
    paper = seg_paper[seg]
    S = np.full(len(seg), -1, dtype=np.int64)
    R = np.zeros(len(seg), dtype=np.float64)
    S[is_word] = w_stem[inv_w]
    R[is_word] = w_r[inv_w]
    del inv_w, is_word
    content = (S >= 0) & (R > 0.0)
    # A pair: a content word right after a word of the same text that does not end a phrase (an everyday word
    # counts with rarity 0); an abstract's pair needs two words general English has (see key_phrases).
    after = np.zeros(len(S), dtype=bool)
    after[1:] = (seg[1:] == seg[:-1]) & (S[:-1] >= 0)
    r_prev = np.zeros(len(S), dtype=np.float64)
    r_prev[1:] = R[:-1]
    pair = content & after & ((mults > 1) | ((R < MAX_ZIPF) & (r_prev < MAX_ZIPF)))
    si, pi = np.flatnonzero(content), np.flatnonzero(pair)
    # Events in the loop's order (a word, then the pair it ends), by their place (2 * token, + 1 for a pair:
    # unique, in paper order): term key (a stem, or a pair of stems after them), count and rarity.
    n_st = len(stems)
    n_pos = 2 * len(S) + 2
    k = np.r_[S[si], (S[pi - 1] + 1) * n_st + S[pi]]
    ev_pos = np.r_[2 * si, 2 * pi + 1]
    at_mult = np.zeros(n_pos, dtype=np.int32)  # (indexed by place: no permutation to carry through the sort)
    at_mult[0::2][si] = mults[si]
    at_mult[1::2][pi] = mults[pi]
    at_r = np.zeros(n_pos, dtype=np.float64)
    at_r[0::2][si] = R[si]
    at_r[1::2][pi] = (r_prev[pi] + R[pi]) + PHRASE_BONUS
    del S, R, seg, mults, content, after, r_prev, pair, si, pi
    # One sort by (term, place): a term's events in place order, so paper by paper (places go paper by paper),
    # the (paper, term) groups contiguous in it and a term's first event its first sighting. Per group: the
    # summed count, the last rarity written (a stem's words may differ in rarity) and its first place (the bag
    # dict's order).
    pos = _sorted_by(k, (n_st + 1) * n_st, ev_pos, n_pos)
    del ev_pos
    ev_paper = paper[pos >> 1]
    new_term = np.r_[True, k[1:] != k[:-1]] if len(k) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new_term | np.r_[True, ev_paper[1:] != ev_paper[:-1]]) if len(k) else \
        np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(k)] if len(k) else starts
    count = np.add.reduceat(at_mult[pos], starts, dtype=np.int64) if len(k) else np.zeros(0, dtype=np.int64)
    top = int(count.max()) if len(count) else 0
    log1 = np.asarray(_LOG1 + [1.0 + math.log(c) for c in range(len(_LOG1), top + 1)], dtype=np.float64)
    weight = at_r[pos[ends - 1]] * log1[count]
    del at_mult, at_r
    g_term = np.cumsum(new_term)[starts] - 1  # the group's term, numbered in key order
    g_first, g_paper = pos[starts], ev_paper[starts]
    # Terms numbered in first-seen order over the chunk; strings made once per distinct term.
    t_at = np.flatnonzero(new_term)
    uniq, by_first = k[t_at], np.argsort(pos[t_at], kind="stable")
    del k, pos, ev_paper
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[by_first] = np.arange(len(uniq))
    x = uniq[by_first]  # (a term: a stem's number, or a pair's (first + 1) * n_st + second)
    # The bags in place order (by paper, then first place): the places are distinct, so a scatter, not a sort.
    slot = np.full(n_pos, -1, dtype=np.int32)
    slot[g_first] = np.arange(len(g_first), dtype=np.int32)
    o = slot[slot >= 0]
    del slot
    return (stems, x, n_st, rank[g_term[o]].astype(np.uint32), weight[o].astype(np.float32),
            np.bincount(g_paper, minlength=len(papers)).astype(np.uint32))


class _SeenWords:
    """A worker's words met in its earlier chunks, by `_word_keys` key: each one's stem (a number in `stems`; -1:
    it ends a phrase) and rarity, so that a chunk's Python step per distinct word is only for words new to the
    process (most of a chunk's ~30,000 words after its first few chunks). Keys kept sorted (a chunk's new ones
    inserted: a copy of ~8 bytes a word), bounded: begun afresh past LIMIT words or stems."""

    LIMIT = 1_000_000  # (~16 MB of arrays and up to ~60 MB of stems' strings)

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)
        self.stem = np.zeros(0, dtype=np.int64)
        self.r = np.zeros(0, dtype=np.float64)
        self.stems: list[str] = []
        self.stem_id: dict[str, int] = {}


_SEEN = _SeenWords()


def _known_words(keys: npt.NDArray[np.uint64], blob: bytes, start: npt.NDArray[np.int64],
                 lens: npt.NDArray[np.int64], first_w: npt.NDArray[np.int64]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(stem number in _SEEN.stems or -1, rarity) of each distinct word of a chunk (its key, its first place among
    the words, which are blob[start:start + lens]), as `_word` gives them: from _SEEN for the words met before,
    worked out for the others."""
    global _SEEN
    if max(len(_SEEN.keys), len(_SEEN.stems)) >= _SeenWords.LIMIT:
        _SEEN = _SeenWords()
    seen = _SEEN
    at = np.searchsorted(seen.keys, keys)
    hit = at < len(seen.keys)
    hit[hit] = seen.keys[at[hit]] == keys[hit]
    w_stem = np.empty(len(keys), dtype=np.int64)
    w_r = np.empty(len(keys), dtype=np.float64)
    w_stem[hit] = seen.stem[at[hit]]
    w_r[hit] = seen.r[at[hit]]
    new = np.flatnonzero(~hit)
    if not len(new):
        return w_stem, w_r
    memo, word, stem_id, stems = _WORDS, _word, seen.stem_id, seen.stems
    stem_of, r_of = [], []
    fw = first_w[new]
    for a, b in zip(start[fw].tolist(), (start[fw] + lens[fw]).tolist(), strict=True):
        w = blob[a:b].decode("ascii")
        got = memo.get(w)
        st, r = got if got is not None else word(w)
        if st:
            i = stem_id.get(st)
            if i is None:
                i = stem_id[st] = len(stems)
                stems.append(st)
            stem_of.append(i)
        else:
            stem_of.append(-1)
        r_of.append(r)
    w_stem[new] = stem_of
    w_r[new] = r_of
    o = np.argsort(keys[new])
    nk = keys[new][o]
    ins = np.searchsorted(seen.keys, nk)
    seen.keys = np.insert(seen.keys, ins, nk)
    seen.stem = np.insert(seen.stem, ins, w_stem[new][o])
    seen.r = np.insert(seen.r, ins, w_r[new][o])
    return w_stem, w_r


def _sorted_by(k: npt.NDArray[np.int64], bound: int, pos: npt.NDArray[np.int64], n_pos: int
               ) -> npt.NDArray[np.int64]:
    """Sorts k (non-negative, below bound) in place by (k, pos), pos distinct and below n_pos, and returns pos in
    that order: one uint64 sort of k and pos packed when the bits fit, else a lexsort."""
    kb, pb = max(1, int(bound).bit_length()), max(1, int(n_pos).bit_length())
    if kb + pb > 64:
        o = np.lexsort((pos, k))
        k[:] = k[o]
        return pos[o]
    key = (k.astype(np.uint64) << np.uint64(pb)) | pos.astype(np.uint64)
    key.sort()
    k[:] = (key >> np.uint64(pb)).astype(np.int64)
    return (key & np.uint64((1 << pb) - 1)).astype(np.int64)


_MASK8 = np.array([(1 << (8 * i)) - 1 for i in range(9)], dtype=np.uint64)  # the low i bytes of a uint64
_MIX1, _MIX2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9)
_LONG = np.uint64(1 << 63)
_SLOT_MULTS = (_MIX1, _MIX2, np.uint64(0x94D049BB133111EB))  # a round of _distinct_values each (odd)


def _word_keys(blob: bytes, start: npt.NDArray[np.int64], lens: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
    """A 64-bit key per word of a chunk (`_chunk_tokens`' ASCII words: blob[start:start + lens]; no byte beyond
    a word goes into its key), to tell distinct words apart: a word of at most 8 bytes is its bytes (read as one
    little-endian uint64: exact, and bit 63 clear), a longer one a hash of its 8-byte windows with bit 63 set (a
    third of the words; two of a chunk's distinct long words share one with odds ~1e-11). ~5x cheaper than
    terms.term_hashes' polynomial of every byte."""
    n = len(start)
    buf = np.frombuffer(blob + bytes(8), dtype=np.uint8)
    win = np.ndarray((len(blob) + 1,), dtype="<u8", buffer=buf, strides=(1,))  # the 8 bytes from each place
    key = win[start] & _MASK8[np.minimum(lens, 8)] if n else np.zeros(0, dtype=np.uint64)
    long = np.flatnonzero(lens > 8)
    if len(long):
        at, left = start[long] + 8, lens[long] - 8
        h = key[long]
        idx = np.arange(len(long))
        with np.errstate(over="ignore"):
            h ^= left.astype(np.uint64) * _MIX2
            while len(idx):  # each window mixed into what is before it (a bijection of h for a given window)
                g = h[idx] * _MIX1
                g ^= g >> np.uint64(29)
                g *= _MIX2
                g ^= g >> np.uint64(32)
                h[idx] = g ^ (win[at] & _MASK8[np.minimum(left, 8)])
                more = left > 8
                idx, at, left = idx[more], at[more] + 8, left[more] - 8
            h *= _MIX1
            h ^= h >> np.uint64(29)
        key[long] = h | _LONG
    return key


def _distinct_values(h: npt.NDArray[np.uint64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For 64-bit values h (a chunk's words' hashes): a place of each distinct value (any of its places) and each
    value's number among them, as `np.unique(h, return_index=True, return_inverse=True)` gives them up to the
    numbering. A hash table in numpy: each value is written to a slot (the top bits of its product with an odd
    constant), the values the slots kept are numbered, the others tried again with another constant (a chunk's
    ~30,000 distinct words among ~500,000 tokens: a few % of them a second time), and those left sorted; np.unique
    took ~36 ms a chunk, this ~6-11."""
    n = len(h)
    bits = max(12, n.bit_length())
    inv = np.empty(n, dtype=np.int64)
    reps: list[npt.NDArray[np.int64]] = []
    left = np.arange(n)
    hl = h
    done = 0
    for mult in _SLOT_MULTS:
        if not len(left):
            break
        with np.errstate(over="ignore"):  # (multiplicative hashing: the slot from the product's top bits)
            slot = ((hl * mult) >> np.uint64(64 - bits)).astype(np.int64)
        table = np.zeros(1 << bits, dtype=np.uint64)
        table[slot] = hl
        ok = table[slot] == hl
        del table
        s_ok = slot[ok]
        at = np.full(1 << bits, -1, dtype=np.int64)
        at[s_ok] = left[ok]  # a place of each value kept (the last written)
        kept = at >= 0
        num = np.cumsum(kept) - 1 + done
        inv[left[ok]] = num[s_ok]
        reps.append(at[kept])
        done += len(reps[-1])
        left, hl = left[~ok], hl[~ok]
    if len(left):  # (values that met in every round's slots: numbered by a sort)
        u, f, i = np.unique(hl, return_index=True, return_inverse=True)
        inv[left] = i.reshape(-1) + done
        reps.append(left[f])
    return (np.concatenate(reps) if reps else np.zeros(0, dtype=np.int64)), inv


_CLASS = np.zeros(256, dtype=np.uint8)  # 2: a word's byte, 1: a punctuation mark that is a token of its own
_CLASS[np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789", dtype=np.uint8)] = 2
_CLASS[np.frombuffer(b'.,;:!?()[]{}"', dtype=np.uint8)] = 1
_HYPHEN, _SPACE = 45, 32
_CLASS_BYTES = _CLASS.tobytes()  # (a bytes.translate table)


def _folded(texts: list[str]) -> tuple[bytes, npt.NDArray[np.int64]]:
    """Texts as `key_phrases` reads them (a URL made a space; folded, core/text.fold), UTF-8, each ended by a
    \\0 (no token crosses from text to text), and where each begins (and the end). All-ASCII texts (a generated
    feed's chunk) are folded (lower) and encoded all at once: ~2 instead of ~8 ms a chunk of ~15,000 texts."""
    whole = "\0".join(texts) + "\0"
    if "/" in whole:  # (a URL has a "/")
        texts = [_URL.sub(" ", t) if "/" in t and "." in t else t for t in texts]
        whole = "\0".join(texts) + "\0"
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    if whole.isascii():  # (lower keeps each text's length)
        np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1, out=starts[1:])
        return whole.lower().encode(), starts
    parts = [fold(t).encode("utf-8") for t in texts]
    np.cumsum([len(x) + 1 for x in parts], out=starts[1:])
    return b"\0".join(parts) + b"\0", starts


def _chunk_tokens(joined: bytes, starts: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_],
                                                                        npt.NDArray[np.int64],
                                                                        npt.NDArray[np.int64],
                                                                        npt.NDArray[np.int64]]:
    """The tokens `_words` finds in each folded, UTF-8 text (`_folded`: the texts each ended by a \\0, where
    each begins), found in numpy over all of them at once: per token whether it is a word (else it ends a
    phrase: punctuation, " - ", a hyphenated boilerplate word) and its text's number; and each word's place in
    `joined` and length, in token order.
    A token that ends a phrase is kept as one that does: how many of them stand in a row changes nothing."""
    data = np.frombuffer(joined, dtype=np.uint8)
    cls = np.frombuffer(joined.translate(_CLASS_BYTES), dtype=np.uint8)  # (_CLASS[data]; translate: ~4x faster)
    word = cls == 2
    n = len(data)
    hy = np.flatnonzero(data == _HYPHEN)
    if len(hy):
        cls = cls.copy()
        # " - " ends a phrase (_PARTS); so does a hyphenated boilerplate word as a whole token (_split_tokens).
        mid = hy[(hy > 0) & (hy < n - 1)]
        cls[mid[(data[mid - 1] == _SPACE) & (data[mid + 1] == _SPACE)]] = 1
        for bp in _HYPHENATED_BOILERPLATE_BYTES:
            k = bp.index(b"-")
            s = hy - k
            s = s[(s >= 0) & (s + len(bp) <= n)]
            for j, c in enumerate(bp):
                if not len(s):
                    break
                s = s[data[s + j] == c]
            if not len(s):
                continue
            e = s + len(bp)
            before = np.zeros(len(s), dtype=bool)  # (?<![a-z0-9])(?<![a-z0-9]-)
            at = s >= 1
            before[at] = word[s[at] - 1]
            at2 = s >= 2
            before[at2] |= (data[s[at2] - 1] == _HYPHEN) & word[s[at2] - 2]
            after = np.zeros(len(s), dtype=bool)  # (?!-?[a-z0-9])
            at = e < n
            after[at] = word[e[at]]
            at2 = e + 1 < n
            after[at2] |= (data[e[at2]] == _HYPHEN) & word[e[at2] + 1]
            s, e = s[~before & ~after], e[~before & ~after]
            if len(s):
                cls[s] = 1
                ln = e - s - 1
                cls[np.repeat(s + 1 - np.cumsum(np.r_[0, ln[:-1]]), ln) + np.arange(int(ln.sum()))] = 0
        word = cls == 2
    # A token begins where a word's bytes begin, and at a punctuation mark; a word ends where its bytes end (the
    # last byte is a \0).
    edge = np.empty(n, dtype=bool)
    edge[:1] = word[:1]
    np.greater(word[1:], word[:-1], out=edge[1:])
    edge |= cls == 1
    tok = np.flatnonzero(edge)
    is_word = word[tok]
    w_start = tok[is_word]
    np.greater(word[:-1], word[1:], out=edge[:-1])
    w_len = np.flatnonzero(edge[:-1]) + 1 - w_start
    # Each token's text: the tokens sorted, so a text's count of them is where its start falls among them.
    seg = np.repeat(np.arange(len(starts) - 1), np.diff(np.searchsorted(tok, starts)))
    return is_word, seg, w_start, w_len


def telling(term: str) -> bool:
    """Whether a shared phrase is worth showing as a reason: any two-word phrase, or a single word at least
    EXPLAIN_RARITY rare ("bottleneck", not "model" or "value")."""
    return " " in term or max(rarity(term), rarity(term + "s")) >= EXPLAIN_RARITY


def explain(a: dict[str, float], b: dict[str, float], n: int = 3) -> list[str]:
    """The telling phrases that weigh most in both (a phrase hides the single words it contains)."""
    shared = sorted(((min(a[t], b[t]) * (1.5 if " " in t else 1.0), t) for t in a.keys() & b.keys()
                     if telling(t)), reverse=True)
    return _distinct(shared, n)


def _distinct(shared: list[tuple[float, str]], n: int) -> list[str]:
    out: list[str] = []
    for _, t in shared:
        if any(t in o.split(" ") or o in t.split(" ") for o in out):
            continue
        out.append(t)
        if len(out) == n:
            break
    return out


def explain_known(a: dict[str, float], b: dict[str, float], ok: set[str], n: int = 3) -> list[str]:
    """explain() with the telling phrases given (the index stores which terms are), so that no frequency table
    is loaded to explain a hover or a code action."""
    shared = sorted(((min(a[t], b[t]) * (1.5 if " " in t else 1.0), t) for t in a.keys() & b.keys() if t in ok),
                    reverse=True)
    return _distinct(shared, n)
