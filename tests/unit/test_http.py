"""HttpClient against a real loopback server: cache, ETags, TTL, retries, rate limits, offline, tokens."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paperlens.sources.http import HttpClient
from support.fixture_server import FixtureServer

REPO = "/repos/ming053l/DRCT"
SECRET = "ghp_TOPSECRET0123456789"


class Clock:
    """A clock the test moves by hand (TTLs and rate-limit resets without sleeping)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(tmp_path: Path, clock: Clock) -> Iterator[type[HttpClient]]:
    """HttpClient factory with tiny backoff, a short timeout and the test's clock; closes what it made."""
    made: list[HttpClient] = []

    def make(**kw: object) -> HttpClient:
        opts: dict[str, object] = {"cache_dir": tmp_path, "backoff_base": 0.001, "timeout": 2.0, "clock": clock}
        opts.update(kw)
        c = HttpClient(**opts)  # type: ignore[arg-type]
        made.append(c)
        return c

    yield make  # type: ignore[misc]
    for c in made:
        c.close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fresh_fetch_then_cache_within_ttl(fixture_server: FixtureServer, make_client) -> None:
    http = make_client()
    url = fixture_server.base_url + REPO
    first = http.get(url, kind="repo")
    assert first is not None and first.status == 200 and not first.from_cache
    assert first.json()["full_name"] == "ming053l/DRCT"
    second = http.get(url, kind="repo")
    assert second is not None and second.from_cache and not second.stale and second.text == first.text
    assert len(fixture_server.requests_to(REPO)) == 1  # within the TTL: no request at all


def test_user_agent_sent(fixture_server: FixtureServer, make_client) -> None:
    make_client().get(fixture_server.base_url + REPO, kind="repo")
    assert fixture_server.requests[0].headers["user-agent"] == "paperlens/0.1 (+https://github.com/paperlens)"


def test_etag_revalidation_after_ttl(fixture_server: FixtureServer, make_client, clock: Clock) -> None:
    http = make_client()
    url = fixture_server.base_url + REPO
    first = http.get(url, kind="repo")
    assert first is not None
    clock.advance(http.ttl("repo") + 1)
    again = http.get(url, kind="repo")
    reqs = fixture_server.requests_to(REPO)
    assert len(reqs) == 2 and reqs[1].headers.get("if-none-match", "").startswith('"')
    assert again is not None and again.from_cache and not again.stale and again.text == first.text
    # The 304 refreshed fetched-at: the next call is inside the TTL again.
    clock.advance(http.ttl("repo") - 10)
    assert http.get(url, kind="repo") is not None
    assert len(fixture_server.requests_to(REPO)) == 2


def test_ttl_is_per_kind(fixture_server: FixtureServer, make_client, clock: Clock) -> None:
    http = make_client(ttls={"feed": 10})
    url = fixture_server.base_url + REPO
    http.get(url, kind="feed")
    clock.advance(11)
    http.get(url, kind="feed")
    assert len(fixture_server.requests_to(REPO)) == 2


