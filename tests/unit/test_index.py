"""The index over the shipped snapshot: aliases, keys, ranked search, related papers, persistence."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import random
import re
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from paperlens.core.model import Library, Paper
from paperlens.core.text import norm_name
from paperlens.index import core
from paperlens.index.aliases import abstract_names, is_common, title_name
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index, _sum_by_id
from paperlens.index.keys import assign_keys, base_key
from paperlens.index.persist import load_index, save_index
from paperlens.index.typo import max_distance, presence, signature
from paperlens.library.store import read_library, snapshot_file


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(Index.build(read_library(snapshot_file())))


@pytest.mark.parametrize(
    ("title", "name"),
    [
        ("DRCT: Saving Image Super-resolution away from Information Bottleneck", "DRCT"),
        ("FlashAttention-4: Algorithm and Kernel Pipelining Co-Design", "FlashAttention-4"),
        ("TPI-LLM: Serving 70B-scale LLMs Efficiently", "TPI-LLM"),
        ("Nexus:Proactive Intra-GPU Disaggregation", "Nexus"),
        ("Block Transformer: Global-to-Local Language Modeling", "Block Transformer"),
        ("Týr-the-Pruner: Structural Pruning LLMs", "Týr-the-Pruner"),
        ("The Final-Stage Bottleneck: A Systematic Dissection", None),
        ("Intelligence per Watt: Measuring Intelligence Efficiency", None),
        ("From Tokens to Thoughts: How LLMs and Humans Trade Compression", None),
        ("Global Features are All You Need for Image Retrieval", None),
    ],
)
def test_title_name(title: str, name: str | None) -> None:
    assert title_name(title) == name


@pytest.mark.parametrize(
    ("abstract", "names"),
    [
        ("To address this issue, we propose a new training paradigm, Glocal Information Bottleneck (Glocal-IB).",
         ["Glocal-IB"]),
        ("we put forward an augmented local learning method, dubbed AugLocal. AugLocal constructs ...", ["AugLocal"]),
        ("In this paper, we present SuperGlobal, a novel approach that exclusively employs global features",
         ["SuperGlobal"]),
        ("We investigate the improved generalization ability of our proposed CS-IB and demonstrate", ["CS-IB"]),
        ("The information bottleneck (IB) approach is popular to improve the generalization", []),
        ("we propose a manifold-aware magnitude-phase dual-stream framework", []),
        # Capitals inside words spell the name in parentheses: the gloss is not a name (a real abstract, typo kept).
        ("To address this challenge, we introduce ShifTed Rotray position\nembeddING (STRING). STRING shifts",
         ["STRING"]),
        ("we introduce Glocal Information Bottleneck (Glocal-IB).", ["Glocal Information Bottleneck", "Glocal-IB"]),
    ],
)
def test_abstract_names(abstract: str, names: list[str]) -> None:
    assert abstract_names(abstract) == names


def test_gloss_of_a_real_abstract_gives_its_acronym() -> None:
    import json

    path = Path(__file__).resolve().parents[2].parent / "shared" / "realworld" / "hf" / "daily_papers-2024-10-25.json"
    items = json.loads(path.read_text(encoding="utf-8"))
    abstract = next(it["paper"]["summary"] for it in items if "ShifTed" in it["paper"]["summary"])
    assert abstract_names(abstract) == ["STRING"]


@pytest.mark.parametrize(("name", "common"), [("Nexus", True), ("Turbo", True), ("Block Transformer", True),
                                               ("DRCT", False), ("Glocal-IB", False), ("PrefixKV", False)])
def test_common_word_names(name: str, common: bool) -> None:
    assert is_common(name) is common


@pytest.mark.parametrize(
    ("query", "title_start"),
    [
        ("DRCT", "DRCT: Saving Image"),
        ("Glocal-IB", "Glocal Information Bottleneck"),
        ("glocal_ib", "Glocal Information Bottleneck"),
        ("GlocalIB", "Glocal Information Bottleneck"),
        ("FlashAttention-4", "FlashAttention-4"),
        ("CS-IB", "Cauchy-Schwarz Divergence"),
        ("SuperGlobal", "Global Features are All You Need"),
        ("AugLocal", "Scaling Supervised Local Learning"),
        ("glo", "Glocal Information Bottleneck"),
        ("glocl", "Glocal Information Bottleneck"),  # a typo in a prefix
        ("prefixkv", "PrefixKV"),
        ("Cauchy-Schwarz information bottleneck", "Cauchy-Schwarz Divergence"),
    ],
)
def test_search_top_hit(catalog: Catalog, query: str, title_start: str) -> None:
    hits = catalog.search(query, 5)
    assert hits and hits[0].title.startswith(title_start), [h.title for h in hits]


def test_information_bottleneck_papers_come_first(catalog: Catalog) -> None:
    hits = catalog.search("information bottleneck", 20)
    top = [h.title.lower() for h in hits[:5]]
    assert all("information bottleneck" in t for t in top), top


def test_typo_tolerant_words(catalog: Catalog) -> None:
    hits = catalog.search("botleneck", 10)
    assert hits and all("bottleneck" in h.title.lower() for h in hits[:3])


def test_typo_buckets_are_not_walked_by_the_collector(catalog: Catalog) -> None:
    """The typo path keeps its signatures (and, for a query that is not ASCII, its decoded term buckets) between
    requests; no garbage collection may walk them (kept as lists, 400k cached strings cost each collection 3-5 ms
    at 1M papers, inside a hover or a completion)."""
    idx = catalog.base.segs[0]
    assert catalog.search("botleneck", 10) and catalog.search("transformr", 10)
    assert idx._fuzzy(idx.words, "w", "bottlenëck")  # not ASCII: every term of the buckets decoded and scored
    sigs = [v[1] for v in idx._fz_sigs.values() if v is not None]
    kept = [*idx._fuzzy_cache.values(), *idx._fz_heads.values(), *sigs]
    assert sum(map(len, idx._fuzzy_cache.values())) > 0 and sum(map(len, sigs)) > 0
    assert not any(gc.is_tracked(v) for v in kept)
    assert all(isinstance(t, str) for v in idx._fuzzy_cache.values() for t in v)


@pytest.mark.parametrize("seed", range(4))
def test_typo_signatures_never_exceed_the_indel_distance(seed: int) -> None:
    """The narrowing is exact only if a signature distance is a lower bound of the Indel distance fuzz.ratio
    scores by: checked on random strings of letters, digits and punctuation, with repeated characters."""
    rng = random.Random(seed)
    alphabet = "aabcdeeilnorst0123456789-_.x"
    strs = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16))) for _ in range(300)]
    for a, b in zip(strs, strs[1:] + strs[:1], strict=True):
        d = Indel.distance(a, b)
        assert int(np.bitwise_count(signature(a) ^ signature(b))) <= d, (a, b)
        pa = presence(np.frombuffer(a.encode(), dtype=np.uint8).reshape(1, -1))[0]
        pb = presence(np.frombuffer(b.encode(), dtype=np.uint8).reshape(1, -1))[0]
        assert int(np.bitwise_count(pa ^ pb)) <= d, (a, b)
        assert (fuzz.ratio(a, b) >= 75) <= (d <= max_distance(len(a), len(b), 75))


def test_stored_typo_signatures_are_each_terms_own(catalog: Catalog) -> None:
    idx = catalog.base.segs[0]
    for terms, sigs in ((idx.name_fz_terms, idx.name_fz_sigs), (idx.word_fz_terms, idx.word_fz_sigs)):
        assert len(sigs) == len(terms) > 100
        assert all(sigs[i] == signature(t) for i, t in enumerate(terms) if t.isascii())


@pytest.mark.parametrize("small", [0, 256])
def test_typo_narrowing_finds_what_scoring_every_term_finds(catalog: Catalog, small: int,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Typo matches through the signatures are the same, in the same order, as scoring every term of the
    buckets (the path of a query that is not ASCII), for typos of the index's own names and words; with every
    bucket narrowed by its signatures (small=0: the snapshot's buckets are small) and with small ones whole."""
    monkeypatch.setattr(core, "FUZZY_SMALL", small)
    idx = Index.build(read_library(snapshot_file()))
    rng = random.Random(5)
    checked = 0
    for post, tag in ((idx.names, "n"), (idx.words, "w")):
        terms = [t for t in post.terms if len(t) >= 4 and t.isascii()]
        for t in rng.sample(terms, min(150, len(terms))):
            i = rng.randrange(1, len(t) - 1)
            for q in (t[:i] + t[i + 1:], t[:i] + t[i + 1] + t[i] + t[i + 2:], t[:i] + "e" + t[i + 1:], t[: i + 1]):
                if len(q) >= 3:
                    assert idx._fuzzy(post, tag, q) == idx._fuzzy_decoded(tag, q), q
                    checked += 1
    assert checked > 500


