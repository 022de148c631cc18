"""Issue 11, items 10, 12, 13, 15 (protocol): the server process, spoken to in raw bytes. The life cycle as the
LSP spec has it, framing that survives broken headers, TCP that serves one local client, and big edits."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.raw_lsp import SERVER, RawServer, frame

HOVER = {"textDocument": {"uri": "file:///nowhere.tex"}, "position": {"line": 0, "character": 0}}


@pytest.fixture
def raw() -> RawServer:
    srv = RawServer()
    yield srv
    srv.close()


def ready(srv: RawServer, tmp: Path) -> None:
    res = srv.initialize(tmp, tmp / "cache")
    assert "capabilities" in res["result"]


def no_traceback(msg: dict) -> None:
    text = json.dumps(msg)
    assert "Traceback" not in text and 'File \\"' not in text and ".py\\\", line" not in text, text


# ------------------------------------------------------------------ life cycle


def test_requests_before_initialize_get_server_not_initialized(raw: RawServer, tmp_path: Path) -> None:
    r = raw.request("textDocument/hover", HOVER)
    assert r["error"]["code"] == -32002
    r = raw.request("shutdown", None)
    assert r["error"]["code"] == -32002  # and it does not count as a shutdown:
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.tex", "languageId": "latex",
                                                         "version": 1, "text": "DRCT"}})  # dropped
    ready(raw, tmp_path)
    assert "result" in raw.request("textDocument/hover", HOVER)
    r = raw.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
    assert r["error"]["code"] == -32600  # a second initialize
    no_traceback(r)


def test_requests_after_shutdown_are_answered_with_invalid_request(raw: RawServer, tmp_path: Path) -> None:
    ready(raw, tmp_path)
    assert raw.request("shutdown", None)["result"] is None
    r = raw.request("textDocument/hover", HOVER, timeout=5)
    assert r["error"]["code"] == -32600
    raw.notify("exit", None)
    assert raw.proc.wait(timeout=10) == 0


def test_exit_without_shutdown_exits_with_1(raw: RawServer, tmp_path: Path) -> None:
    ready(raw, tmp_path)
    raw.notify("exit", None)
    assert raw.proc.wait(timeout=10) == 1


def test_exit_before_initialize_exits_with_1(raw: RawServer) -> None:
    raw.notify("exit", None)
    assert raw.proc.wait(timeout=10) == 1


# ------------------------------------------------------------------ framing


@pytest.mark.parametrize("bad", [
    b"Content-Length: 99999999999999999999\r\n\r\n{}",  # huge: refused, not allocated
    b"Content-Length: 18446744073709551616\r\n\r\n",
    b"Content-Type: application/vscode-jsonrpc\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"x\"}",  # no length
    b"Content-Length: 10\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"shutdown\"}",  # short length
    b"Content-Length: abc\r\n\r\n",
    b"garbage without any header at all\r\n\r\n",
    b"\xff\xfe\x00\x01 binary \r\n\r\n",
    b"Content-Length: -5\r\n\r\n",
])
def test_a_bad_frame_is_skipped_and_the_next_one_answered(raw: RawServer, tmp_path: Path, bad: bytes) -> None:
    ready(raw, tmp_path)
    raw.send_bytes(bad)
    r = raw.request("textDocument/hover", HOVER, timeout=10)
    assert "result" in r
    assert raw.alive()


def test_lowercase_header_is_read(raw: RawServer, tmp_path: Path) -> None:
    ready(raw, tmp_path)
    body = json.dumps({"jsonrpc": "2.0", "id": "lower", "method": "textDocument/hover", "params": HOVER}).encode()
    raw.send_bytes(b"content-length: %d\r\n\r\n" % len(body) + body)
    assert "result" in raw.wait_for("lower")


@pytest.mark.parametrize(("body", "code"), [
    (b'{"jsonrpc": "2.0", "id": 41, "method": "textDocument/hover", "params": {', -32700),
    (b'{"jsonrpc": "2.0", "id": 42, "method": "x", "params": ' + b"[" * 5000 + b"]" * 5000 + b"}", -32700),
    (b'[{"jsonrpc": "2.0", "id": 43, "method": "shutdown"}]', -32600),
    (b'{"id": 44, "method": "shutdown"}', -32600),
])
def test_unreadable_messages_are_answered(raw: RawServer, tmp_path: Path, body: bytes, code: int) -> None:
    ready(raw, tmp_path)
    raw.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    got = raw.messages.get(timeout=10)
    while "method" in got:  # notifications the server sends meanwhile
        got = raw.messages.get(timeout=10)
    assert got["error"]["code"] == code
    no_traceback(got)
    assert "result" in raw.request("textDocument/hover", HOVER)


FUZZ_COUNT = {"n": 0}


@pytest.fixture(scope="module")
def shared_raw(tmp_path_factory: pytest.TempPathFactory) -> RawServer:
    srv = RawServer()
    ready(srv, tmp_path_factory.mktemp("fuzz"))
    yield srv
    srv.close()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=200) | st.sampled_from([b"Content-Length: 5\r\n\r\n", b"\r\n\r\n",
                                                        b"Content-Length: 1e9\r\n\r\n", b"Content-Length:\r\n\r\n"]),
       method=st.sampled_from(["textDocument/hover", "textDocument/completion", "workspace/symbol",
                               "workspace/executeCommand", "textDocument/codeAction", "completionItem/resolve",
                               "textDocument/definition", "textDocument/references", "no/such/method"]),
       params=st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                           max_leaves=10))
def test_fuzzed_garbage_and_params_never_kill_or_silence_the_server(shared_raw: RawServer, junk: bytes, method: str,
                                                                     params: object) -> None:
    """Random bytes between messages and random params: every request is answered, none with a traceback."""
    FUZZ_COUNT["n"] += 1
    shared_raw.send_bytes(junk + b"\r\n\r\n")  # a blank line ends whatever header the junk started
    r = shared_raw.request(method, params, timeout=8)
    no_traceback(r)
    assert shared_raw.alive()
    ok = shared_raw.request("textDocument/hover", HOVER, timeout=8)  # still in sync
    assert "result" in ok


# ------------------------------------------------------------------ TCP


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tcp_refuses_all_interfaces_without_allow_remote() -> None:
    p = subprocess.run([*SERVER, "--tcp", f"0.0.0.0:{free_port()}"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "--allow-remote" in p.stderr and "0.0.0.0" in p.stderr


def _connect(host: str, port: int, family: int = socket.AF_INET, timeout: float = 30) -> socket.socket:
    end = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection((host, port), timeout=5) if family == socket.AF_INET else \
                _connect6(host, port)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)


def _connect6(host: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET6)
    s.settimeout(5)
    s.connect((host, port))
    return s


def _read_message(sock: socket.socket) -> dict:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    n = int(next(v for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")) if k.lower() == b"content-length"))
    while len(rest) < n:
        rest += sock.recv(65536)
    return json.loads(rest[:n])


def _initialize(sock: socket.socket, tmp: Path) -> dict:
    sock.sendall(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": None, "capabilities": {},
        "initializationOptions": {"cacheDir": str(tmp / "cache"), "offline": True}}}))
    while True:
        m = _read_message(sock)
        if m.get("id") == 1:
            return m


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_tcp_serves_one_local_client(tmp_path: Path, host: str) -> None:
    if host == "[::1]" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    if host == "[::1]":
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            pytest.skip("no IPv6 loopback")
    port = free_port()
    proc = subprocess.Popen([*SERVER, "--tcp", f"{host}:{port}"], stderr=subprocess.PIPE)
    family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
    bare = host.strip("[]")
    try:
        first = _connect(bare, port, family)
        assert "capabilities" in _initialize(first, tmp_path)["result"]
        # A second local program connects: it is closed at once, gets nothing, and ends nothing.
        second = _connect(bare, port, family)
        second.sendall(frame({"jsonrpc": "2.0", "id": 9, "method": "workspace/symbol", "params": {"query": "a"}}))
        second.settimeout(10)
        try:
            assert second.recv(65536) == b""
        except ConnectionResetError:
            pass
        second.close()
        first.sendall(frame({"jsonrpc": "2.0", "id": 2, "method": "workspace/symbol", "params": {"query": "DRCT"}}))
        while (m := _read_message(first)).get("id") != 2:
            pass
        assert m["result"]
        assert proc.poll() is None
        first.sendall(frame({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}))
        while _read_message(first).get("id") != 3:
            pass
        first.sendall(frame({"jsonrpc": "2.0", "method": "exit"}))
        assert proc.wait(timeout=20) == 0
        first.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------ big edits


def test_replace_all_of_ten_thousand_changes_lands_at_the_right_places(raw: RawServer, tmp_path: Path) -> None:
    ready(raw, tmp_path)
    lines = [f"line {i}: the foo model is fast.\n" for i in range(10000)]
    uri = (tmp_path / "big.tex").as_uri()
    raw.open(uri, "".join(lines))
    changes = [{"range": {"start": {"line": i, "character": lines[i].index("foo")},
                          "end": {"line": i, "character": lines[i].index("foo") + 3}}, "text": "DRCT"}
               for i in reversed(range(10000))]
    raw.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": changes})
    for i in (0, 4321, 9999):
        col = lines[i].index("foo") + 1
        r, _ = raw.hover(uri, i, col)
        assert r["result"] and "DRCT" in r["result"]["contents"]["value"], (i, r)
        r, _ = raw.hover(uri, i, lines[i].index("model") + 6)  # "is": nothing there, after the edit too
        assert r["result"] is None


def test_a_20_mb_document_and_a_5_mb_line_are_served(raw: RawServer, tmp_path: Path) -> None:
    ready(raw, tmp_path)
    small = (tmp_path / "s.tex").as_uri()
    raw.open(small, "DRCT keeps the features.\n")
    huge = (tmp_path / "huge.tex").as_uri()
    raw.open(huge, "The DRCT model keeps the features apart here.\n" * 430_000)
    r, _ = raw.hover(small, 0, 1, timeout=60)
    assert r["result"]
    r, _ = raw.hover(huge, 300_000, 5, timeout=60)  # asked before its analysis ran: analysed on demand
    assert r["result"] and "DRCT" in r["result"]["contents"]["value"]
    md = (tmp_path / "one-line.md").as_uri()
    raw.open(md, "DRCT and the foo method, " * 200_000, "markdown")
    r, _ = raw.hover(md, 0, 25 * 150_000 + 1, timeout=60)  # deep inside the line
    assert r["result"] and "DRCT" in r["result"]["contents"]["value"]
    assert raw.alive()


def test_fuzz_count_reported() -> None:
    """Keeps the number of fuzzed frames visible in -s output (the closing note quotes it)."""
    print(f"fuzzed raw frames sent: {FUZZ_COUNT['n']}", file=sys.stderr)