def test_primary_rate_limit_pauses_host_until_reset(
    fixture_server: FixtureServer, make_client, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    http = make_client()
    base = fixture_server.base_url
    fixture_server.rate_limit_next(1, reset_in=600)
    with caplog.at_level(logging.WARNING, logger="paperlens.sources.http"):
        assert http.get(base + REPO, kind="repo") is None
    assert any("not asking it again until" in r.getMessage() for r in caplog.records)
    until = http.blocked_until("127.0.0.1")
    assert until is not None and until > clock.now + 500
    # Other URLs on the same host: answered at once, without a request.
    assert http.get(base + "/repos/THU-MIG/PrefixKV", kind="repo") is None
    assert len(fixture_server.requests) == 1
    clock.advance(601)
    assert http.get(base + "/repos/THU-MIG/PrefixKV", kind="repo") is not None
    assert len(fixture_server.requests) == 2


def test_rate_limited_host_serves_stale_cache(fixture_server: FixtureServer, make_client, clock: Clock) -> None:
    http = make_client()
    url = fixture_server.base_url + REPO
    good = http.get(url, kind="repo")
    clock.advance(http.ttl("repo") + 1)
    fixture_server.retry_after_next(1, seconds=120, status=429)
    got = http.get(url, kind="repo")
    assert got is not None and got.stale and got.text == good.text  # type: ignore[union-attr]
    n = len(fixture_server.requests)
    assert http.get(url, kind="repo") is not None and len(fixture_server.requests) == n
    clock.advance(121)
    assert http.get(url, kind="repo") is not None and len(fixture_server.requests) == n + 1


def test_403_without_rate_limit_signal_does_not_pause(fixture_server: FixtureServer, make_client) -> None:
    http = make_client()
    fixture_server.fail_next(1, status=403)
    assert http.get(fixture_server.base_url + REPO, kind="repo") is None
    assert http.blocked_until("127.0.0.1") is None
    assert http.get(fixture_server.base_url + REPO, kind="repo") is not None


def test_hf_429_with_ratelimit_header(fixture_server: FixtureServer, make_client) -> None:
    http = make_client()
    fixture_server.hf_routes["/api/daily_papers"] = [{"paper": {"id": "2501.01234"}}]
    fixture_server.retry_after_next(1, seconds=30)
    assert http.get_json(fixture_server.base_url + "/api/daily_papers", "feed") is None
    assert http.blocked_until("127.0.0.1") is not None
    assert len(fixture_server.requests) == 1  # a 429 is not retried


def test_server_error_is_retried(fixture_server: FixtureServer, make_client) -> None:
    http = make_client(retries=3)
    fixture_server.fail_next(2, status=502)
    got = http.get(fixture_server.base_url + REPO, kind="repo")
    assert got is not None and got.status == 200 and not got.from_cache
    assert len(fixture_server.requests) == 3


def test_persistent_server_error_falls_back_to_cache(
    fixture_server: FixtureServer, make_client, clock: Clock, tmp_path: Path
) -> None:
    http = make_client(retries=2)
    url = fixture_server.base_url + REPO
    good = http.get(url, kind="repo")
    assert good is not None
    clock.advance(http.ttl("repo") + 1)
    fixture_server.fail_next(100)
    got = http.get(url, kind="repo")
    assert got is not None and got.stale and got.from_cache and got.text == good.text
    assert len(fixture_server.requests) == 1 + 3  # the first fetch, then 1 try + 2 retries
    # The failed refresh did not replace the good body on disk.
    offline = make_client(offline=True)
    kept = offline.get(url, kind="repo")
    assert kept is not None and kept.text == good.text


def test_error_status_never_replaces_good_body(fixture_server: FixtureServer, make_client, clock: Clock) -> None:
    http = make_client()
    url = fixture_server.base_url + REPO
    good = http.get(url, kind="repo")
    clock.advance(http.ttl("repo") + 1)
    fixture_server.fail_next(1, status=404)
    got = http.get(url, kind="repo")
    assert got is not None and got.stale and got.text == good.text  # type: ignore[union-attr]
    clock.advance(1)
    n = len(fixture_server.requests)
    again = http.get(url, kind="repo")  # still past the TTL: asks again (revalidates), the server is fine now
    assert again is not None and not again.stale and again.text == good.text  # type: ignore[union-attr]
    assert len(fixture_server.requests) == n + 1


def test_nothing_cached_and_server_error_gives_none(fixture_server: FixtureServer, make_client) -> None:
    http = make_client(retries=1)
    fixture_server.fail_next(100)
    assert http.get(fixture_server.base_url + REPO, kind="repo") is None
    assert http.get_json(fixture_server.base_url + REPO, "repo") is None


def test_offline_never_requests(fixture_server: FixtureServer, make_client, clock: Clock) -> None:
    url = fixture_server.base_url + REPO
    make_client().get(url, kind="repo")
    fixture_server.clear_requests()
    offline = make_client(offline=True)
    clock.advance(365 * 86400)  # long past every TTL: still no request
    got = offline.get(url, kind="repo")
    assert got is not None and got.from_cache and got.stale
    assert offline.get(fixture_server.base_url + "/repos/THU-MIG/PrefixKV", kind="repo") is None
    assert fixture_server.requests == []


def test_connection_refused_gives_none_or_cache(
    fixture_server: FixtureServer, make_client, clock: Clock
) -> None:
    http = make_client(retries=1)
    assert http.get(f"http://127.0.0.1:{closed_port()}/repos/a/b", kind="repo") is None
    url = fixture_server.base_url + REPO
    good = http.get(url, kind="repo")
    fixture_server.stop()
    clock.advance(http.ttl("repo") + 1)
    got = http.get(url, kind="repo")
    assert got is not None and got.stale and got.text == good.text  # type: ignore[union-attr]


def test_dropped_connection_and_timeout_are_retried(fixture_server: FixtureServer, make_client) -> None:
    http = make_client(timeout=0.3, retries=2)
    fixture_server.close_next(1)
    fixture_server.slow_next(1, delay=1.0)
    got = http.get(fixture_server.base_url + REPO, kind="repo")
    assert got is not None and got.status == 200
    assert len(fixture_server.requests) == 3


def test_token_only_to_its_host(
    fixture_server: FixtureServer, other_server: FixtureServer, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    http = make_client(tokens={"127.0.0.1": SECRET})
    other = f"http://localhost:{other_server.port}"
    with caplog.at_level(logging.DEBUG):
        http.get(fixture_server.base_url + REPO, kind="repo")
        http.get(other + REPO, kind="repo")
        # A redirect from the token's host to another host must not carry the token along.
        fixture_server.redirects["/moved"] = other + "/repos/THU-MIG/PrefixKV"
        moved = http.get(fixture_server.base_url + "/moved", kind="repo")
        fixture_server.fail_next(100)
        http.get(fixture_server.base_url + "/repos/itsnamgyu/block-transformer", kind="repo")
    assert moved is not None and moved.json()["full_name"] == "THU-MIG/PrefixKV"
    assert fixture_server.requests_to(REPO)[0].headers["authorization"] == f"Bearer {SECRET}"
    assert all("authorization" not in r.headers for r in other_server.requests)
    assert len(other_server.requests) == 2
    assert SECRET not in caplog.text
    assert all(SECRET not in str(r.args) for r in caplog.records)


def test_token_key_with_port_is_exact(
    fixture_server: FixtureServer, other_server: FixtureServer, make_client
) -> None:
    http = make_client(tokens={f"127.0.0.1:{fixture_server.port}": SECRET})
    http.get(fixture_server.base_url + REPO, kind="repo")
    http.get(other_server.base_url + REPO, kind="repo")
    assert "authorization" in fixture_server.requests[0].headers
    assert "authorization" not in other_server.requests[0].headers


def test_cache_is_per_credential(fixture_server: FixtureServer, make_client) -> None:
    url = fixture_server.base_url + REPO
    make_client().get(url, kind="repo")
    with_token = make_client(tokens={"127.0.0.1": SECRET})
    got = with_token.get(url, kind="repo")
    assert got is not None and not got.from_cache  # the anonymous copy is not this credential's copy
    assert len(fixture_server.requests) == 2


def test_accept_is_part_of_the_cache_key(fixture_server: FixtureServer, make_client) -> None:
    http = make_client()
    url = fixture_server.base_url + REPO + "/readme"
    raw = http.get_text(url, "readme", "application/vnd.github.raw+json")
    wrapped = http.get_json(url, "readme")
    assert raw is not None and raw.startswith("# DRCT")
    assert isinstance(wrapped, dict) and wrapped["encoding"] == "base64"


def test_bad_json_is_none_and_logged(
    fixture_server: FixtureServer, make_client, caplog: pytest.LogCaptureFixture
) -> None:
    http = make_client()
    with caplog.at_level(logging.WARNING, logger="paperlens.sources.http"):
        assert http.get_json(fixture_server.base_url + REPO + "/readme", "readme",
                             headers={"Accept": "application/vnd.github.raw+json"}) is None
    assert "not JSON" in caplog.text


def test_concurrency_is_bounded(fixture_server: FixtureServer, make_client) -> None:
    http = make_client(max_concurrency=2)
    fixture_server.slow_next(8, delay=0.1)
    urls = [f"{fixture_server.base_url}{REPO}?n={i}" for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda u: http.get(u, kind="repo"), urls))
    assert all(r is not None and r.status == 200 for r in results)
    assert fixture_server.max_in_flight <= 2


def test_context_manager_closes(tmp_path: Path, fixture_server: FixtureServer) -> None:
    with HttpClient(cache_dir=tmp_path) as http:
        assert http.get_json(fixture_server.base_url + REPO, "repo") is not None
    assert (tmp_path / "http").is_dir()