def test_a_typo_query_whose_word_matches_nothing_skips_the_prefix_range(catalog: Catalog) -> None:
    """"yrsolsho-2": no paper has the word, so no paper matches every word, whatever starts with "2"."""
    idx = catalog.base.segs[0]
    assert len(idx.word_matches(["zzqqxx", "2"])) == 0
    assert len(idx.word_matches(["information", "bo"])) > 0


@pytest.mark.parametrize("seed", range(5))
def test_sum_by_id_matches_unique_and_bincount(seed: int) -> None:
    """The related-papers path's merge of sorted posting runs gives what np.unique + np.bincount give, exactly."""
    rng = np.random.default_rng(seed)
    runs = [np.sort(rng.choice(5000, size=int(k), replace=False)).astype(np.int32) for k in rng.integers(1, 900, 9)]
    ids = np.concatenate(runs)
    w = rng.random(len(ids)).astype(np.float32)
    uniq, inv = np.unique(ids, return_inverse=True)
    got_ids, got_sums = _sum_by_id(ids, w)
    assert np.array_equal(got_ids, uniq)
    assert np.array_equal(got_sums, np.bincount(inv, weights=w))


def test_search_limit_and_empty(catalog: Catalog) -> None:
    assert len(catalog.search("", 50)) == 50
    assert catalog.search("zzzzqqqq", 10) == []


