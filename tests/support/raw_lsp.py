"""A raw LSP peer: `paperlens serve` as a subprocess, spoken to in bytes. For what a typed client cannot send
(broken framing, requests before initialize, huge messages) and for timing the server from outside."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

SERVER = [sys.executable, "-m", "paperlens", "serve"]


def frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class RawServer:
    """The server over stdio; a reader thread parses what it writes into a queue of messages."""

    def __init__(self, args: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        e = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "HF_TOKEN")}
        e.update(env or {})
        self.proc = subprocess.Popen(args or SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=e)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stderr: list[bytes] = []
        self._ids = 0
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = out.read(length)
            try:
                self.messages.put(json.loads(body))
            except ValueError:
                self.messages.put({"unparseable": body.decode("utf-8", "replace")})

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, obj: Any) -> None:
        self.send_bytes(frame(obj))

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request_nowait(self, method: str, params: Any) -> int:
        self._ids += 1
        self.send({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": params})
        return self._ids

    def wait_for(self, msg_id: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The response to msg_id; server requests (configuration, registration...) are answered with null."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer to {msg_id!r} within {timeout} s")
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if "method" in m and "id" in m:  # a request from the server
                self.send({"jsonrpc": "2.0", "id": m["id"], "result": None})
                continue
            if m.get("id") == msg_id and "method" not in m:
                return m

    def request(self, method: str, params: Any, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait_for(self.request_nowait(method, params), timeout)

    def initialize(self, root: Path, cache: Path, **options: Any) -> dict[str, Any]:
        res = self.request("initialize", {
            "processId": None, "rootUri": root.as_uri(), "capabilities": {},
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "initializationOptions": {"cacheDir": str(cache), "offline": True, **options}}, timeout=60)
        self.notify("initialized", {})
        return res

    def open(self, uri: str, text: str, language: str = "latex") -> None:
        self.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": language, "version": 1,
                                                               "text": text}})

    def hover(self, uri: str, line: int, character: int, timeout: float = 30.0) -> tuple[dict[str, Any], float]:
        """(response, seconds from sending to the answer)."""
        t0 = time.perf_counter()
        r = self.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                "position": {"line": line, "character": character}}, timeout)
        return r, time.perf_counter() - t0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self, timeout: float = 10.0) -> int:
        """shutdown + exit when still running; the exit code."""
        if self.alive():
            try:
                self.request("shutdown", None, timeout=timeout)
                self.notify("exit", None)
            except (TimeoutError, BrokenPipeError, OSError):
                pass
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
