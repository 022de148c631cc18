"""Related papers: key phrases, their explanations, passages (LaTeX, Markdown, Python), .bib papers, the CLI,
and precision at 5 against the hand-labelled topics in bench/related/ (kept from regressing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from paperlens.analysis.document import DocAnalysis
from paperlens.analysis.kinds import LATEX, MARKDOWN, PYTHON
from paperlens.core.model import Paper
from paperlens.features.related import clean_prose, passage_at
from paperlens.features.results import Region
from paperlens.index.catalog import Catalog
from paperlens.index.core import Index
from paperlens.index.semantic import explain, key_phrases, rarity
from paperlens.library.store import read_library, snapshot_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog(Index.build(read_library(snapshot_file())))


def test_rarity_follows_general_english() -> None:
    assert rarity("global") < 1.5 < rarity("bottleneck") < rarity("imputation")
    assert rarity("the") == rarity("propose") == rarity("state-of-the-art") == 0.0  # function word, boilerplate
    assert rarity("glocalib") == 6.0  # a name English never uses


def test_key_phrases_are_units() -> None:
    kp = key_phrases("Glocal Information Bottleneck for Time Series Imputation",
                     "We propose a new training paradigm. Missing values in time series are imputed.")
    assert "information bottleneck" in kp and "time series" in kp and "series imputation" in kp
    assert "propose" not in kp and "paradigm" not in kp and "for time" not in kp  # boilerplate, across "for"
    assert "imputation" in kp and kp["imputation"] > kp.get("series", 0.0)
    # A phrase never spans punctuation.
    assert "bottleneck time" not in key_phrases("", "an information bottleneck. Time series")
    # A hyphenated word is its parts, so both spellings meet; boilerplate stays out whole.
    hy = key_phrases("", "Image super-resolution with a key-value cache, a state-of-the-art off-the-shelf model.")
    assert hy.keys() >= key_phrases("", "Image super resolution with a key value cache.").keys()
    assert "super resolution" in hy and "shelf" not in hy and "state" not in hy


def test_explain_prefers_shared_phrases() -> None:
    a = key_phrases("Information bottleneck for time series imputation", "global model")
    b = key_phrases("Revisiting multivariate time series forecasting with missing values",
                    "the information bottleneck of a global model")
    why = explain(a, b)
    assert {"information bottleneck", "time series"} <= set(why), why
    assert "global" not in why and "model" not in why and "bottleneck" not in why  # no everyday word, no repeat


def _seed_topics() -> dict[str, set[str]]:
    """Title -> hand-labelled topics (bench/related/seed_topics.tsv)."""
    out = {}
    for line in (ROOT / "bench" / "related" / "seed_topics.tsv").read_text().splitlines():
        if not line.startswith("#"):
            _, title, topics = line.split("\t")
            out[title] = set(topics.split())
    return out


@pytest.mark.parametrize("name", ["Glocal-IB", "PrefixKV", "GNNPipe", "CS-IB", "RazorAttention"])
def test_related_papers_share_a_topic(catalog: Catalog, name: str) -> None:
    topics = _seed_topics()
    e = catalog.lookup(name)
    assert e is not None
    rel = catalog.related_why(e, 5)
    assert len(rel) == 5 and e.key not in {r.key for r, _ in rel}
    on_topic = [r.title for r, _ in rel if topics[r.title] & topics[e.title]]
    assert len(on_topic) >= 3, [(r.title, why) for r, why in rel]
    assert all(why for _, why in rel)  # every suggestion says why


def test_glocal_ib_is_no_longer_related_through_global(catalog: Catalog) -> None:
    """The issue's examples: 'global' the adjective linked speech enhancement and Block Transformer."""
    e = catalog.lookup("Glocal-IB")
    assert e is not None
    titles = [r.title for r in catalog.related(e, 5)]
    assert not any("Speech Enhancement" in x or "Block Transformer" in x for x in titles), titles


def test_passage_ranks_by_content_and_explains(catalog: Catalog) -> None:
    rel = catalog.related_passage("We compress the key-value cache of vision-language models so that long "
                                  "multimodal prompts fit in GPU memory during decoding.", 5)
    assert rel
    top, why = rel[0]
    assert "KV" in top.title or "kv" in " ".join(why), [(r.title, w) for r, w in rel]
    assert any("kv" in w or "cache" in w for _, ws in rel for w in ws)