def test_exact_mentions(catalog: Catalog) -> None:
    m = catalog.mention("Nexus")
    assert m is not None and m.common and m.entries[0].title.startswith("Nexus:")
    assert catalog.mention("torch") is None
    assert catalog.mention("data") is None
    m = catalog.mention("Glocal_IB")
    assert m is not None and m.entries[0].method == "Glocal-IB"


def test_keys_are_unique_and_human(catalog: Catalog) -> None:
    keys = [catalog.base.entry(i).key for i in range(catalog.base.n)]
    assert len(set(keys)) == len(keys)
    assert catalog.lookup("DRCT") is not None and catalog.lookup("DRCT").key == "drct2024"  # type: ignore[union-attr]


def test_key_styles() -> None:
    p = Paper(title="Block Transformer: Global-to-Local Language Modeling", authors=("Namgyu Ho", "Sangmin Bae"),
              date=__import__("datetime").date(2024, 6, 4))
    assert base_key(p, "Block Transformer") == "ho2024block"
    q = Paper(title="DRCT: Saving Image Super-resolution", date=__import__("datetime").date(2024, 3, 31))
    assert base_key(q, "DRCT") == "drct2024"
    user = Paper(title="X", bib_key="ho2024block")
    assert assign_keys([(user, None), (p, "Block Transformer")]) == ["ho2024block", "ho2024blocka"]


