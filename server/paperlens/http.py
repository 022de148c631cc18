"""The one HTTP layer: an httpx client behind a diskcache HTTP cache (ETag, TTL, offline, rate limits)."""

from __future__ import annotations

import email.utils
import hashlib
import json as jsonlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urljoin

import diskcache
import httpx
import platformdirs

log = logging.getLogger(__name__)

USER_AGENT = "paperlens/0.1 (+https://github.com/paperlens)"

# Seconds a cached body counts as fresh, per kind of resource; within it no request is made at all.
DEFAULT_TTLS: dict[str, float] = {
    "feed": 3600.0,
    "repo": 86400.0,
    "readme": 86400.0,
    "tree": 7 * 86400.0,
    "file": 30 * 86400.0,
}
DEFAULT_TTL = 3600.0  # for kinds not in the table

# When a host says "slow down" without saying until when (secondary limits, bare 429), wait this long.
DEFAULT_BLOCK_SECONDS = 60.0
MAX_BLOCK_SECONDS = 24 * 3600.0  # a wild reset header (clock skew) must not silence a host for days
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# HF sends the IETF draft header: RateLimit: "api";r=0;t=123
_HF_RATELIMIT_T = re.compile(r"\bt=(\d+)")
_HF_RATELIMIT_R = re.compile(r"\br=(\d+)")


@dataclass(frozen=True, slots=True)
class Result:
    """A response body, fresh from the network or from the cache."""

    status: int
    text: str
    from_cache: bool = False
    stale: bool = False  # a cached body past its TTL that could not be revalidated
    url: str = ""

    def json(self) -> Any:
        """The body as JSON, or None (logged) when it is not JSON."""
        try:
            return jsonlib.loads(self.text)
        except ValueError as e:
            log.warning("not JSON from %s: %s", self.url, e)
            return None


@dataclass(slots=True)
class _Entry:
    """What the cache keeps per key; only ever written from a 2xx (or a 304 refreshing a 2xx)."""

    status: int
    text: str
    etag: str | None
    fetched_at: float
    url: str


class _RateLimited(Exception):
    """The host told us to come back later; carries nothing secret."""


