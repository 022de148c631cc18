"""LSP base-protocol framing that survives what a broken or hostile peer sends: a header without a length, a
lowercase or garbled header, a huge or short Content-Length, bytes between messages. Each bad frame is reported
and skipped; the reader re-synchronises on the next `Content-Length:` header instead of going deaf."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Iterator
from typing import Any, Protocol

MAX_MESSAGE = 256 << 20  # bytes; larger is refused before anything is allocated (a 20 MB didOpen is fine)
_LENGTH = b"content-length:"
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')


class AsyncReader(Protocol):
    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


class Pushback:
    """A reader that can be given bytes back: the body of a frame whose length was wrong holds the start of the
    next message, and is read again as headers to find it."""

    def __init__(self, reader: AsyncReader) -> None:
        self._reader = reader
        self._buf = b""

    def unread(self, data: bytes) -> None:
        self._buf = bytes(data) + self._buf  # (a body may be a bytearray: headers are read from bytes)

    async def readline(self) -> bytes:
        if not self._buf:
            return await self._reader.readline()
        i = self._buf.find(b"\n")
        if i >= 0:
            line, self._buf = self._buf[: i + 1], self._buf[i + 1 :]
            return line
        head, self._buf = self._buf, b""
        return head + await self._reader.readline()

    async def readexactly(self, n: int) -> bytes:
        if not self._buf:
            return await self._reader.readexactly(n)
        take, self._buf = self._buf[:n], self._buf[n:]
        if len(take) < n:
            take += await self._reader.readexactly(n - len(take))
        return take


class PipeReader(asyncio.Protocol):
    """Stdin read by the event loop itself (a pipe the loop watches), not by a thread per read: pygls' stdin
    reader runs each readline and read in a worker thread, and while a .bib loads in another thread each of
    those hand-overs of the interpreter costs a request up to a switch interval. A body is read into one buffer
    of its own size (a 98 MB didOpen is not copied again)."""

    LINE_MAX = 1 << 16  # a header line longer than this is garbage: ValueError, as asyncio's readline gives

    def __init__(self) -> None:
        self._buf = bytearray()
        self._eof = False
        self._waiter: asyncio.Future[None] | None = None
        self._body: bytearray | None = None  # the body being filled (readexactly), and how much of it is
        self._filled = 0

    @classmethod
    async def connect(cls, pipe: Any) -> PipeReader:
        """A reader of this pipe on the running loop (ValueError/OSError when it cannot be watched: a file)."""
        reader = cls()
        await asyncio.get_running_loop().connect_read_pipe(lambda: reader, pipe)
        return reader

    def data_received(self, data: bytes) -> None:  # type: ignore[override]
        body = self._body
        if body is not None:
            take = min(len(data), len(body) - self._filled)
            body[self._filled:self._filled + take] = data[:take]
            self._filled += take
            data = data[take:]
        if data:
            self._buf += data
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._wake()

    def _wake(self) -> None:
        w, self._waiter = self._waiter, None
        if w is not None and not w.done():
            w.set_result(None)

    async def _more(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter

    async def readline(self) -> bytes:
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0:
                line = bytes(self._buf[: i + 1])
                del self._buf[: i + 1]
                return line
            if len(self._buf) > self.LINE_MAX:
                del self._buf[:]
                raise ValueError("a line longer than the limit")
            if self._eof:
                line = bytes(self._buf)
                del self._buf[:]
                return line
            start = len(self._buf)
            await self._more()

    async def readexactly(self, n: int) -> bytes:
        body = bytearray(n)
        take = min(n, len(self._buf))
        body[:take] = self._buf[:take]
        del self._buf[:take]
        self._body, self._filled = body, take
        try:
            while self._filled < n:
                if self._eof:
                    raise asyncio.IncompleteReadError(bytes(body[: self._filled]), n)
                await self._more()
        finally:
            self._body = None
        return body  # type: ignore[return-value]  # (bytes-like: json.loads takes it as it is)


class FrameError(Exception):
    """A frame that cannot be read; carries the id of the request when it could be recovered."""

    def __init__(self, message: str, msg_id: Any = None) -> None:
        super().__init__(message)
        self.msg_id = msg_id
        self.resync = False


async def read_frame(reader: AsyncReader) -> bytes | None:
    """The next message body, or None at end of input. Raises FrameError for a frame it skipped."""
    headers: dict[bytes, bytes] = {}
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # asyncio's line limit: a very long line of garbage
            headers = {}
            continue
        if not line:
            return None
        if line.strip() == b"":
            if not headers:
                continue  # stray blank lines between messages
            break
        low = line.lower()
        at = low.find(_LENGTH)
        if at > 0:  # bytes before a header (the rest of a body sent with a short length): drop them
            line, headers = line[at:], {}
        name, sep, value = line.partition(b":")
        if not sep or not name.strip() or b"{" in name or b'"' in name:
            headers = {}  # not a header: the rest of a body, or garbage
            continue
        headers[name.strip().lower()] = value.strip()
    raw = headers.get(b"content-length")
    if raw is None:
        raise FrameError("a message without a Content-Length header was skipped")
    if not raw.isdigit() or len(raw) > 12 or int(raw) > MAX_MESSAGE:
        raise FrameError(f"a message with Content-Length {raw[:24].decode('latin-1')!r} was skipped "
                         f"(at most {MAX_MESSAGE} bytes)")
    n = int(raw)
    try:
        body = await reader.readexactly(n)
    except Exception:  # asyncio.IncompleteReadError at end of input
        return None
    if len(body) < n:
        return None  # end of input inside a body
    return body


BIG_TEXT = 4 << 20  # bytes: a larger message (a didOpen of a large file) has its "text" decoded in pieces
_TEXT_KEY = re.compile(rb'"text"\s*:\s*"')
_LOW_SURROGATE = re.compile(rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}")
_HIGH_SURROGATE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}")
_PIECE = 1 << 16  # bytes of the JSON string per decoded piece (~64k characters: a rope's chunk)


def split_text(body: bytes | bytearray) -> tuple[Any, Iterator[str]] | None:
    """A huge didOpen without its text decoded as one string: (the message with "text" empty, the text's pieces
    of ~64k characters, decoded as they are taken). json.loads of a 98 MB didOpen makes one 196 MB string (one
    character wider than Latin-1 makes the whole string two bytes a character) next to the body; the pieces
    are each as narrow as they can be, and can become a rope's chunks as they are, or be dropped as they are
    compared with a text held already. (The body is not shrunk as it is read: a bytearray cut at the front is
    copied once it is half empty, which costs more than keeping it.)
    None when the body is not such a message or its envelope is not valid JSON (parse it whole: that names
    the error); a piece that is not a valid JSON string raises ValueError when it is taken."""
    start = _text_start(body)
    end = _closing_quote(body, start) if start >= 0 else -1
    if end < 0:
        return None
    try:
        data = json.loads(body[:start] + body[end:])
    except (ValueError, RecursionError):
        return None
    doc = data.get("params", {}).get("textDocument") if isinstance(data, dict) else None
    if data.get("method") != "textDocument/didOpen" or not isinstance(doc, dict) or doc.get("text") != "":
        return None

    def pieces() -> Iterator[str]:
        a = start
        while a < end:
            c = _cut(body, a, min(end, a + _PIECE), end)
            piece = json.loads(b'"' + body[a:c] + b'"')
            if not isinstance(piece, str):
                raise ValueError("not a JSON string")
            a = c
            yield piece

    return data, pieces()


def _text_start(body: bytes | bytearray) -> int:
    """Where the "text" string's characters start (after its opening quote), or -1. A match after an odd run
    of backslashes is inside another string. (A function of its own: the scan holds the buffer until done.)"""
    for m in _TEXT_KEY.finditer(body):
        if not _escaped(body, m.start()):
            return m.end()
    return -1


def _escaped(body: bytes | bytearray, i: int) -> bool:
    """Whether the character at i follows an odd run of backslashes."""
    k = i
    while k > 0 and body[k - 1] == 0x5C:
        k -= 1
    return (i - k) % 2 == 1


def _closing_quote(body: bytes | bytearray, i: int) -> int:
    while (j := body.find(b'"', i)) >= 0:
        if not _escaped(body, j):
            return j
        i = j + 1
    return -1


def _cut(body: bytes | bytearray, a: int, c: int, end: int) -> int:
    """Where a piece may end: not inside an escape (before the backslash run that starts one) nor inside a UTF-8
    character."""
    if c >= end:
        return end
    p = body.rfind(b"\\", max(a, c - 12), c)  # (an escape is at most 12 bytes: a \uXXXX\uXXXX pair)
    if p > a:
        while p > a + 1 and body[p - 1] == 0x5C:
            p -= 1
        if _LOW_SURROGATE.match(body, p) and p - 6 > a and _HIGH_SURROGATE.match(body, p - 6):
            p -= 6  # (a character beyond the BMP is two escapes: not cut between them)
        return p
    while c > a + 1 and 0x80 <= body[c] <= 0xBF:
        c -= 1
    return c


def parse_body(body: bytes) -> Any:
    """The JSON of a body. Raises FrameError (with the request id when it can be found) when it is not JSON, or
    nested too deeply to parse."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as e:
        m = _ID.search(body[:65536])
        try:
            msg_id = json.loads(m.group(1)) if m else None
        except ValueError:
            msg_id = None
        deep = isinstance(e, RecursionError)
        err = FrameError(f"message body is {'nested too deeply' if deep else 'not valid JSON'}", msg_id)
        err.resync = not deep  # the body may hold the next message's header: read it again
        raise err from None
