"""Stdin read by the event loop (framing.PipeReader): the frames a pipe carries come out whole and in order, however
the writes split them; a huge body is one buffer of its size; garbage lines and the end of input are handled as
with asyncio's own reader."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest

from paperlens.lsp.framing import PipeReader, Pushback, read_frame


def _frame(msg: object) -> bytes:
    body = json.dumps(msg).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_all(data: bytes, piece: int) -> list[bytes]:
    """Write `data` into a pipe `piece` bytes at a time (a thread), read frames from it until the end."""
    r, w = os.pipe()

    def writer() -> None:
        with os.fdopen(w, "wb", buffering=0) as f:
            for a in range(0, len(data), piece):
                f.write(data[a:a + piece])

    async def main() -> list[bytes]:
        with os.fdopen(r, "rb", buffering=0) as pipe:
            reader = await PipeReader.connect(pipe)
            t = threading.Thread(target=writer)
            t.start()
            out = []
            while (body := await read_frame(Pushback(reader))) is not None:
                out.append(bytes(body))
            t.join()
            return out

    return asyncio.run(main())


@pytest.mark.parametrize("piece", [1, 7, 4096, 1 << 20])
def test_frames_come_out_whole_however_the_pipe_splits_them(piece: int) -> None:
    text = "é€ 𝔘 " * 300_000  # a ~3.6 MB didOpen, multi-byte characters across every split
    msgs = [{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}},
            {"jsonrpc": "2.0", "method": "textDocument/didOpen",
             "params": {"textDocument": {"uri": "file:///a.bib", "text": text}}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}]
    data = b"".join(_frame(m) for m in msgs)
    if piece == 1:  # a byte at a time: only the small messages (the big one would take long)
        msgs = [msgs[0], msgs[2]]
        data = _frame(msgs[0]) + b"\r\n" + _frame(msgs[1])  # (a stray blank line between messages)
    got = _read_all(data, piece)
    assert [json.loads(b) for b in got] == msgs


def test_a_garbage_line_longer_than_the_limit_is_skipped() -> None:
    good = {"jsonrpc": "2.0", "id": 3, "method": "shutdown"}
    data = b"x" * (3 * PipeReader.LINE_MAX) + b"\r\n" + _frame(good)
    assert [json.loads(b) for b in _read_all(data, 65536)] == [good]


def test_the_end_of_input_inside_a_body_ends_the_stream() -> None:
    whole = _frame({"jsonrpc": "2.0", "id": 4, "method": "shutdown"})
    assert _read_all(whole[:-5], 3) == []
