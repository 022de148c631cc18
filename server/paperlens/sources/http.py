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
import zlib
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

# The most bytes a body of each kind may have, after decompression: a gzip bomb or a 50 MB repo description is
# cut off while it arrives (and the cached body kept), never held whole in memory or written to the cache.
DEFAULT_MAX_BYTES: dict[str, int] = {
    "feed": 32 << 20,
    "repo": 1 << 20,
    "readme": 2 << 20,
    "tree": 16 << 20,
    "file": 2 << 20,
}
DEFAULT_MAX = 8 << 20  # for kinds not in the table
DEFAULT_DEADLINE = 60.0  # seconds for one logical GET, retries and redirects included: a trickle ends too

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


class BodyRejected(httpx.HTTPError):
    """A body refused while it arrived: too large, too slow, or in an encoding we do not decode."""


@dataclass(frozen=True, slots=True)
class _Resp:
    """What is kept of a response: read under the size cap and the deadline."""

    status_code: int
    headers: httpx.Headers
    text: str
    url: str


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
        max_bytes: Mapping[str, int] | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        root = Path(cache_dir) if cache_dir else Path(platformdirs.user_cache_dir("paperlens"))
        self.cache_dir = root
        self.offline = offline
        self.retries = max(0, retries)
        self.backoff_base = max(0.0, backoff_base)
        self.ttls = {**DEFAULT_TTLS, **(ttls or {})}
        self.max_bytes = {**DEFAULT_MAX_BYTES, **(max_bytes or {})}
        self.deadline = deadline
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
            # gzip only: we decompress it ourselves, under the size cap (see _read).
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip"},
            follow_redirects=False,
        )

    # -- public API ---------------------------------------------------------------------------------------

    def get(self, url: str, *, kind: str, headers: Mapping[str, str] | None = None,
            valid: Callable[[str, str | None], str | None] | None = None) -> Result | None:
        """GET through the cache: fresh cache, else network (revalidating), else stale cache, else None.

        `valid(new_body, cached_body)` says why a 2xx body may not be used nor replace the cached one (None: it
        may): a body that does not parse (an HTML captive portal, truncated JSON) falls back to the cache."""
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
            resp = self._fetch(url, req_headers, self.max_bytes.get(kind, DEFAULT_MAX))
        except _RateLimited:
            return _result(entry, stale=True) if entry else None
        except httpx.HTTPError as e:
            return self._fallback(entry, url, f"network error: {type(e).__name__}: {self._redact(str(e))}")
        if resp.status_code == 304 and entry is not None:
            fresh = _Entry(entry.status, entry.text, resp.headers.get("etag") or entry.etag, now, entry.url)
            self._store(key, fresh)
            return _result(fresh, stale=False)
        if 200 <= resp.status_code < 300:
            why = _unwanted(resp, req_headers, valid, entry.text if entry is not None else None)
            if why:
                return self._fallback(entry, url, why)
            got = _Entry(resp.status_code, resp.text, resp.headers.get("etag"), now, str(resp.url))
            self._store(key, got)
            return Result(got.status, got.text, from_cache=False, stale=False, url=got.url)
        return self._fallback(entry, url, f"HTTP {resp.status_code}")

    def get_json(self, url: str, kind: str, *, headers: Mapping[str, str] | None = None) -> Any | None:
        """The body parsed as JSON, or None."""
        h = {"Accept": "application/json", **(headers or {})}
        r = self.get(url, kind=kind, headers=h, valid=_json_replaces)
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

    def _fetch(self, url: str, headers: dict[str, str], limit: int) -> _Resp:
        """One logical GET: retries on 5xx/connection errors, follows redirects, notes rate limits; all of it
        within the deadline."""
        attempt = 0
        deadline = time.monotonic() + self.deadline
        while True:
            try:
                resp = self._follow(url, headers, limit, deadline)
            except _RateLimited:
                raise
            except httpx.TransportError as e:
                if attempt >= self.retries or time.monotonic() >= deadline:
                    raise
                log.info("retrying %s after %s (attempt %d)", url, type(e).__name__, attempt + 1)
            else:
                if resp.status_code < 500 or attempt >= self.retries:
                    return resp
                log.info("retrying %s after HTTP %d (attempt %d)", url, resp.status_code, attempt + 1)
            # Exponential backoff with jitter, so parallel workers don't retry in lockstep.
            pause = self.backoff_base * (2**attempt) * (0.5 + random.random() / 2)
            if time.monotonic() + pause >= deadline:
                raise BodyRejected(f"no answer within {self.deadline:g} s")
            time.sleep(pause)
            attempt += 1

    def _follow(self, url: str, headers: dict[str, str], limit: int, deadline: float) -> _Resp:
        """GET following redirects by hand, deciding the Authorization header afresh for every hop."""
        current = httpx.URL(url)
        resp: _Resp | None = None
        for _ in range(MAX_REDIRECTS + 1):
            host = current.host
            if self._blocked_until(host) is not None:
                raise _RateLimited(host)
            hop = dict(headers)
            token = self._token_for(current)
            if token:
                hop["Authorization"] = f"Bearer {token}"
            left = deadline - time.monotonic()
            if left <= 0:
                raise BodyRejected(f"no answer within {self.deadline:g} s")
            with self._sem:
                t = self._client.timeout
                timeout = httpx.Timeout(connect=min(left, t.connect or left), read=min(left, t.read or left),
                                        write=min(left, t.write or left), pool=min(left, t.pool or left))
                with self._client.stream("GET", current, headers=hop, timeout=timeout) as raw:
                    redirect = raw.status_code in _REDIRECTS and "location" in raw.headers
                    # Bodies of redirects and 304s are not needed; an error body only for its rate-limit words.
                    cap = 0 if redirect or raw.status_code == 304 else limit if raw.status_code < 400 else 64 << 10
                    resp = _Resp(raw.status_code, raw.headers, _read(raw, cap, deadline, self.deadline),
                                  str(raw.url))
            self._note_rate_limit(host, resp)
            if redirect:
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
        assert resp is not None
        return resp

    def _token_for(self, url: httpx.URL) -> str | None:
        """The token registered for exactly this host (or host:port); never sent over plain HTTP off loopback."""
        host = (url.host or "").lower()
        netloc = f"{host}:{url.port}" if url.port else host
        token = self._tokens.get(netloc) or self._tokens.get(host)
        if token and url.scheme != "https" and host not in _LOOPBACK:
            return None
        return token

    def _note_rate_limit(self, host: str, resp: _Resp) -> None:
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


