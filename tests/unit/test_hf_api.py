"""The HF papers API reader: body shapes, defensive parsing, URLs and paging (fake get_json, no network)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlens.core.model import Paper
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import read_feed_file
from paperlens.sources.hf_api import (
    daily_papers_url,
    feed_url_kind,
    fetch_daily,
    fetch_feed_url,
    paper_url,
    parse_hf_json,
    search_url,
)

BASE = "https://huggingface.co"


def paper_obj(n: int = 1, **extra: Any) -> dict[str, Any]:
    """A paper object as in GET /api/papers/{id} (values invented)."""
    d: dict[str, Any] = {
        "id": f"2501.{n:05d}",
        "title": f"Example {n}:\n  A Method",
        "summary": "Line one of the\nabstract.",
        "authors": [
            {"_id": "a1", "name": "Ada Lovelace", "hidden": False},
            {"_id": "a2", "name": "Alan Turing", "hidden": True, "user": {"user": "alan"}},
        ],
        "publishedAt": "2025-01-02T18:00:00.000Z",
        "upvotes": 42,
        "discussionId": "d1",
    }
    d.update(extra)
    return d


def daily_item(n: int = 1, **paper_extra: Any) -> dict[str, Any]:
    return {
        "paper": paper_obj(n, **paper_extra),
        "title": f"Example {n}: A Method",
        "publishedAt": "2025-01-03T04:10:00.000Z",
        "numComments": 3,
        "thumbnail": "https://cdn.example/x.png",
        "isAuthorParticipating": False,
        "submittedBy": {"_id": "u1", "name": "someone", "fullname": "Some One", "type": "user"},
    }


def test_daily_item_all_fields() -> None:
    item = daily_item(
        7,
        githubRepo="https://github.com/ex/proj.git",
        githubStars=310,
        projectPage="https://ex.github.io/proj",
        ai_summary="Gist.",
        ai_keywords=["diffusion", "", 3, "KV cache"],
    )
    item["organization"] = {"_id": "o1", "name": "deepseek-ai", "fullname": "DeepSeek", "avatar": "x"}
    papers, warnings = parse_hf_json([item], "daily.json")
    assert warnings == []
    assert papers == [
        Paper(
            title="Example 7: A Method",
            abstract="Line one of the abstract.",
            authors=("Ada Lovelace", "Alan Turing"),
            organization="DeepSeek",
            date=dt.date(2025, 1, 2),  # the paper's publishedAt, not the day it reached Daily Papers
            upvotes=42,
            arxiv_id="2501.00007",
            repo="ex/proj",
            project_page="https://ex.github.io/proj",
            ai_keywords=("diffusion", "KV cache"),
            ai_summary="Gist.",
            source="hf-api:daily.json",
        )
    ]


def test_search_items_and_flat_paper() -> None:
    search = [{"paper": paper_obj(1), "highlightedTitle": "<b>Example</b>"}, {"paper": paper_obj(2)}]
    papers, warnings = parse_hf_json(search, "q")
    assert [p.arxiv_id for p in papers] == ["2501.00001", "2501.00002"] and warnings == []
    flat, warnings = parse_hf_json(paper_obj(3, organization={"name": "stanford"}, linkedModels=[]), "one")
    assert len(flat) == 1 and flat[0].arxiv_id == "2501.00003" and flat[0].organization == "stanford"
    assert warnings == []


def test_minimal_and_oddly_typed_fields_are_tolerated() -> None:
    odd = {
        "id": "2406.02657v2",
        "title": "Odd",
        "authors": "not a list",
        "publishedAt": "yesterday",
        "upvotes": "12",
        "githubRepo": "https://gitlab.com/x/y",
        "projectPage": "javascript:alert(1)",
        "ai_keywords": "nope",
        "organization": 5,
        "brandNewKey": {"x": 1},
    }
    papers, warnings = parse_hf_json([odd, {"title": "Bare"}], "s")
    # Both load; the one without an id is named, since its key is made up.
    assert warnings == ["s: entry 1 (title 'Bare') has no arXiv id; its key is made up from the title"]
    p = papers[0]
    assert (
        p.arxiv_id,
        p.authors,
        p.date,
        p.upvotes,
        p.repo,
        p.project_page,
        p.ai_keywords,
        p.organization,
    ) == (
        "2406.02657",
        (),
        None,
        12,
        None,
        None,
        (),
        None,
    )
    assert papers[1] == Paper(title="Bare", source="hf-api:s")


def test_ids_that_are_not_arxiv_ids_are_dropped() -> None:
    papers, _ = parse_hf_json([paper_obj(1, id="../../etc"), paper_obj(2, id=2501.00001)], "s")
    assert [p.arxiv_id for p in papers] == [None, None]


def test_malformed_entries_are_skipped_with_index_and_id() -> None:
    data = [
        daily_item(1),
        "junk",
        {"paper": {"id": "2501.99999", "summary": "no title"}},
        None,
        daily_item(2),
    ]
    papers, warnings = parse_hf_json(data, "feed.json")
    assert [p.arxiv_id for p in papers] == ["2501.00001", "2501.00002"]
    assert warnings == [
        "feed.json: entry 1 (str) skipped: expected an object, got str",
        "feed.json: entry 2 (id '2501.99999') skipped: no title",
        "feed.json: entry 3 (NoneType) skipped: expected an object, got NoneType",
    ]


def test_error_body() -> None:
    papers, warnings = parse_hf_json({"error": "Paper not found"}, "u")
    assert papers == []
    assert warnings == ["u: body (dict) skipped: the server answered with an error: Paper not found"]


def test_saved_paper_list_round_trips() -> None:
    p = Paper(
        title="Saved",
        authors=("A B",),
        date=dt.date(2024, 5, 1),
        arxiv_id="2405.00001",
        repo="o/r",
        source="hf-page:seed.txt",
        upvotes=3,
    )
    papers, warnings = parse_hf_json([p.to_json()], "cache.json")
    assert papers == [p] and warnings == []
    bad, warnings = parse_hf_json([{"title": "X", "arxiv_id": "1", "date": "not a date"}], "cache.json")
    assert warnings == ["cache.json: entry 0 (arxiv_id '1') skipped: bad date 'not a date'"] and bad == []
    odd = {
        "title": " Odd ",
        "authors": "A B",
        "repo": "not a repo",
        "upvotes": True,
        "abstract": 5,
        "project_page": "file:///etc/passwd",
        "ai_keywords": ["k", 1],
        "source": "",
    }
    (p2,), warnings = parse_hf_json([odd], "cache.json")
    assert p2 == Paper(title="Odd", ai_keywords=("k",), source="json:cache.json") and warnings == []
    lib, _ = parse_hf_json({"papers": [p.to_json()], "repos": {}}, "library.json")
    assert lib == [p]


def test_read_feed_file_json(tmp_path: Path) -> None:
    f = tmp_path / "daily.json"
    f.write_text(json.dumps([daily_item(1), daily_item(2)]), encoding="utf-8")
    papers, _ = read_feed_file(f)
    assert [p.source for p in papers] == [f"hf-api:{f}"] * 2
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"title": "x",}\n]', encoding="utf-8")
    with pytest.raises(Exception, match=rf"{bad}:2:\d+: invalid JSON"):
        read_feed_file(bad)


def test_urls() -> None:
    assert (
        daily_papers_url(BASE, date=dt.date(2025, 10, 6))
        == f"{BASE}/api/daily_papers?date=2025-10-06&p=0&limit=50"
    )
    assert daily_papers_url(BASE + "/api/", week="2025-W41", page=2, limit=100) == (
        f"{BASE}/api/daily_papers?week=2025-W41&p=2&limit=100"
    )
    assert daily_papers_url(BASE, month="2025-10") == f"{BASE}/api/daily_papers?month=2025-10&p=0&limit=50"
    assert (
        search_url(BASE, "info bottleneck & co", 10)
        == f"{BASE}/api/papers/search?q=info+bottleneck+%26+co&limit=10"
    )
    assert paper_url(BASE, "2406.02657v3") == f"{BASE}/api/papers/2406.02657"
    with pytest.raises(ValueError):
        paper_url(BASE, "../secrets")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (f"{BASE}/api/daily_papers?date=2025-10-06", "daily"),
        (f"{BASE}/api/daily_papers", "daily"),
        (f"{BASE}/api/papers/search?q=x", "search"),
        (f"{BASE}/api/papers/2406.02657", "paper"),
        (f"{BASE}/papers/2406.02657", "other"),
        (f"{BASE}/api/models", "other"),
    ],
)
def test_feed_url_kind(url: str, kind: str) -> None:
    assert feed_url_kind(url) == kind


class FakeFeed:
    """get_json over `total` papers served `limit` per page; pages listed in `fail` answer None."""

    def __init__(self, total: int, fail: tuple[int, ...] = ()) -> None:
        self.total, self.fail, self.urls = total, fail, []

    def __call__(self, url: str) -> Any | None:
        self.urls.append(url)
        q = parse_qs(urlsplit(url).query)
        page, limit = int(q["p"][0]), int(q["limit"][0])
        if page in self.fail:
            return None
        return [daily_item(n) for n in range(page * limit, min((page + 1) * limit, self.total))]


@pytest.mark.parametrize(
    ("total", "pages"),
    [(0, 1), (3, 1), (10, 3), (12, 3)],  # 10 = two full pages then an empty one; 12 = a short third page
)
def test_fetch_daily_pages_until_empty_or_short(total: int, pages: int) -> None:
    get = FakeFeed(total)
    papers, warnings = fetch_daily(get, BASE, date="2025-10-06", limit=5)
    assert len(papers) == total and warnings == []
    assert len(get.urls) == pages
    assert get.urls[0] == f"{BASE}/api/daily_papers?date=2025-10-06&p=0&limit=5"


def test_fetch_daily_stops_on_failure_and_max_pages() -> None:
    papers, warnings = fetch_daily(FakeFeed(20, fail=(1,)), BASE, limit=5)
    assert len(papers) == 5
    assert warnings == [
        f"{BASE}/api/daily_papers?p=1&limit=5: could not fetch page 1; kept the 5 papers before it"
    ]
    get = FakeFeed(100)
    papers, warnings = fetch_daily(get, BASE, limit=5, max_pages=3)
    assert len(papers) == 15 and len(get.urls) == 3
    assert warnings == [f"{BASE}/api/daily_papers?p=0&limit=5: stopped after 3 pages; there may be more"]


def test_fetch_daily_drops_papers_repeated_across_pages() -> None:
    def get(url: str) -> Any:
        page = int(parse_qs(urlsplit(url).query)["p"][0])
        return [[daily_item(1), daily_item(2)], [daily_item(2), daily_item(3)], []][page]

    papers, _ = fetch_daily(get, BASE, limit=2)
    assert [p.arxiv_id for p in papers] == ["2501.00001", "2501.00002", "2501.00003"]


def test_fetch_daily_rejects_a_non_list_page() -> None:
    papers, warnings = fetch_daily(lambda url: {"error": "rate limited"}, BASE)
    assert papers == [] and "expected a JSON array of papers, got dict" in warnings[0]


def test_fetch_feed_url_pages_daily_urls_replacing_p_and_limit() -> None:
    get = FakeFeed(7)
    papers, warnings = fetch_feed_url(get, f"{BASE}/api/daily_papers?date=2025-10-06&p=4&limit=3")
    assert len(papers) == 7 and warnings == []
    assert get.urls == [f"{BASE}/api/daily_papers?date=2025-10-06&p={p}&limit=3" for p in range(3)]
    get = FakeFeed(60)
    fetch_feed_url(get, f"{BASE}/api/daily_papers?month=2025-10", max_pages=1)
    assert get.urls == [f"{BASE}/api/daily_papers?month=2025-10&p=0&limit=50"]


def test_fetch_feed_url_single_requests() -> None:
    urls: list[str] = []

    def get(url: str) -> Any | None:
        urls.append(url)
        return (
            paper_obj(5) if "/papers/2501" in url else [{"paper": paper_obj(6)}] if "search" in url else None
        )

    assert [p.arxiv_id for p in fetch_feed_url(get, f"{BASE}/api/papers/2501.00005")[0]] == ["2501.00005"]
    assert [p.arxiv_id for p in fetch_feed_url(get, f"{BASE}/api/papers/search?q=x")[0]] == ["2501.00006"]
    assert fetch_feed_url(get, f"{BASE}/api/other") == ([], [f"{BASE}/api/other: could not fetch"])
    assert len(urls) == 3


REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "realworld" / "hf"


def test_real_daily_papers_response_uses_github_links_in_abstracts() -> None:
    data = json.loads((REALWORLD / "daily_papers-2024-10-25.json").read_text(encoding="utf-8"))
    papers, warnings = parse_hf_json(data, "daily.json")
    assert warnings == []
    assert len(papers) == 29
    repos = {p.arxiv_id: p.repo for p in papers if p.repo}
    # None of these has githubRepo; each abstract ends with its code link.
    assert repos == {"2410.18798": "hewei2001/ReachQA", "2410.18775": "Shilin-LU/VINE",
                     "2410.17779": "Hao840/ADEM-VL", "2410.18785": "lqinfdim/EditingEvaluation"}


def test_json_feed_is_refused_with_a_clear_line(tmp_path: Path) -> None:
    src = REALWORLD / "not-hf-api-jsonfeed.json"
    papers, warnings = parse_hf_json(json.loads(src.read_text(encoding="utf-8")), "feed.json")
    assert papers == []
    assert warnings == ["feed.json: a JSON Feed (jsonfeed.org), not a Hugging Face papers API response"]
    with pytest.raises(FeedError) as e:
        read_feed_file(src)
    assert str(src) in str(e.value) and "JSON Feed" in str(e.value)


def test_unknown_object_is_refused() -> None:
    papers, warnings = parse_hf_json({"name": "x", "rows": []}, "o.json")
    assert papers == [] and "keys name, rows" in warnings[0]


# Words and single spaces, ~110 characters (an abstract's text, told apart by its bytes when over 100 long).
_prose = st.lists(st.text(alphabet=st.sampled_from(list("ab.")), min_size=1, max_size=6), min_size=25, max_size=35).map(
    " ".join)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab é\t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u2028\u3000\u200bx")),
               max_size=12) | st.text(max_size=20)
       | st.builds(lambda a, w, b: a + w + b, _prose,
                   st.sampled_from(list("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x00\x7f\x01 x")), _prose)
       | st.builds(lambda a, b, c: a + b + c, st.sampled_from(["", " ", "x"]), _prose,
                   st.sampled_from(["", " ", "\x1f", "y"])))
def test_whitespace_collapsed_as_split_and_join_do(v: str) -> None:
    # The fast path (no list of words when there is nothing to collapse) gives what split and join give.
    from paperlens.sources.hf_api import _str

    assert _str(v) == (" ".join(v.split()) or None)
