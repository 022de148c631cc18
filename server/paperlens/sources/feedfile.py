"""A local feed file (a saved HF papers page, HF papers JSON, a .bib): detect its format and encoding, read it
whole or stream it item by item."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import ijson
import numpy as np
import numpy.typing as npt

from paperlens.core.model import Paper
from paperlens.sources.bibtex import decode_bib_bytes, encoding_note, parse_bib
from paperlens.sources.errors import FeedError
from paperlens.sources.hf_api import parse_hf_json
from paperlens.sources.hf_page import parse_hf_page

STREAM_BYTES = 16 * 1024 * 1024  # JSON feeds larger than this are read item by item


_BIB_OPENING = re.compile(r"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)
_BIB_OPENING_BYTES = re.compile(rb"^\s*@\s*[A-Za-z]+\s*[{(]", re.M)

def _decode(path: Path, data: bytes, warnings: list[str]) -> str:
    if not data.strip():
        raise FeedError(f"{path}: the file is empty")
    if path.suffix.lower() == ".bib" or (path.suffix.lower() != ".json" and _BIB_OPENING_BYTES.search(data)):
        # UTF-16 (with its BOM) has NUL bytes by design; anything else with them is binary.
        if b"\x00" not in data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text, enc = decode_bib_bytes(data)
            if note := encoding_note(path, enc):
                warnings.append(note)
            return text
    nul = data.find(b"\x00")
    if nul >= 0:
        raise FeedError(f"{path}: binary data (NUL byte at offset {nul}), not a paper feed")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise FeedError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})"
        ) from None


def feed_format(path: Path, text: str) -> str:
    """'bib', 'json' or 'hf-page': from the file ending first, then from the content."""
    suffix = path.suffix.lower()
    if suffix == ".bib":
        return "bib"
    if suffix == ".json" or text.lstrip().startswith(("[", "{")):
        return "json"
    if _BIB_OPENING.search(text) and "\n·\n" not in text.replace("\r\n", "\n"):
        return "bib"
    return "hf-page"


def read_feed_file(path: Path, today: dt.date | None = None) -> tuple[list[Paper], list[str]]:
    """Papers and warnings from a saved HF papers page, HF papers JSON or a .bib; FeedError if none."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FeedError(f"{path}: is a directory, not a feed file") from None
    except OSError as e:
        raise FeedError(f"{path}: cannot read: {e.strerror or e}") from None
    notes: list[str] = []
    text = _decode(path, data, notes)
    kind = feed_format(path, text)
    if kind == "bib":
        papers, warnings = parse_bib(text, str(path))
        expected = "BibTeX entries with a title"
    elif kind == "json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise FeedError(f"{path}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
        papers, warnings = parse_hf_json(obj, str(path))
        expected = "Hugging Face papers JSON (daily_papers, search or paper) or saved papers"
    else:
        papers, warnings = parse_hf_page(text, str(path), today=today)
        expected = "a saved Hugging Face papers page (title, abstract, '·' and a date line per paper)"
    if not papers:
        first = f"; first problem: {warnings[0]}" if warnings else ""
        raise FeedError(f"{path}: no papers found (expected {expected}){first}")
    return papers, notes + warnings