def _peek(resp: _Resp) -> str:
    return resp.text[:2000].lower()


def _read(raw: httpx.Response, limit: int, deadline: float, total: float) -> str:
    """The body as text, decompressed here in bounded steps: more than `limit` bytes (after decompression)
    or past the deadline raises BodyRejected as soon as it is known, before the rest is read."""
    if limit <= 0:
        return ""
    enc = raw.headers.get("content-encoding", "identity").lower().strip()
    if enc in ("gzip", "x-gzip"):
        d: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif enc == "deflate":
        d = zlib.decompressobj()
    elif enc in ("identity", ""):
        d = None
    else:
        raise BodyRejected(f"unsupported content-encoding {enc[:40]!r}")
    length = raw.headers.get("content-length", "")
    if d is None and length.isdigit() and int(length) > limit:
        raise BodyRejected(f"body of {int(length)} bytes exceeds the {limit}-byte limit")
    parts: list[bytes] = []
    size = 0
    for chunk in raw.iter_raw():  # as data arrives (a chunk size would wait for that many bytes)
        if time.monotonic() > deadline:
            raise BodyRejected(f"body not complete within {total:g} s")
        while chunk:
            if d is None:
                out, chunk = chunk, b""
            else:
                # max_length: a bomb expands at most limit+1 bytes before we stop it.
                out = d.decompress(chunk, limit - size + 1)
                chunk = d.unconsumed_tail
            size += len(out)
            if size > limit:
                raise BodyRejected(f"body exceeds the {limit}-byte limit")
            parts.append(out)
    if d is not None:
        try:
            parts.append(d.flush())
        except zlib.error as e:
            raise BodyRejected(f"bad {enc} body: {e}") from e
    data = b"".join(parts)
    charset = raw.charset_encoding or "utf-8"
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _unwanted(resp: _Resp, req_headers: Mapping[str, str], valid: Callable[[str, str | None], str | None] | None,
              cached: str | None) -> str | None:
    """Why a 2xx body must not be used nor replace the cached one, or None when it is fine."""
    accept = next((v for k, v in req_headers.items() if k.lower() == "accept"), "")
    ctype = resp.headers.get("content-type", "").lower()
    if "text/html" in ctype and "html" not in accept.lower():  # a captive portal or a login page
        return "an HTML page instead of the requested data"
    return valid(resp.text, cached) if valid is not None else None


def _json_replaces(new: str, cached: str | None) -> str | None:
    """Why a body may not be used: not JSON; or an empty list/object where the cached body had data (a redirect
    to an empty answer, a broken mirror): a good answer is kept until a real one replaces it."""
    try:
        value = jsonlib.loads(new)
    except ValueError as e:
        return f"not JSON ({e})"
    if cached is not None and value in ([], {}):
        try:
            if jsonlib.loads(cached) not in ([], {}):
                return "an empty answer where the cached one has data"
        except ValueError:
            pass
    return None


def _fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))