def test_related_are_on_topic(catalog: Catalog) -> None:
    e = catalog.lookup("Glocal-IB")
    assert e is not None
    rel = catalog.related(e, 5)
    assert rel and e.key not in {r.key for r in rel}
    assert sum("bottleneck" in r.title.lower() or "time series" in r.title.lower() for r in rel) >= 2, \
        [r.title for r in rel]


def test_related_text(catalog: Catalog) -> None:
    rel = catalog.related_text("We compress the KV cache of large language models for long-context inference", 5)
    assert any("KV" in r.title for r in rel), [r.title for r in rel]


def test_persisted_index_round_trip(tmp_path: Path, catalog: Catalog) -> None:
    save_index(catalog.base.segs[0], tmp_path / "ix")
    loaded = Catalog(load_index(tmp_path / "ix"))
    assert loaded.base.n == catalog.base.n
    for q in ("DRCT", "information bottleneck", "glocl"):
        assert [e.key for e in loaded.search(q, 10)] == [e.key for e in catalog.search(q, 10)]
    e = loaded.lookup("DRCT")
    assert e is not None and "Vision Transformer" in e.paper.abstract


def test_load_damaged_index_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ix").mkdir()
    (tmp_path / "ix" / "meta.json").write_text("{not json")
    with pytest.raises(ValueError, match="cannot load index"):
        load_index(tmp_path / "ix")


def test_bib_overlay_merges_by_arxiv_and_title(catalog: Catalog) -> None:
    by_title = Paper(title="Glocal Information Bottleneck for Time Series Imputation", bib_key="mine2025glocal",
                     authors=("Jie Yang",), source="bib:refs.bib")
    only_bib = Paper(title="The information bottleneck method", bib_key="tishby2000information",
                     authors=("Naftali Tishby",), source="bib:refs.bib")
    cat = Catalog(catalog.base, [by_title, only_bib])
    e = cat.lookup("Glocal-IB")
    assert e is not None and e.key == "mine2025glocal"
    assert e.repo_name == "Muyiiiii/NeurIPS-25-Glocal-IB"  # the feed's extras survive the merge
    assert e.paper.authors == ("Jie Yang",)
    assert cat.by_key("tishby2000information") is not None
    assert cat.n_papers == catalog.n_papers + 1
    keys = [h.key for h in cat.search("glocal", 5)]
    assert keys.count("mine2025glocal") == 1 and "glocalib2025" not in keys


def test_build_empty_library() -> None:
    ix = Index.build(Library())
    assert ix.n == 0 and Catalog(ix).search("x") == [] and Catalog(ix).lookup("x") is None


REAL_BIB = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "bib"


@pytest.mark.parametrize("name", ["akhirsch_main.bib", "biblatex-examples.bib"])
def test_every_bib_key_survives_as_a_feed_and_in_the_workspace(name: str, catalog: Catalog,
                                                                tmp_path: Path) -> None:
    from paperlens.core.config import Settings
    from paperlens.library.pipeline import open_index
    from paperlens.sources.bibtex import parse_bib

    papers, _ = parse_bib((REAL_BIB / name).read_text(encoding="utf-8"), name)
    keys = {p.bib_key for p in papers}
    # These files hold different works with the same title (a book and its review, two editions...).
    assert len({norm_name(p.title) for p in papers}) < len(keys)
    s = dataclasses.replace(Settings(), cache_dir=str(tmp_path / "cache"), feeds=(str(REAL_BIB / name),))
    as_feed = Catalog(open_index(s).index)
    assert [k for k in keys if as_feed.by_key(k or "") is None] == []
    in_ws = Catalog(catalog.base, papers)
    assert [k for k in keys if in_ws.by_key(k or "") is None] == []


