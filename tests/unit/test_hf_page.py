"""The saved HF papers page reader, against the real seed page and small hand-written pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import read_feed_file
from paperlens.sources.hf_page import _org_name, parse_hf_page, place_year

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "hf-papers-page.txt"
# Header "Apr 21" -> 2026-04-21; year-less paper dates land in 2026.
TODAY = dt.date(2026, 4, 25)
D = dt.date

# Read off the seed by eye: title, date, upvotes, authors ("N authors"; 0 where an organisation line stands
# instead), organisation, repo.
SEED_TABLE: list[tuple[str, dt.date, int, int, str | None, str | None]] = [
    (
        "Glocal Information Bottleneck for Time Series Imputation",
        D(2025, 10, 6),
        2,
        5,
        None,
        "Muyiiiii/NeurIPS-25-Glocal-IB",
    ),
    (
        "DRCT: Saving Image Super-resolution away from Information Bottleneck",
        D(2024, 3, 31),
        0,
        3,
        None,
        "ming053l/DRCT",
    ),
    (
        "Concept-Centric Transformers: Enhancing Model Interpretability through Object-Centric "
        "Concept Learning "
        "within a Shared Global Workspace",
        D(2023, 5, 25),
        0,
        3,
        None,
        None,
    ),
    (
        "Global Rotation Equivariant Phase Modeling for Speech Enhancement with Deep "
        "Magnitude-Phase Interaction",
        D(2026, 2, 9),
        0,
        4,
        None,
        "wangchengzhong/RENet",
    ),
    ("Virtual Nodes Improve Long-term Traffic Prediction", D(2025, 1, 17), 0, 4, None, None),
    (
        "Cauchy-Schwarz Divergence Information Bottleneck for Regression",
        D(2024, 4, 27),
        0,
        5,
        None,
        "SJYuCNEL/Cauchy-Schwarz-Information-Bottleneck",
    ),
    (
        "How Does Information Bottleneck Help Deep Learning?",
        D(2023, 5, 30),
        0,
        4,
        None,
        "xu-ji/information-bottleneck",
    ),
    (
        "Information Bottleneck Analysis of Deep Neural Networks via Lossy Compression",
        D(2023, 5, 13),
        0,
        6,
        None,
        None,
    ),
    (
        "Global Features are All You Need for Image Retrieval and Reranking",
        D(2023, 8, 14),
        1,
        6,
        None,
        "ShihaoShao-GH/SuperGlobal",
    ),
    (
        "Prototypical Information Bottlenecking and Disentangling for Multimodal Cancer Survival Prediction",
        D(2024, 1, 3),
        0,
        5,
        None,
        None,
    ),
    (
        "On the Perception Bottleneck of VLMs for Chart Understanding",
        D(2025, 3, 24),
        0,
        6,
        None,
        "hkust-nlp/Vision4Chart",
    ),
    (
        "VISion On Request: Enhanced VLLM efficiency with sparse, dynamically selected, vision-language "
        "interactions",
        D(2026, 3, 24),
        2,
        5,
        None,
        None,
    ),
    (
        "Block Transformer: Global-to-Local Language Modeling for Fast Inference",
        D(2024, 6, 4),
        1,
        9,
        None,
        "itsnamgyu/block-transformer",
    ),
    (
        "Scaling Supervised Local Learning with Augmented Auxiliary Networks",
        D(2024, 2, 27),
        0,
        4,
        None,
        "ChenxiangMA/AugLocal",
    ),
    (
        "Intelligence per Watt: Measuring Intelligence Efficiency of Local AI",
        D(2025, 11, 11),
        3,
        0,
        "Stanford AI",
        None,
    ),
    (
        "PrefixKV: Adaptive Prefix KV Cache is What Vision Instruction-Following Models Need for Efficient "
        "Generation",
        D(2024, 12, 4),
        0,
        8,
        None,
        "THU-MIG/PrefixKV",
    ),
    (
        "Adaptive Estimators Show Information Compression in Deep Neural Networks",
        D(2019, 2, 24),
        0,
        3,
        None,
        None,
    ),
    (
        "Improving Image Restoration by Revisiting Global Information Aggregation",
        D(2021, 12, 8),
        0,
        4,
        None,
        "megvii-research/tlc",
    ),
    (
        "ZipVL: Efficient Large Vision-Language Models with Dynamic Token Sparsification and "
        "KV Cache Compression",
        D(2024, 10, 11),
        3,
        7,
        None,
        None,
    ),
    (
        "The Final-Stage Bottleneck: A Systematic Dissection of the R-Learner for Network Causal Inference",
        D(2025, 11, 17),
        0,
        3,
        None,
        None,
    ),
    (
        "COMI: Coarse-to-fine Context Compression via Marginal Information Gain",
        D(2026, 2, 2),
        0,
        7,
        None,
        None,
    ),
    (
        "TPI-LLM: Serving 70B-scale LLMs Efficiently on Low-resource Edge Devices",
        D(2024, 10, 1),
        8,
        4,
        None,
        None,
    ),
    (
        "Characterizing and Optimizing LLM Inference Workloads on CPU-GPU Coupled Architectures",
        D(2025, 4, 16),
        0,
        6,
        None,
        None,
    ),
    (
        "Conditional Memory via Scalable Lookup: A New Axis of Sparsity for Large Language Models",
        D(2026, 1, 12),
        1,
        0,
        "DeepSeek",
        None,
    ),
    (
        "Accelerating Diffusion LLM Inference via Local Determinism Propagation",
        D(2025, 10, 8),
        0,
        7,
        None,
        "friedrichor/LocalLeap",
    ),
    (
        "Victima: Drastically Increasing Address Translation Reach by Leveraging Underutilized "
        "Cache Resources",
        D(2023, 10, 6),
        0,
        8,
        None,
        None,
    ),
    ("Local Augmentation for Graph Neural Networks", D(2021, 9, 8), 0, 9, None, "SongtaoLiu0823/LAGNN"),
    ("CacheGen: Fast Context Loading for Language Model Applications", D(2023, 10, 11), 0, 12, None, None),
    (
        "S^3-Attention:Attention-Aligned Endogenous Retrieval for Memory-Bounded Long-Context Inference",
        D(2026, 1, 27),
        0,
        10,
        None,
        None,
    ),
    (
        "Týr-the-Pruner: Structural Pruning LLMs via Global Sparsity Distribution Optimization",
        D(2025, 3, 12),
        0,
        7,
        None,
        "AMD-AGI/Tyr-the-Pruner",
    ),
    (
        "Performance-aware Approximation of Global Channel Pruning for Multitask CNNs",
        D(2023, 3, 21),
        0,
        5,
        None,
        None,
    ),
    (
        "From Tokens to Thoughts: How LLMs and Humans Trade Compression for Meaning",
        D(2025, 5, 21),
        0,
        4,
        None,
        None,
    ),
    ("AILA--First Experiments with Localist Language Models", D(2025, 11, 5), 0, 1, None, None),
    (
        "Revisiting Multivariate Time Series Forecasting with Missing Values",
        D(2025, 9, 27),
        0,
        7,
        None,
        "Muyiiiii/CRIB",
    ),
    ("Graph Transformers for Large Graphs", D(2023, 12, 18), 0, 6, None, None),
    ("VILA^2: VILA Augmented VILA", D(2024, 7, 24), 7, 9, None, None),
    (
        "DeRIS: Decoupling Perception and Cognition for Enhanced Referring Image Segmentation "
        "through Loopback "
        "Synergy",
        D(2025, 7, 2),
        0,
        7,
        None,
        "Dmmm1997/DeRIS",
    ),
    (
        "Scaling Large Language Model Training on Frontier with Low-Bandwidth Partitioning",
        D(2025, 1, 7),
        0,
        7,
        None,
        None,
    ),
    (
        "Large Graph Convolutional Network Training with GPU-Oriented Data Communication Architecture",
        D(2021, 3, 4),
        0,
        8,
        None,
        None,
    ),
    (
        "Neuro-Inspired Information-Theoretic Hierarchical Perception for Multimodal Learning",
        D(2024, 4, 14),
        0,
        9,
        None,
        None,
    ),
    ("Communication Efficient LLM Pre-training with SparseLoCo", D(2025, 8, 21), 0, 4, None, None),
    (
        "RazorAttention: Efficient KV Cache Compression Through Retrieval Heads",
        D(2024, 7, 21),
        2,
        7,
        None,
        None,
    ),
    (
        "Turbo: Informativity-Driven Acceleration Plug-In for Vision-Language Large Models",
        D(2024, 7, 16),
        0,
        9,
        None,
        None,
    ),
    (
        "Reveal Hidden Pitfalls and Navigate Next Generation of Vector Similarity Search from "
        "Task-Centric Views",
        D(2025, 12, 14),
        1,
        9,
        None,
        None,
    ),
    ("Opening the Black Box of Deep Neural Networks via Information", D(2017, 3, 2), 0, 2, None, None),
    ("GNNPipe: Scaling Deep GNN Training with Pipelined Model Parallelism", D(2023, 8, 19), 0, 3, None, None),
    (
        "Bottlenecked Transformers: Periodic KV Cache Consolidation for Generalised Reasoning",
        D(2025, 5, 22),
        0,
        4,
        None,
        None,
    ),
    (
        "FlashAttention-4: Algorithm and Kernel Pipelining Co-Design for Asymmetric Hardware Scaling",
        D(2026, 3, 5),
        0,
        6,
        None,
        None,
    ),
    (
        "Exploiting Inter-Layer Expert Affinity for Accelerating Mixture-of-Experts Model Inference",
        D(2024, 1, 16),
        0,
        6,
        None,
        None,
    ),
    (
        "Nexus:Proactive Intra-GPU Disaggregation of Prefill and Decode in LLM Serving",
        D(2025, 7, 9),
        0,
        4,
        None,
        None,
    ),
    (
        "Information Shapes Koopman Representation",
        D(2025, 10, 14),
        0,
        7,
        None,
        "Wenxuan52/InformationKoopman",
    ),
    ("EfficientLLM: Efficiency in Large Language Models", D(2025, 5, 19), 1, 16, None, None),
    (
        "An Information Theoretic Perspective on Agentic System Design",
        D(2025, 12, 25),
        2,
        0,
        "Stanford University",
        None,
    ),
    (
        "Task-Specific Data Selection for Instruction Tuning via Monosemantic Neuronal Activations",
        D(2025, 3, 19),
        0,
        9,
        None,
        None,
    ),
]


@pytest.fixture(scope="module")
def seed() -> tuple[list, list[str]]:
    return parse_hf_page(SEED.read_text(encoding="utf-8"), "seed.txt", today=TODAY)


def test_seed_has_54_papers_in_page_order_without_warnings(seed: tuple[list, list[str]]) -> None:
    papers, warnings = seed
    assert warnings == []
    assert len(SEED_TABLE) == 54
    assert [p.title for p in papers] == [row[0] for row in SEED_TABLE]


@pytest.mark.parametrize("row", SEED_TABLE, ids=[r[0][:40] for r in SEED_TABLE])
def test_seed_paper(seed: tuple[list, list[str]], row: tuple) -> None:
    title, date, upvotes, authors, org, repo = row
    paper = next(p for p in seed[0] if p.title == title)
    assert (paper.date, paper.upvotes, paper.author_count, paper.organization, paper.repo) == (
        date,
        upvotes,
        authors,
        org,
        repo,
    )
    assert paper.source == "hf-page:seed.txt"
    assert len(paper.abstract) > 500 and "\n" not in paper.abstract
    assert paper.arxiv_id is None and paper.authors == ()


def test_seed_abstract_is_the_paragraph_under_the_title(seed: tuple[list, list[str]]) -> None:
    glocal = seed[0][0]
    assert glocal.abstract.startswith("Time Series Imputation (TSI), which aims to recover missing values")
    assert glocal.abstract.endswith("https://github.com/Muyiiiii/NeurIPS-25-Glocal-IB.")


@pytest.mark.parametrize(
    ("today", "feb9"),
    [
        (dt.date(2026, 4, 21), dt.date(2026, 2, 9)),  # page saved on its own day
        (dt.date(2026, 4, 20), dt.date(2025, 2, 9)),  # 'Apr 21' not reached yet this year: header is 2025
        (dt.date(2027, 1, 5), dt.date(2026, 2, 9)),  # header 2026-04-21 still the latest Apr 21
    ],
)
def test_seed_year_less_dates_follow_the_header(today: dt.date, feb9: dt.date) -> None:
    papers, _ = parse_hf_page(SEED.read_text(encoding="utf-8"), "seed.txt", today=today)
    assert papers[3].date == feb9


PAGE = """Daily Papers

