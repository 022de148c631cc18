"""Loading the workspace's .bib files into the BibIndex, off the request path (no pygls here).

A file is read, decoded (its own encoding) and scanned; its keys are indexed at once (key-only records), then
each entry's light record (title, first author, year, ids) replaces its key-only one. Light records are cached by
the file's content hash, so the next start indexes a 72,000-entry library without reading one field.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperlens.core.model import Paper
from paperlens.features.bib import BibFile
from paperlens.index.aliases import title_name
from paperlens.index.bibindex import BibIndex, BibRec, Row, Segment, rec_row
from paperlens.library.store import write_atomic
from paperlens.sources.bibraw import BadEntry, RawEntry
from paperlens.sources.bibtex import BibDocument, decode_bib_bytes, encoding_note

log = logging.getLogger(__name__)

CACHE_VERSION = 2
CACHE_FILES = 16  # parsed .bib files kept in the cache dir
BATCH = 256  # records added per lock hold: a request never waits long for the index

Light = tuple[str, str, str, str, int | None, str | None, str | None]


@dataclass
class Read:
    """A .bib read from disk: the file, its content hash, its cached light records (None: read them), its
    size/mtime key, and whether its records are in the index already (installed from the cache)."""

    file: BibFile
    digest: str
    lights: list[Light | None] | None
    stat_key: str | None
    installed: bool = False


def install_cached(path: Path, uri: str, bib: BibIndex, cache_dir: Path | None) -> tuple[str, Segment] | None:
    """Warm start: when the file's size, mtime and inode are those saved with its parsed records, put them in
    the index at once (one pickle, no reading of the .bib); read_bib_path then checks the content hash."""
    digest = cached_digest(cache_dir, path)
    seg = load_segment(cache_dir, digest) if digest else None
    if digest is None or seg is None:
        return None
    enabled = gc.isenabled()
    gc.disable()
    try:
        if not bib.install(uri, seg):
            return None
    finally:
        if enabled:
            gc.enable()
    gc.freeze()  # the records live as long as the file: later collections need not walk them again
    return digest, seg


def read_bib_path(path: Path, uri: str, cache_dir: Path | None = None, bib: BibIndex | None = None,
                  installed: tuple[str, Segment] | None = None) -> Read:
    """A .bib on disk, in whatever encoding it is in: with a cache hit it is not even scanned. With `installed`
    (install_cached's answer) and the same content, its records stay; with other content they are dropped from
    `bib` (then index_file reads them). OSError when it cannot be read."""
    try:
        stat_key: str | None = _stat_key(path)
    except OSError:
        stat_key = None
    data = path.read_bytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    text, encoding = decode_bib_bytes(data)
    del data  # the text alone from here on (peak memory)
    note = encoding_note(path, encoding)
    same = installed is not None and installed[0] == digest
    if installed is not None and not same and bib is not None:
        bib.remove_origin(uri)
    seg = installed[1] if same and installed else load_segment(cache_dir, digest)
    blocks = load_blocks(cache_dir, digest) if seg else None
    if blocks is None:
        seg = None
    doc = BibDocument(text, str(path), blocks)
    f = BibFile(uri, path, text, warnings=[note] if note else [], encoding=encoding, doc=doc)
    if same and bib is not None:
        use_doc(bib, uri, doc)
    return Read(f, digest, seg.lights() if seg else None, stat_key, same)


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _source(doc: BibDocument) -> Callable[[str], Paper | None]:
    """The full Paper of a key of this version of a file (BibIndex.paper calls it when a card shows it)."""
    def paper(key: str) -> Paper | None:
        i = doc.by_key.get(key)
        return doc.paper(i) if i is not None else None
    return paper


def use_doc(bib: BibIndex, uri: str, doc: BibDocument) -> None:
    """Cards of this file's entries are read from this version of its text from now on."""
    bib.sources[uri] = _source(doc)


def stub(doc: BibDocument, i: int, origin: str) -> BibRec:
    """A key-only record: the key completes and hovers (its card is read on demand) before the rest is read."""
    return BibRec(doc.entries[i].key, "", "", "", None, None, None, None, origin)


def light_rec(doc: BibDocument, i: int, origin: str, light: Light | None = None) -> BibRec | None:
    if light is None:
        try:
            light = doc.light(i)
        except (BadEntry, ValueError):
            return None
    key, title, short, first, year, arxiv, doi = light
    return BibRec(key, title, short, first, year, arxiv, (doi or "").lower() or None, title_name(title), origin)


def _cache_path(cache_dir: Path, digest: str, part: str = "") -> Path:
    return cache_dir / "bib" / f"{digest}{part}.pickle"


def _stat_path(cache_dir: Path, path: Path) -> Path:
    return cache_dir / "bib" / f"stat-{hashlib.blake2b(str(path).encode(), digest_size=8).hexdigest()}.txt"


def _stat_key(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"


def _load(path: Path) -> Any:
    # Millions of small objects: the cyclic GC would walk them again and again while they are made.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with path.open("rb") as f:
            return pickle.load(f)  # our own file in the user's cache dir
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, TypeError, AttributeError, IndexError):
        return None
    finally:
        if enabled:
            gc.enable()


def load_segment(cache_dir: Path | None, digest: str) -> Segment | None:
    """The records of a .bib with this content hash, when a previous start saved them."""
    if cache_dir is None:
        return None
    got = _load(_cache_path(cache_dir, digest))
    if not isinstance(got, tuple) or len(got) != 2 or got[0] != CACHE_VERSION or not isinstance(got[1], Segment):
        return None
    return got[1]


def load_blocks(cache_dir: Path | None, digest: str) -> list[RawEntry] | None:
    """The scan of a .bib with this content hash (where its entries are), when a previous start saved it."""
    if cache_dir is None:
        return None
    got = _load(_cache_path(cache_dir, digest, ".scan"))
    if not isinstance(got, tuple) or len(got) != 2 or got[0] != CACHE_VERSION:
        return None
    return [RawEntry(*e) for e in got[1]]


def load_cache(cache_dir: Path | None, digest: str) -> tuple[list[RawEntry], list[Light | None]] | None:
    """The scan and light records of a .bib with this content hash, when a previous start saved them."""
    seg = load_segment(cache_dir, digest)
    blocks = load_blocks(cache_dir, digest) if seg else None
    return (blocks, seg.lights()) if seg and blocks is not None else None


def save_cache(cache_dir: Path | None, digest: str, doc: BibDocument, lights: list[Light | None],
               path: Path | None = None, stat_key: str | None = None) -> None:
    """Save a file's scan and records under its content hash (and, for a file on disk, its size and mtime,
    so that the next start finds them without reading the file)."""
    if cache_dir is None:
        return
    target = _cache_path(cache_dir, digest)
    entries = [(e.kind, e.key, e.start, e.body, e.end, e.closer) for e in doc.blocks]
    rows: list[Row | None] = []
    for n, light in enumerate(lights):
        r = light_rec(doc, n, "", light) if light else None
        rows.append(rec_row(r) if r else None)
    seg = Segment(rows)
    try:
        write_atomic(_cache_path(cache_dir, digest, ".scan"),
                     pickle.dumps((CACHE_VERSION, entries), protocol=pickle.HIGHEST_PROTOCOL))
        write_atomic(target, pickle.dumps((CACHE_VERSION, seg), protocol=pickle.HIGHEST_PROTOCOL))
        if path is not None and stat_key is not None:
            write_atomic(_stat_path(cache_dir, path), f"{stat_key} {digest}".encode())
        old = sorted(target.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in old[2 * CACHE_FILES:]:
            p.unlink(missing_ok=True)
    except OSError as e:  # a read-only cache costs the next start time, nothing else
        log.info("%s: cannot save the parsed .bib (%s)", target, e)


def cached_digest(cache_dir: Path | None, path: Path) -> str | None:
    """The content hash saved for this file when its size, mtime and inode are unchanged since (no read)."""
    if cache_dir is None:
        return None
    try:
        key, digest = _stat_path(cache_dir, path).read_text().rsplit(" ", 1)
        return digest if key == _stat_key(path) else None
    except (OSError, ValueError):
        return None


def _own(bib: BibIndex, key: str, origin: str) -> bool:
    """The index holds this key from this file (not from another file that defines it too)."""
    i = bib.key_id(key)
    return i is not None and bib.rec(i).origin == origin


def add_stubs(f: BibFile, bib: BibIndex) -> None:
    """Key-only records for every entry: each key completes and hovers now; index_file reads the rest later."""
    use_doc(bib, f.uri, f.doc)
    bib.add_keys(f.uri, [e.key for e in f.doc.entries])


def index_file(f: BibFile, bib: BibIndex, cache_dir: Path | None = None, digest: str | None = None,
               lights: list[Light | None] | None = None, still_wanted: Callable[[], bool] = lambda: True,
               stat_key: str | None = None) -> None:
    """Put a file's entries into the index: from cached light records, else key-only records first and then
    light ones (saved to the cache when a digest is given). Runs in a worker thread; the index's lock is held
    one batch at a time."""
    t0 = time.perf_counter()
    doc = f.doc
    n = len(doc.entries)
    use_doc(bib, f.uri, doc)
    # Keys that left the file go; the others keep answering from their old record until the new one is in.
    gone = bib.origin_keys(f.uri) - set(doc.by_key)
    with bib.lock:
        for k in gone:
            bib.remove(k)
    if lights is not None and len(lights) == n:
        for a in range(0, n, BATCH):
            with bib.lock:
                for i in range(a, min(n, a + BATCH)):
                    r = light_rec(doc, i, f.uri, lights[i]) if lights[i] else None
                    if r is not None:
                        bib.replace(r)
                    elif _own(bib, doc.entries[i].key, f.uri):
                        # An entry that is not a paper (no title) is left to Bibs.bare_keys.
                        bib.remove(doc.entries[i].key)
                bib.settle()
        log.info("%s: %d entries from the cache in %.2fs", f.uri, n, time.perf_counter() - t0)
        return
    bib.add_keys(f.uri, [e.key for e in doc.entries])
    out: list[Light | None] = []
    for a in range(0, n, BATCH):
        if not still_wanted():
            return
        batch: list[tuple[int, Light | None]] = []
        for i in range(a, min(n, a + BATCH)):
            try:
                batch.append((i, doc.light(i)))
            except (BadEntry, ValueError):
                batch.append((i, None))
        with bib.lock:
            for i, light in batch:
                if light is not None and (r := light_rec(doc, i, f.uri, light)) is not None:
                    bib.replace(r)
                elif _own(bib, doc.entries[i].key, f.uri):
                    bib.remove(doc.entries[i].key)  # not a paper: Bibs.bare_keys offers it where it is loaded
            bib.settle()
        out.extend(x for _, x in batch)
    if digest is not None:
        save_cache(cache_dir, digest, doc, out, f.path, stat_key)
    gc.freeze()  # a large file's records stay: later collections need not walk them again (request latency)
    log.info("%s: %d entries read in %.2fs", f.uri, n, time.perf_counter() - t0)


def workspace_bibs(root: Path | None, limit: int) -> list[Path]:
    """The workspace's .bib files (hidden folders and node_modules aside), at most `limit`."""
    if root is None or not root.is_dir():
        return []
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        for name in sorted(filenames):
            if name.endswith(".bib") and not name.startswith("."):
                out.append(Path(dirpath) / name)
                if len(out) >= limit:
                    return out
    return out
