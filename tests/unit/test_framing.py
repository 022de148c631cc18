"""Stdin read by the event loop (framing.PipeReader): the frames a pipe carries come out whole and in order, however
the writes split them; a huge body is one buffer of its size; garbage lines and the end of input are handled as
with asyncio's own reader."""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading

import pytest

from paperlens.lsp.framing import PipeReader, Pushback, read_frame, split_text


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


# ---------------------------------------------------------------- a huge didOpen's text, in pieces


def _open(text: str, **extra: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen",
            "params": {"textDocument": {"uri": "file:///ws/lib.bib", "languageId": "bibtex", "version": 1,
                                        "text": text, **extra}}}


@pytest.mark.parametrize("ascii_only", [True, False])
@pytest.mark.parametrize("kind", [bytes, bytearray])
def test_a_didopen_text_decoded_in_pieces_is_what_json_loads_gives(ascii_only: bool, kind: type) -> None:
    rng = random.Random(7)
    # Escapes of every kind, quotes, backslash runs, characters beyond the BMP (two \\u escapes each) and
    # multi-byte UTF-8, so that some piece boundary falls next to each.
    alphabet = ["a", "b", " ", '"', "\\", "\\\\", "é", "€", "𝔘", "\n", "\t", "\u0001", "/", "u", "{", "}", "’"]
    for _ in range(6):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(200_000, 500_000)))
        msg = _open(text)
        body = kind(json.dumps(msg, ensure_ascii=ascii_only).encode())
        want = json.loads(body)
        got = split_text(body)
        assert got is not None
        data, pieces = got
        parts = list(pieces)
        assert "".join(parts) == want["params"]["textDocument"]["text"] == text
        assert data == _open("")  # the message, with its text left out
        assert len(parts) > 4 and all(len(p) <= 1 << 16 for p in parts)  # a rope's chunks, not one string


def test_a_text_key_inside_another_string_is_not_taken_for_the_text() -> None:
    text = "x" * 300_000
    body = json.dumps({"jsonrpc": "2.0", "note": 'a "text": "not this"', **_open(text)}).encode()
    body2 = json.dumps({"jsonrpc": "2.0", "method": "textDocument/didOpen",
                        "params": {"textDocument": {"languageId": 'say "text": "no"', "uri": "file:///a.bib",
                                                    "version": 1, "text": text}}}).encode()
    for b in (body, body2):
        got = split_text(b)
        assert got is not None
        data, pieces = got
        assert "".join(pieces) == text and data["params"]["textDocument"]["text"] == ""


@pytest.mark.parametrize("body", [
    json.dumps({"jsonrpc": "2.0", "method": "textDocument/didChange",
                "params": {"contentChanges": [{"text": "x" * 100}]}}).encode(),  # not a didOpen
    json.dumps({"jsonrpc": "2.0", "id": 1, "method": "x", "params": {}}).encode(),  # no text at all
    b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"text": "abc',  # cut off
])
def test_other_messages_are_left_to_the_whole_parse(body: bytes) -> None:
    assert split_text(body) is None


def test_a_broken_string_in_the_text_is_an_error_when_its_piece_is_taken() -> None:
    body = json.dumps(_open("y" * 200_000)).encode().replace(b"yyyy", b"y\\qy", 1)  # \q: not an escape
    got = split_text(body)
    assert got is not None
    with pytest.raises(ValueError):
        list(got[1])
