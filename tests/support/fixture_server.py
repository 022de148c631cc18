"""A real loopback HTTP server playing the GitHub and HF APIs from ../shared/fixtures, with fault injection."""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)

# The fixtures live beside the checkout (../shared), in CI as on a workstation; never copied into the project.
SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
REPOS_DIR = SHARED_DIR / "fixtures" / "github" / "repos"

# An HF route answers with a JSON payload, or a function of the query giving a payload or (status, payload).
HfHandler = Callable[[dict[str, str]], Any]


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it; header names lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Fault:
    """What to do to the next request instead of (or before) answering it."""

    kind: str  # "status" | "slow" | "close" | "raw" | "trickle"
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    delay: float = 0.0
    data: bytes = b""  # "raw" and "trickle": the exact body bytes


@dataclass
class FixtureRepo:
    """One fixture repository as files on disk."""

    root: Path

    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "repo.json").read_text(encoding="utf-8"))
        return data

    def readme(self) -> bytes:
        return (self.root / "readme.md").read_bytes()

    def tree(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "tree.json").read_text(encoding="utf-8"))
        return data

    def symbols(self) -> dict[str, list[dict[str, str]]]:
        data: dict[str, list[dict[str, str]]] = json.loads((self.root / "symbols.json").read_text("utf-8"))
        return data


def load_fixture_repos(repos_dir: Path = REPOS_DIR) -> dict[str, FixtureRepo]:
    """Fixture repos keyed by lower-cased owner/name (GitHub matches names case-insensitively)."""
    out = {}
    for meta in sorted(repos_dir.glob("*/*/repo.json")):
        out[f"{meta.parent.parent.name}/{meta.parent.name}".lower()] = FixtureRepo(meta.parent)
    return out


def synthesize_source(symbols: list[dict[str, str]]) -> str:
    """A Python module with the fixture's top-level names (the snapshot has the listing, not the code)."""
    lines = ['"""Synthesised by the fixture server from symbols.json."""', ""]
    for sym in symbols:
        if sym.get("kind") == "class":
            lines += [f"class {sym['name']}:", "    pass", "", ""]
        elif sym.get("kind") == "def":
            lines += [f"def {sym['name']}():", "    ...", "", ""]
    return "\n".join(lines)