def test_same_title_different_year_or_author_are_two_papers() -> None:
    from paperlens.library.merge import merge_papers, same_paper

    a = Paper(title="Exercise and mental health", authors=("Jane Smith",), date=dt.date(2017, 1, 1),
              bib_key="smith2017", source="bib:x.bib")
    b = Paper(title="Exercise and Mental Health", authors=("Robert Jones",), date=dt.date(1990, 1, 1),
              bib_key="jones1990", source="bib:x.bib")
    feed_a = Paper(title="Exercise and mental health.", authors=("J. Smith",), date=dt.date(2017, 5, 2),
                   upvotes=3, source="hf-api:x")
    feed_other = Paper(title="Exercise and mental health", authors=("Kim Lee",), date=dt.date(2017, 1, 1))
    assert not same_paper(a, b)
    assert same_paper(a, feed_a) and not same_paper(a, feed_other)
    merged = merge_papers([a, b], [feed_a, feed_other])
    assert [(p.bib_key, p.upvotes) for p in merged] == [("smith2017", 3), ("jones1990", 0), (None, 0)]
    # Same DOI or arXiv id is the same work, whatever the titles say.
    c = Paper(title="A preprint title", doi="10.1000/X1", bib_key="c")
    assert same_paper(c, Paper(title="The published title", doi="10.1000/x1"))


def test_many_papers_sharing_a_base_key_get_unique_keys_in_order() -> None:
    """Issue 11 #11: de-duplication keeps its a/b/c... order with a per-key counter (linear, not quadratic)."""
    from paperlens.index.keys import dedupe_keys

    bases = [("smith2024deep", False)] * 3000 + [("smith2024deepa", True)] + [("smith2024deep", False)]
    out = dedupe_keys(bases, taken={"smith2024deepb"})
    assert len(set(out)) == len(out)
    assert out[:3] == ["smith2024deep", "smith2024deepc", "smith2024deepd"]  # a is the user's, b was taken
    assert out[3000] == "smith2024deepa"  # the user's own key is kept


def test_cue_matches_are_the_cue_regex_matches() -> None:
    # aliases._cue_matches tries _CUE only where a match can start; on real abstracts and on made-up text of cue
    # words, spaces and names it finds what scanning every position finds.
    from paperlens.index.aliases import _CUE, _cue_matches
    from paperlens.sources.feedfile import read_feed_file

    def spans(ms: list[re.Match[str]]) -> list[tuple[int, int, str]]:
        return [(m.start(1), m.end(1), m.group(1)) for m in ms]

    real, _ = read_feed_file(Path(__file__).resolve().parents[3] / "shared" / "realworld" / "hf" /
                             "daily_papers-2024-10-25.json")
    texts = [p.abstract for p in real]
    pieces = ["we", "We", " ", "  ", "\n", "\u00a0", "propose", "proposed", "our", "present", "dubbed", "called",
              "named", "renamed", "namely", "Foo", "Bar-X", "a", "the", "novel", "new", "(", ")", "FooNet", "'",
              "design", "designed", "introduce", "develop", "termed", "coined", "\t"]
    rnd = random.Random(3)
    texts += ["".join(rnd.choice(pieces) + rnd.choice(["", " "]) for _ in range(rnd.randint(1, 20)))
              for _ in range(20000)]
    assert sum(1 for t in texts if _CUE.search(t)) > 1000
    for t in texts:
        assert spans(_cue_matches(t)) == spans(list(_CUE.finditer(t))), t


def test_related_without_reasons_are_the_same_papers(catalog: Catalog) -> None:
    """The hover's Related line asks for no reasons (it shows none): the same papers, in the same order."""
    for i in range(0, catalog.base.n, 5):
        e = catalog.base.entry(i)
        with_reasons = catalog.related_why(e, 6)
        without = catalog.related_why(e, 6, reasons=False)
        assert [x.key for x, _ in without] == [x.key for x, _ in with_reasons]
        assert all(r == [] for _, r in without)
        assert any(r for _, r in with_reasons) or not with_reasons
