"""A local feed file (a saved HF papers page, HF papers JSON, a .bib): detect its format and encoding, read it
whole or stream it item by item."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import ijson

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
                papers, w = parse_hf_json([item], str(path))
                warnings.extend(x.replace("entry 1", f"entry {k + 1}", 1) for x in w)
                n += len(papers)
                yield from papers
        except ijson.JSONError as e:
            raise FeedError(f"{path}: invalid JSON after {n} papers: {e}") from None
    if n == 0:
        raise FeedError(f"{path}: no papers found (expected Hugging Face papers JSON or saved papers)")