class FixtureServer:
    """ThreadingHTTPServer on 127.0.0.1 serving the fixture repos as the GitHub API plus registered HF routes."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, repos_dir: Path = REPOS_DIR) -> None:
        self.repos = load_fixture_repos(repos_dir)
        self.hf_routes: dict[str, Any] = {}  # "/api/daily_papers" or "/api/daily_papers?date=2025-01-02"
        self.redirects: dict[str, str] = {}  # path -> absolute or relative Location (answered with 301)
        self.requests: list[RecordedRequest] = []
        self.faults: deque[Fault] = deque()
        self.send_etags = True
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests being answered at once, to check client-side limits
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FixtureServer:
        # A short poll interval keeps shutdown (one per test) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="fixture-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop open keep-alive connections, as a server going away would."""
        self._httpd.shutdown()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- assertions ---------------------------------------------------------------------------------------

    def requests_to(self, path_prefix: str = "") -> list[RecordedRequest]:
        """Recorded requests whose path starts with path_prefix."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- fault injection ----------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next n requests answer with `status` and no useful body."""
        for _ in range(n):
            self.faults.append(Fault("status", status=status, body='{"message": "Server Error"}'))

    def rate_limit_next(self, n: int = 1, *, reset_in: float = 3600.0, status: int = 403) -> None:
        """GitHub primary limit: 403 (or 429) with x-ratelimit-remaining 0 and x-ratelimit-reset."""
        reset = str(int(time.time() + reset_in))
        hdrs = {"x-ratelimit-limit": "60", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
        body = '{"message": "API rate limit exceeded for 127.0.0.1."}'
        for _ in range(n):
            self.faults.append(Fault("status", status=status, headers=dict(hdrs), body=body))

    def retry_after_next(self, n: int = 1, *, seconds: int = 60, status: int = 429) -> None:
        """Secondary limit / HF: 429 (or 403) with retry-after."""
        for _ in range(n):
            self.faults.append(Fault("status", status=status, headers={"retry-after": str(seconds)}))

    def slow_next(self, n: int = 1, delay: float = 1.0) -> None:
        """The next n requests are answered normally after `delay` seconds."""
        for _ in range(n):
            self.faults.append(Fault("slow", delay=delay))

    def close_next(self, n: int = 1) -> None:
        """The next n requests get the connection closed without a response."""
        for _ in range(n):
            self.faults.append(Fault("close"))

    def raw_next(self, data: bytes, *, status: int = 200, headers: dict[str, str] | None = None,
                 length: bool = True) -> None:
        """The next request gets exactly these body bytes and headers (a gzip bomb, an HTML portal, bad JSON);
        without `length`, no Content-Length: the body ends when the connection closes."""
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        self.faults.append(Fault("raw", status=status, headers=hdrs, data=data, body="" if length else "no-length"))

    def trickle_next(self, data: bytes, delay: float) -> None:
        """The next request gets its body one byte every `delay` seconds (a connection that never quite stalls)."""
        self.faults.append(Fault("trickle", status=200, data=data, delay=delay,
                                 headers={"Content-Type": "application/json"}))

    # -- routing ------------------------------------------------------------------------------------------

    def take_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def track(self, conn: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def route(self, path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, str, bytes]:
        """(status, content type, body) for a GET."""
        if path in self.redirects:
            return 301, "", self.redirects[path].encode()
        qs = "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        for key in (f"{path}?{qs}" if qs else None, path):
            if key is not None and key in self.hf_routes:
                return _json_answer(self.hf_routes[key], query)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) >= 3 and parts[0] == "repos":
            repo = self.repos.get(f"{parts[1]}/{parts[2]}".lower())
            if repo is not None:
                return self._github(repo, parts[3:], query, headers.get("accept", ""))
        return _not_found()

    def _github(
        self, repo: FixtureRepo, rest: list[str], query: dict[str, str], accept: str
    ) -> tuple[int, str, bytes]:
        raw = "raw" in accept
        if not rest:
            return 200, "application/json", json.dumps(repo.meta()).encode()
        if rest == ["readme"]:
            text = repo.readme()
            if raw:
                return 200, "application/vnd.github.raw+json; charset=utf-8", text
            return 200, "application/json", json.dumps(_content_json("README.md", text)).encode()
        if rest[:2] == ["git", "trees"] and len(rest) >= 3:
            branch = "/".join(rest[2:])
            if branch not in (repo.meta().get("default_branch"), "HEAD"):
                return _not_found()
            tree = repo.tree()
            if "recursive" not in query:
                tree = {**tree, "tree": [e for e in tree["tree"] if "/" not in e["path"]]}
            return 200, "application/json", json.dumps(tree).encode()
        if rest[0] == "contents" and len(rest) >= 2:
            path = "/".join(rest[1:])
            blobs = {e["path"] for e in repo.tree()["tree"] if e["type"] == "blob"}
            if path not in blobs or not path.endswith(".py"):
                return _not_found()
            source = synthesize_source(repo.symbols().get(path, [])).encode()
            if raw:
                return 200, "application/vnd.github.raw+json; charset=utf-8", source
            return 200, "application/json", json.dumps(_content_json(path, source)).encode()
        return _not_found()


def _content_json(path: str, data: bytes) -> dict[str, Any]:
    # GitHub wraps base64 at 60 columns with embedded newlines; clients must strip them.
    return {
        "type": "file", "name": path.rsplit("/", 1)[-1], "path": path, "size": len(data),
        "encoding": "base64", "content": base64.encodebytes(data).decode("ascii"),
    }


def _json_answer(spec: Any, query: dict[str, str]) -> tuple[int, str, bytes]:
    payload = spec(query) if callable(spec) else spec
    status = 200
    if isinstance(payload, tuple) and len(payload) == 2 and isinstance(payload[0], int):
        status, payload = payload
    return status, "application/json", json.dumps(payload).encode()


def _not_found() -> tuple[int, str, bytes]:
    return 404, "application/json", b'{"message": "Not Found"}'


def _make_handler(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            server.track(self.connection, open_=True)

        def finish(self) -> None:
            server.track(self.connection, open_=False)
            super().finish()

        def do_GET(self) -> None:
            server.enter()
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to tell it
            finally:
                server.leave()

        def _answer(self) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            server.record(RecordedRequest("GET", split.path, query, headers))
            fault = server.take_fault()
            if fault is not None and fault.kind == "close":
                self.close_connection = True
                return
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.delay)
            if fault is not None and fault.kind == "status":
                self._send(fault.status, "application/json", fault.body.encode(), fault.headers)
                return
            if fault is not None and fault.kind in ("raw", "trickle"):
                self._send_raw(fault)
                return
            status, ctype, body = server.route(split.path, query, headers)
            if status == 301:
                self._send(301, "text/plain", b"", {"Location": body.decode()})
                return
            extra = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999"}
            if status == 200 and server.send_etags:
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                extra["ETag"] = etag
                if etag in [t.strip() for t in headers.get("if-none-match", "").split(",")]:
                    self._send(304, "", b"", extra)
                    return
            self._send(status, ctype, body, extra)

        def _send(self, status: int, ctype: str, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and status != 304:
                self.wfile.write(body)

        def _send_raw(self, fault: Fault) -> None:
            self.send_response(fault.status)
            for k, v in fault.headers.items():
                self.send_header(k, v)
            if fault.body == "no-length":
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(fault.data)))
            self.end_headers()
            if fault.kind == "raw":
                self.wfile.write(fault.data)
                return
            for i in range(len(fault.data)):
                self.wfile.write(fault.data[i : i + 1])
                self.wfile.flush()
                time.sleep(fault.delay)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("fixture server: " + format, *args)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Serve the fixtures until interrupted: `python tests/support/fixture_server.py --port 8765`."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    server = FixtureServer(args.host, args.port)
    log.info("serving %d fixture repos at http://%s:%d (Ctrl-C to stop)", len(server.repos), args.host, server.port)
    server.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
