"""LSP base-protocol framing that survives what a broken or hostile peer sends: a header without a length, a
lowercase or garbled header, a huge or short Content-Length, bytes between messages. Each bad frame is reported
and skipped; the reader re-synchronises on the next `Content-Length:` header instead of going deaf."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
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
        self._buf = data + self._buf

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
