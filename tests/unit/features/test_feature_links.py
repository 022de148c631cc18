"""document_links(ctx): GitHub URLs, arXiv ids and methods with a repo, each target built from a validated name."""

from __future__ import annotations

from cursor import context, region

from paperlens.features.links import document_links
from paperlens.index.core import Index


def test_urls_ids_and_mentions(base: Index) -> None:
    ctx, _, _ = context("$0Code at https://github.com/ming053l/DRCT and arXiv:2404.00722; PrefixKV too.\n", base)
    got = [(x.region, x.target) for x in document_links(ctx)]
    assert got == [
        (region(ctx, "https://github.com/ming053l/DRCT"), "https://github.com/ming053l/DRCT"),
        (region(ctx, "arXiv:2404.00722"), "https://arxiv.org/abs/2404.00722"),
        (region(ctx, "PrefixKV"), "https://github.com/THU-MIG/PrefixKV"),
    ]


def test_a_mention_inside_a_url_is_not_linked_twice(base: Index) -> None:
    ctx, _, _ = context("$0https://github.com/THU-MIG/PrefixKV\n", base)
    assert [x.target for x in document_links(ctx)] == ["https://github.com/THU-MIG/PrefixKV"]


def test_an_invalid_repo_name_is_no_link(base: Index) -> None:
    ctx, _, _ = context("$0https://github.com/-bad/x and nothing else\n", base)
    assert document_links(ctx) == []
