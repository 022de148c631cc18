"""Issue 11, items 7-9, against a fault-injecting loopback server: bodies have a size cap (also after gzip) and a
total deadline, and only a body that parses replaces a cached one."""

from __future__ import annotations

import gzip
import json
import resource
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperlens.sources.http import HttpClient
from support.fixture_server import FixtureServer

REPO = "/repos/ming053l/DRCT"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(tmp_path: Path, clock: Clock) -> Iterator[HttpClient]:
    c = HttpClient(cache_dir=tmp_path, backoff_base=0.001, timeout=2.0, clock=clock, retries=1,
                   max_bytes={"repo": 1 << 20, "feed": 1 << 20}, deadline=3.0)
    yield c
    c.close()


def gzip_bomb(expanded: int) -> bytes:
    """`expanded` zero bytes, gzipped (about 1000:1)."""
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [co.compress(block) for _ in range(expanded >> 20)]
    parts.append(co.flush())
    return b"".join(parts)


def _cache_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def test_a_gzip_bomb_is_cut_off_while_it_arrives(http: HttpClient, fixture_server: FixtureServer,
                                                 tmp_path: Path) -> None:
    bomb = gzip_bomb(500 << 20)  # 500 MB of zeros in about half a megabyte
    assert len(bomb) < 1 << 20
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fixture_server.raw_next(bomb, headers={"Content-Encoding": "gzip"})
    t0 = time.monotonic()
    assert http.get(fixture_server.base_url + REPO, kind="repo") is None
    assert time.monotonic() - t0 < 2
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown_kb < 64 << 10, f"peak RSS grew by {grown_kb} kB"
    assert _cache_bytes(tmp_path / "http") < 1 << 20


@pytest.mark.parametrize("length", [True, False])
def test_a_huge_plain_body_is_refused_and_the_cached_one_kept(http: HttpClient, fixture_server: FixtureServer,
                                                              clock: Clock, length: bool) -> None:
    url = fixture_server.base_url + REPO
    good = http.get_json(url, "repo")
    assert good["full_name"] == "ming053l/DRCT"
    clock.now += 2 * http.ttl("repo")
    huge = json.dumps({"full_name": "ming053l/DRCT", "description": "x" * (50 << 20)}).encode()
    fixture_server.raw_next(huge, length=length)
    got = http.get(url, kind="repo", headers={"Accept": "application/json"})  # get_json's cache key
    assert got is not None and got.stale and json.loads(got.text) == good  # the cached body, marked stale
    assert http.get_json(url, "repo") == good


@pytest.mark.parametrize(("body", "ctype"), [
    (b'{"full_name": "ming053l/DRCT", "descr', "application/json"),  # truncated
    (b"<html><body>Please log in to the hotel Wi-Fi</body></html>", "text/html"),  # captive portal
    (b"not json at all", "application/json"),
    (b"[]", "application/json"),  # an empty answer where the cache has data
])
def test_a_bad_2xx_body_does_not_replace_the_cached_one(http: HttpClient, fixture_server: FixtureServer,
                                                        clock: Clock, body: bytes, ctype: str) -> None:
    url = fixture_server.base_url + REPO
    good = http.get_json(url, "repo")
    clock.now += 2 * http.ttl("repo")
    fixture_server.raw_next(body, headers={"Content-Type": ctype})
    assert http.get_json(url, "repo") == good  # the good body, not the bad one
    # And it was not stored as fresh: the next request (still past the TTL) asks the server again.
    n = len(fixture_server.requests)
    assert http.get_json(url, "repo") == good
    assert len(fixture_server.requests) == n + 1


def test_a_redirect_to_an_empty_answer_does_not_replace_the_cached_one(
        http: HttpClient, fixture_server: FixtureServer, other_server: FixtureServer, clock: Clock) -> None:
    url = fixture_server.base_url + "/api/daily_papers"
    fixture_server.hf_routes["/api/daily_papers"] = [{"paper": {"id": "2401.00001", "title": "A"}}]
    good = http.get_json(url, "feed")
    assert good and good[0]["paper"]["title"] == "A"
    clock.now += 2 * http.ttl("feed")
    other_server.hf_routes["/empty"] = []
    fixture_server.redirects["/api/daily_papers"] = other_server.base_url + "/empty"
    assert http.get_json(url, "feed") == good


def test_a_trickled_body_ends_at_the_deadline(http: HttpClient, fixture_server: FixtureServer) -> None:
    """One byte every 0.3 s never trips a read timeout; the 3 s deadline ends it."""
    fixture_server.trickle_next(json.dumps({"full_name": "x/y", "pad": "z" * 200}).encode(), delay=0.3)
    t0 = time.monotonic()
    assert http.get(fixture_server.base_url + REPO, kind="repo") is None
    assert time.monotonic() - t0 < 5


def test_gzip_bodies_still_work(http: HttpClient, fixture_server: FixtureServer) -> None:
    body = json.dumps({"full_name": "ming053l/DRCT", "stargazers_count": 5}).encode()
    fixture_server.raw_next(gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert http.get_json(fixture_server.base_url + REPO, "repo") == json.loads(body)
    assert fixture_server.requests[-1].headers["accept-encoding"] == "gzip"