class HttpClient:
    """One httpx.Client with a disk cache, retries, bounded concurrency, rate-limit pauses and host-bound tokens."""

    def __init__(
        self,
        *,
        cache_dir: str | Path | None = None,
        tokens: Mapping[str, str] | None = None,
        offline: bool = False,
        timeout: float = 20.0,
        max_concurrency: int = 4,
        retries: int = 3,
        backoff_base: float = 0.5,
        ttls: Mapping[str, float] | None = None,
        user_agent: str = USER_AGENT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        root = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("paperlens"))
        self.cache_dir = root
        self.offline = offline
        self.retries = max(0, retries)
        self.backoff_base = max(0.0, backoff_base)
        self.ttls = {**DEFAULT_TTLS, **(ttls or {})}
        self._clock = clock
        # Tokens are keyed by host ("api.github.com") or host:port ("127.0.0.1:8080"); matched exactly.
        self._tokens = {k.lower(): v for k, v in (tokens or {}).items() if v}
        self._secrets = [v for v in self._tokens.values() if v]
        self._sem = threading.BoundedSemaphore(max(1, max_concurrency))
        self._blocked: dict[str, float] = {}  # host -> epoch seconds when it may be asked again
        self._lock = threading.Lock()
        self._cache = diskcache.Cache(str(root / "http"))
        # Redirects are followed by hand so the Authorization header is decided per hop (never leaks off-host).
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"User-Agent": user_agent},
            follow_redirects=False,
        )

    # -- public API ---------------------------------------------------------------------------------------

    def get(self, url: str, *, kind: str, headers: Mapping[str, str] | None = None) -> Result | None:
        """GET through the cache: fresh cache, else network (revalidating), else stale cache, else None."""
        req_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
        if len(req_headers) != len(headers or {}):
            log.debug("dropped a caller-supplied Authorization header; tokens come from the client's table")
        key = self._key(url, req_headers)
        entry = self._load(key)
        now = self._clock()
        if entry is not None and now - entry.fetched_at < self.ttl(kind):
            return _result(entry, stale=False)
        if self.offline:
            return _result(entry, stale=True) if entry else None
        host = httpx.URL(url).host
        until = self._blocked_until(host)
        if until is not None:
            log.debug("%s is rate-limited until %s; not requesting %s", host, _fmt_time(until), url)
            return _result(entry, stale=True) if entry else None
        if entry is not None and entry.etag:
            req_headers["If-None-Match"] = entry.etag
        try:
            resp = self._fetch(url, req_headers)
        except _RateLimited:
            return _result(entry, stale=True) if entry else None
        except httpx.HTTPError as e:
            return self._fallback(entry, url, f"network error: {type(e).__name__}: {self._redact(str(e))}")
        if resp.status_code == 304 and entry is not None:
            fresh = _Entry(entry.status, entry.text, resp.headers.get("etag") or entry.etag, now, entry.url)
            self._store(key, fresh)
            return _result(fresh, stale=False)
        if 200 <= resp.status_code < 300:
            got = _Entry(resp.status_code, resp.text, resp.headers.get("etag"), now, str(resp.url))
            self._store(key, got)
            return Result(got.status, got.text, from_cache=False, stale=False, url=got.url)
        return self._fallback(entry, url, f"HTTP {resp.status_code}")

    def get_json(self, url: str, kind: str, *, headers: Mapping[str, str] | None = None) -> Any | None:
        """The body parsed as JSON, or None."""
        h = {"Accept": "application/json", **(headers or {})}
        r = self.get(url, kind=kind, headers=h)
        return r.json() if r is not None else None

    def get_text(
        self, url: str, kind: str, accept: str | None = None, *, headers: Mapping[str, str] | None = None
    ) -> str | None:
        """The body as text, or None."""
        h = dict(headers or {})
        if accept:
            h["Accept"] = accept
        r = self.get(url, kind=kind, headers=h)
        return r.text if r is not None else None

    def ttl(self, kind: str) -> float:
        """Seconds a cached body of this kind is used without asking the server."""
        return self.ttls.get(kind, DEFAULT_TTL)

    def blocked_until(self, host: str) -> float | None:
        """When a rate-limited host may be asked again (epoch seconds), or None if it is not blocked."""
        return self._blocked_until(host)

    def close(self) -> None:
        """Close the connection pool and the cache."""
        self._client.close()
        self._cache.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- network ------------------------------------------------------------------------------------------

    def _fetch(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """One logical GET: retries on 5xx/connection errors, follows redirects, notes rate limits."""
        attempt = 0
        while True:
            try:
                resp = self._follow(url, headers)
            except _RateLimited:
                raise
            except httpx.TransportError as e:
                if attempt >= self.retries:
                    raise
                log.info("retrying %s after %s (attempt %d)", url, type(e).__name__, attempt + 1)
            else:
                if resp.status_code < 500 or attempt >= self.retries:
                    return resp
                log.info("retrying %s after HTTP %d (attempt %d)", url, resp.status_code, attempt + 1)
            # Exponential backoff with jitter, so parallel workers don't retry in lockstep.
            time.sleep(self.backoff_base * (2**attempt) * (0.5 + random.random() / 2))
            attempt += 1

    def _follow(self, url: str, headers: dict[str, str]) -> httpx.Response:
        """GET following redirects by hand, deciding the Authorization header afresh for every hop."""
        current = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            host = current.host
            if self._blocked_until(host) is not None:
                raise _RateLimited(host)
            hop = dict(headers)
            token = self._token_for(current)
            if token:
                hop["Authorization"] = f"Bearer {token}"
            with self._sem:
                resp = self._client.get(current, headers=hop)
            self._note_rate_limit(host, resp)
            if resp.status_code in _REDIRECTS and "location" in resp.headers:
                nxt = httpx.URL(urljoin(str(current), resp.headers["location"]))
                if nxt.host != current.host:
                    # A conditional header belongs to the original resource; don't carry it off-host.
                    headers = {k: v for k, v in headers.items() if k.lower() != "if-none-match"}
                current = nxt
                continue
            if resp.status_code in (403, 429) and self._blocked_until(host) is not None:
                raise _RateLimited(host)
            return resp
        log.warning("too many redirects for %s", url)
        return resp

    def _token_for(self, url: httpx.URL) -> str | None:
        """The token registered for exactly this host (or host:port); never sent over plain HTTP off loopback."""
        host = (url.host or "").lower()
        netloc = f"{host}:{url.port}" if url.port else host
        token = self._tokens.get(netloc) or self._tokens.get(host)
        if token and url.scheme != "https" and host not in _LOOPBACK:
            return None
        return token

    def _note_rate_limit(self, host: str, resp: httpx.Response) -> None:
        """Stop asking a host that said 'come back later' until the time it named."""
        h = resp.headers
        now = self._clock()
        until: float | None = None
        if resp.status_code in (403, 429):
            until = _retry_after(h.get("retry-after"), now)
            if until is None and h.get("x-ratelimit-remaining") == "0":
                until = _float(h.get("x-ratelimit-reset"))
            if until is None and h.get("ratelimit"):
                m = _HF_RATELIMIT_T.search(h["ratelimit"])
                until = now + float(m.group(1)) if m else None
            if until is None and (resp.status_code == 429 or "rate limit" in _peek(resp)):
                until = now + DEFAULT_BLOCK_SECONDS
        elif 200 <= resp.status_code < 400 and h.get("x-ratelimit-remaining") == "0":
            # The quota is spent: the next request would fail, so don't make it.
            until = _float(h.get("x-ratelimit-reset"))
        elif 200 <= resp.status_code < 400 and h.get("ratelimit"):
            r, t = _HF_RATELIMIT_R.search(h["ratelimit"]), _HF_RATELIMIT_T.search(h["ratelimit"])
            if r and t and r.group(1) == "0":
                until = now + float(t.group(1))
        if until is None:
            return
        until = min(max(until, now + 1.0), now + MAX_BLOCK_SECONDS)
        with self._lock:
            self._blocked[host] = max(until, self._blocked.get(host, 0.0))
        log.warning(
            "%s rate limit reached (HTTP %d); not asking it again until %s (in %d s)",
            host, resp.status_code, _fmt_time(until), round(until - now),
        )

    def _blocked_until(self, host: str) -> float | None:
        with self._lock:
            until = self._blocked.get(host)
            if until is None:
                return None
            if until <= self._clock():
                del self._blocked[host]
                log.info("%s rate limit has reset; requesting again", host)
                return None
            return until

    # -- cache --------------------------------------------------------------------------------------------

    def _key(self, url: str, headers: Mapping[str, str]) -> str:
        """Method + URL + Accept + credential fingerprint: ETags and bodies differ per token and per media type."""
        token = self._token_for(httpx.URL(url))
        cred = hashlib.sha256(token.encode()).hexdigest()[:16] if token else "anonymous"
        accept = next((v for k, v in headers.items() if k.lower() == "accept"), "")
        return hashlib.sha256(f"GET {url}\n{accept}\n{cred}".encode()).hexdigest()

    def _load(self, key: str) -> _Entry | None:
        try:
            raw = self._cache.get(key)
        except Exception as e:  # a corrupt cache must cost a refetch, not the caller
            log.warning("HTTP cache read failed: %s", e)
            return None
        if not isinstance(raw, dict):
            return None
        try:
            return _Entry(**raw)
        except TypeError:
            return None

    def _store(self, key: str, entry: _Entry) -> None:
        try:
            # One diskcache set is one SQLite transaction: a reader sees the old entry or the new one.
            self._cache.set(key, {f: getattr(entry, f) for f in _Entry.__slots__})
        except Exception as e:  # a full disk must not break a refresh
            log.warning("HTTP cache write failed: %s", e)

    def _fallback(self, entry: _Entry | None, url: str, why: str) -> Result | None:
        if entry is not None:
            log.warning("%s for %s; using the cached copy from %s", why, url, _fmt_time(entry.fetched_at))
            return _result(entry, stale=True)
        log.warning("%s for %s; nothing cached", why, url)
        return None

    def _redact(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text


def _result(entry: _Entry, *, stale: bool) -> Result:
    return Result(entry.status, entry.text, from_cache=True, stale=stale, url=entry.url)


def _float(v: str | None) -> float | None:
    try:
        return float(v) if v is not None else None
    except ValueError:
        return None


def _retry_after(v: str | None, now: float) -> float | None:
    """Retry-After as seconds or an HTTP date -> epoch seconds."""
    if not v:
        return None
    secs = _float(v.strip())
    if secs is not None:
        return now + secs
    try:
        return email.utils.parsedate_to_datetime(v).timestamp()
    except (TypeError, ValueError):
        return None


def _peek(resp: httpx.Response) -> str:
    try:
        return resp.text[:2000].lower()
    except Exception:
        return ""


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