Apr 21

Alpha: First Paper

An abstract that spans
two lines. Code: https://github.com/o/alpha.git.

  • 3 authors
·
Dec 30 4

Beta Paper

Abstract.

  • 2 authors
·
Mar 1, 2024
"""


def test_year_less_date_after_the_header_day_goes_to_the_year_before() -> None:
    papers, warnings = parse_hf_page(PAGE, "p.txt", today=dt.date(2026, 5, 1))
    assert warnings == []
    assert papers[0].date == dt.date(2025, 12, 30)  # Dec 30 2026 would be after the page date 2026-04-21
    assert papers[0].upvotes == 4 and papers[0].author_count == 3
    assert papers[0].abstract == "An abstract that spans two lines. Code: https://github.com/o/alpha.git."
    assert papers[0].repo == "o/alpha"
    assert papers[1].date == dt.date(2024, 3, 1) and papers[1].upvotes == 0


def test_without_a_header_today_is_the_reference() -> None:
    page = PAGE.replace("Apr 21\n", "")
    papers, _ = parse_hf_page(page, "p.txt", today=dt.date(2026, 1, 10))
    assert papers[0].title == "Alpha: First Paper"
    assert papers[0].date == dt.date(2025, 12, 30)


def test_malformed_block_is_skipped_with_a_warning_naming_title_and_line() -> None:
    page = PAGE.replace("Dec 30 4", "Dec 45 4")
    papers, warnings = parse_hf_page(page, "p.txt", today=dt.date(2026, 5, 1))
    assert [p.title for p in papers] == ["Beta Paper"]
    assert len(warnings) == 1
    assert warnings[0].startswith("p.txt:5: skipped paper block 'Alpha: First Paper'")


def test_trailing_incomplete_block_is_reported() -> None:
    papers, warnings = parse_hf_page(PAGE + "\nGamma Paper\n\nNo date yet.\n", "p.txt", today=TODAY)
    assert len(papers) == 2
    assert warnings == ["p.txt:22: ignored trailing text 'Gamma Paper' (no '·' and date line)"]


def test_windows_line_endings() -> None:
    papers, warnings = parse_hf_page(PAGE.replace("\n", "\r\n"), "p.txt", today=dt.date(2026, 5, 1))
    assert [p.title for p in papers] == ["Alpha: First Paper", "Beta Paper"] and warnings == []


@pytest.mark.parametrize(
    ("line", "org"),
    [
        ("Stanford Stanford AI", "Stanford AI"),
        ("deepseek-ai DeepSeek", "DeepSeek"),
        ("StanfordUniversity Stanford University", "Stanford University"),
        ("allenai Ai2", "Ai2"),
        ("nvidia NVIDIA", "NVIDIA"),
        ("DeepSeek", "DeepSeek"),
        ("Meta AI", "Meta AI"),  # no handle in front: kept whole
    ],
)
def test_org_line_drops_the_handle(line: str, org: str) -> None:
    assert _org_name(line) == org


def test_org_and_author_count_in_one_block() -> None:
    page = "Title\n\nAbstract text.\n\n  • 4 authors\ngoogle Google\n·\nJan 2, 2025 1.5k\n"
    (paper,), warnings = parse_hf_page(page, "p.txt", today=TODAY)
    assert (paper.author_count, paper.organization, paper.upvotes, paper.abstract) == (
        4,
        "Google",
        1500,
        "Abstract text.",
    )


def test_place_year_leap_day() -> None:
    assert place_year(2, 29, dt.date(2026, 4, 21)) == dt.date(2024, 2, 29)
    assert place_year(4, 21, dt.date(2026, 4, 21)) == dt.date(2026, 4, 21)


def test_read_feed_file_reads_the_seed() -> None:
    papers, warnings = read_feed_file(SEED, today=TODAY)
    assert len(papers) == 54 and warnings == []
    assert papers[0].source == f"hf-page:{SEED}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data (NUL byte at offset 8)"),
        (b"title\n\xff\xfe broken", ":2: not UTF-8 text (byte 0xff at offset 6)"),
        (b"Just some notes\n\nnothing like a paper list\n", "no papers found"),
    ],
)
def test_read_feed_file_errors_name_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    f = tmp_path / "feed.txt"
    f.write_bytes(content)
    with pytest.raises(FeedError) as e:
        read_feed_file(f, today=TODAY)
    assert str(e.value).startswith(str(f))
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_read_feed_file_missing(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="no such file"):
        read_feed_file(tmp_path / "nope.txt")