def test_bib_papers_with_abstracts_take_part(catalog: Catalog) -> None:
    mine = Paper(title="Variational bottlenecks for sensor imputation",
                 abstract="We impute missing sensor readings in multivariate time series with a variational "
                          "information bottleneck that discards the noise of missing values.",
                 bib_key="me2026sensors")
    cat = Catalog(catalog.base, [mine])
    rel = cat.related_passage("Imputation of missing values in multivariate time series with an information "
                              "bottleneck.", 5)
    keys = [r.key for r, _ in rel]
    assert "me2026sensors" in keys[:3], keys
    e = cat.by_key("me2026sensors")
    assert e is not None
    assert any("bottleneck" in r.title.lower() for r in cat.related(e, 5))  # a .bib paper has related papers too


def _doc(kind: str, text: str) -> DocAnalysis:
    return DocAnalysis.from_text("file:///x", kind, text)


def _rng(l1: int, c1: int, l2: int, c2: int) -> Region:
    return Region(l1, c1, l2, c2)


def test_latex_paragraph_without_markup() -> None:
    tex = ("\\section{Intro}\n\nMissing values hurt \\emph{time series} models~\\cite{glocalib2025}.\n"
           "We study imputation % a comment about bottlenecks\nunder high missing rates.\n\nNext paragraph.\n")
    found = passage_at(_doc(LATEX, tex), _rng(3, 2, 3, 2), invoked=True)
    assert found is not None
    what, text, span = found
    assert what == "paragraph" and "time series" in text and "imputation" in text
    assert "glocalib2025" not in text and "emph" not in text and "bottlenecks" not in text
    assert (span.line, span.start) == (4, len("under high missing rates"))  # before the full stop
    assert passage_at(_doc(LATEX, tex), _rng(3, 2, 3, 2), invoked=False) is None  # no lightbulb everywhere


def test_markdown_selection() -> None:
    md = "# Notes\n\nKV cache compression [@zipvl2024] for [long prompts](https://x.org).\n"
    found = passage_at(_doc(MARKDOWN, md), _rng(2, 0, 2, 64), invoked=False)
    assert found is not None
    what, text, span = found
    assert what == "selection" and "zipvl2024" not in text and "long prompts" in text and "https" not in text
    assert clean_prose("see [@a; @b] and @c", MARKDOWN).split() == ["see", "and"]


def test_python_function_with_docstring() -> None:
    py = ('import torch\n\n\ndef impute_series(x, mask):\n    """Fill missing values of a multivariate time '
          'series."""\n    # information bottleneck regulariser\n    return x * mask\n\n\ny = 1\n')
    found = passage_at(_doc(PYTHON, py), _rng(6, 4, 6, 4), invoked=True)
    assert found is not None
    what, text, span = found
    assert what == "function" and "impute series" in text and "multivariate time series" in text
    assert "information bottleneck" in text and "return" not in text
    assert span.line == 3  # the comment goes on the def line
    assert passage_at(_doc(PYTHON, py), _rng(9, 0, 9, 0), invoked=True) is None  # outside any function


def test_cli_related_text(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "paperlens", "related", "--text",
                        "imputation of missing values in time series with an information bottleneck",
                        "--cache-dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "glocalib2025" in r.stdout and "both: " in r.stdout
    bad = subprocess.run([sys.executable, "-m", "paperlens", "related", "--cache-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "--text" in bad.stderr


# Measured on 2026-11-29 (bench/related_eval.py, labels as of the relabelling noted in
# bench/results/related-p5.md): seed 0.715 (key phrases + the shipped all-mpnet-base-v2 vectors; 0.692 with the
# all-MiniLM-L6-v2 vectors shipped before, 0.608 without any), daily 0.364 (no vectors: key phrases only, as
# without the encoder). The thresholds sit just under them.
P5_FLOOR = {"seed": 0.70, "daily": 0.34}


def test_precision_at_5_does_not_regress() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import related_eval
    finally:
        sys.path.remove(str(ROOT / "bench"))
    sets = related_eval.load_sets()
    if "daily" not in sets:
        pytest.skip("../shared/realworld/hf not found")
    got = related_eval.evaluate("paperlens", sets)
    for name, floor in P5_FLOOR.items():
        assert got[name][0] >= floor, (name, got[name])