def iter_feed_file(path: Path, warnings: list[str], today: dt.date | None = None) -> Iterator[Paper]:
    """Papers one at a time. A large JSON array is streamed (ijson), so a million-paper feed is never in memory
    whole; anything else is read by `read_feed_file`. Raises FeedError when the file yields no paper."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    head = b""
    if size > STREAM_BYTES and path.suffix.lower() == ".json":
        with path.open("rb") as f:
            head = f.read(256).lstrip()
    if not head.startswith((b"[", b"{")):
        papers, w = read_feed_file(path, today)
        warnings.extend(w)
        yield from papers
        return
    prefix = "item" if head.startswith(b"[") else "papers.item"
    n = 0
    with path.open("rb") as f:
        try:
            for k, item in enumerate(ijson.items(f, prefix, use_float=True)):
                papers, w = parse_hf_json([item], str(path), first=k)  # numbered as in the whole array
                warnings.extend(w)
                n += len(papers)
                yield from papers
        except ijson.JSONError as e:
            raise FeedError(f"{path}: invalid JSON after {n} papers: {e}") from None
    if n == 0:
        raise FeedError(f"{path}: no papers found (expected Hugging Face papers JSON or saved papers)")


# ---------------------------------------------------------------- a JSON array's items as raw bytes


SPLIT_BLOCK = 16 * 1024 * 1024  # bytes of a feed scanned at a time by `json_array_chunks`
_QUOTE, _BACKSLASH = 34, 92
_DEPTH = np.zeros(256, dtype=np.int8)  # what a byte outside a string does to the nesting depth (a comma: 0)
_DEPTH[[91, 123]] = 1  # [ {
_DEPTH[[93, 125]] = -1  # ] }
_SPECIAL = bytes(1 if x in b'[]{},"\\' else 0 for x in range(256))  # bytes.translate: 1 where one is

def streams_json_array(path: Path) -> bool:
    """Whether a feed is a JSON array large enough to be streamed (`iter_feed_file`'s rule), so that its items
    can be cut out as bytes (`json_array_chunks`)."""
    try:
        if path.suffix.lower() != ".json" or path.stat().st_size <= STREAM_BYTES:
            return False
        with path.open("rb") as f:
            return f.read(256).lstrip().startswith(b"[")
    except OSError:
        return False


def json_array_chunks(path: Path, items: int, block: int = SPLIT_BLOCK) -> Iterator[tuple[int, bytes]]:
    """A top-level JSON array's items, `items` at a time, each group as the bytes of a JSON array of them (and
    the number of the group's first item): `json_array_spans`, each span read (`read_span`)."""
    for first, start, end in json_array_spans(path, items, block):
        yield first, read_span(path, start, end)


def read_span(path: Path | str, start: int, end: int, stamp: tuple[int, int, int] | None = None) -> bytes:
    """The bytes of a JSON array of the items between these offsets of a feed (`json_array_spans`); stamp:
    the file's `file_stamp` when it was cut into spans (OSError if it is another file now)."""
    with open(path, "rb") as f:
        if stamp is not None and file_stamp(os.fstat(f.fileno())) != stamp:
            raise OSError("the file changed while the index was built from it")
        f.seek(start)
        data = f.read(end - start)
    if len(data) < end - start:
        raise OSError(f"the file ends before byte {end}")
    return b"[" + data + b"]"


def file_stamp(st: os.stat_result) -> tuple[int, int, int]:
    """What tells a file from the same path's other contents: inode, size, modification time."""
    return st.st_ino, st.st_size, st.st_mtime_ns


def json_array_spans(path: Path, items: int, block: int = SPLIT_BLOCK) -> Iterator[tuple[int, int, int]]:
    """A top-level JSON array's items, `items` at a time, each group as where it is in the file (the number
    of its first item, the offsets where its first item starts and its last ends: the items with the commas
    between them): a build's workers read and parse them (`read_span`, `parse_items`), this process only
    finds where items end. Found in numpy over a block of the file at a time: quotes that no odd run of
    backslashes escapes open and close strings, and outside strings brackets and braces nest; a comma at the
    array's own depth ends an item. What an item holds is not checked here (`parse_items` does, with json).
    FeedError when the array is not closed, or something follows it."""
    with path.open("rb") as f:
        head = f.read(block)
        lead = len(head) - len(head.lstrip())
        if head[lead : lead + 1] != b"[":
            raise FeedError(f"{path}: not a JSON array")
        rest = head[lead + 1 :]
        base = lead + 1  # the offset in the file of rest (and buf) [0]
        span = [0, 0]  # the offsets of the items not yet sent (from the first's start to the last's end)
        held = k = 0
        ended = False
        while not ended:
            more = f.read(block)
            buf = rest + more if more else rest
            seps, close = _item_ends(buf)
            ended = close >= 0
            cut = close if ended else (int(seps[-1]) if len(seps) else -1)
            ends = seps[seps < cut].tolist() + ([cut] if cut >= 0 else [])
            if ended and len(ends) == 1 and not buf[:cut].strip() and not k and not held:
                ends = []  # "[]": no item
            start = 0
            while ends:
                take = min(items - held, len(ends))
                end = ends[take - 1]
                if not held:
                    span[0] = base + start
                span[1] = base + end
                held += take
                ends = ends[take:]
                start = end + 1
                if held == items:
                    yield k, span[0], span[1]
                    k += held
                    held = 0
            if ended:
                if buf[close + 1 :].strip() or f.read(block).strip():
                    raise FeedError(f"{path}: invalid JSON after {k + held} items: something follows the array")
            else:
                if not more:
                    raise FeedError(f"{path}: invalid JSON after {k + held} items: the array is not closed")
                rest = buf[start:]
                base += start
        if held:
            yield k, span[0], span[1]


def _item_ends(buf: bytes) -> tuple[npt.NDArray[np.int64], int]:
    """In bytes that start inside a JSON array, outside any string, at its items' depth: where each comma that
    ends an item is, and where the array's closing bracket is (-1: not in these bytes). Past the last of them
    the bytes may end inside an item; up to it, every quote and bracket is read in its right state."""
    # The bytes that matter, found by one C pass (translate) and one numpy pass, not a numpy pass per kind.
    at = np.flatnonzero(np.frombuffer(buf.translate(_SPECIAL), dtype=np.bool_))
    val = np.frombuffer(buf, dtype=np.uint8)[at]
    q = at[val == _QUOTE]
    bs = at[val == _BACKSLASH]
    if len(bs) and len(q):
        # A quote is escaped when the run of backslashes right before it is odd.
        run_start = np.where(np.r_[True, bs[1:] != bs[:-1] + 1], bs, 0)
        np.maximum.accumulate(run_start, out=run_start)
        i = np.searchsorted(bs, q - 1)
        after_bs = (i < len(bs)) & (bs[np.minimum(i, len(bs) - 1)] == q - 1)
        run = np.zeros(len(q), dtype=np.int64)
        run[after_bs] = q[after_bs] - run_start[i[after_bs]]
        q = q[run % 2 == 0]
    keep = (val != _QUOTE) & (val != _BACKSLASH)
    s, sv = at[keep], val[keep]
    out = np.searchsorted(q, s) % 2 == 0  # outside strings: an even number of quotes before it
    s, sv = s[out], sv[out]
    step = _DEPTH[sv].astype(np.int64)
    depth = np.cumsum(step) - step  # the depth each one is met at (0: the array's items')
    closes = np.flatnonzero((depth == 0) & (step < 0))
    close = int(s[closes[0]]) if len(closes) else -1
    seps = s[(depth == 0) & (step == 0)]
    if close >= 0:
        seps = seps[seps < close]
    return seps, close


def parse_items(raw: bytes, source: str, first: int) -> tuple[list[Paper], list[str]]:
    """Papers and warnings from a JSON array of feed items (`json_array_chunks`), as `iter_feed_file` gives
    them item by item; first: the number of the first item in the feed (for the warnings). ValueError with
    json's message when the bytes are not JSON."""
    try:
        items = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(str(e)) from None
    if not isinstance(items, list):
        raise ValueError(f"expected a JSON array of items, got {type(items).__name__}")
    return parse_hf_json(items, source, first=first)  # (a list: each item alone, numbered from first)
