"""Loading the workspace's .bib files into the BibIndex, off the request path (no pygls here).

A file is read, decoded (its own encoding) and scanned; its keys are indexed at once (key-only records), then
each entry's light record (title, first author, year, ids) replaces its key-only one. Light records are cached by
the file's content hash, so the next start indexes a 72,000-entry library without reading one field.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path

from paperlens.features.bib import BibFile
from paperlens.index.aliases import title_name
from paperlens.index.bibindex import BibIndex, BibRec
from paperlens.library.store import write_atomic
from paperlens.sources.bibraw import BadEntry, RawEntry
from paperlens.sources.bibtex import BibDocument, decode_bib_bytes, encoding_note

log = logging.getLogger(__name__)

CACHE_VERSION = 1
CACHE_FILES = 16  # parsed .bib files kept in the cache dir
BATCH = 256  # records added per lock hold: a request never waits long for the index

Light = tuple[str, str, str, str, int | None, str | None, str | None]


def read_bib_path(path: Path, uri: str, cache_dir: Path | None = None
                  ) -> tuple[BibFile, str, list[Light | None] | None]:
    """(BibFile, content hash, cached light records or None) of a .bib on disk, in whatever encoding it is in.
    With a cache hit the file is not even scanned. OSError when it cannot be read."""
    data = path.read_bytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    text, encoding = decode_bib_bytes(data)
    note = encoding_note(path, encoding)
    cached = load_cache(cache_dir, digest)
    doc = BibDocument(text, str(path), cached[0] if cached else None)
    return (BibFile(uri, path, text, warnings=[note] if note else [], encoding=encoding, doc=doc), digest,
            cached[1] if cached else None)


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _loader(doc: BibDocument, i: int) -> Callable[[], object]:
    return lambda: doc.paper(i)


def stub(doc: BibDocument, i: int, origin: str) -> BibRec:
    """A key-only record: the key completes and hovers (its card is read on demand) before the rest is read."""
    e = doc.entries[i]
    return BibRec(e.key, "", "", "", None, None, None, None, origin, _loader(doc, i))  # type: ignore[arg-type]


def light_rec(doc: BibDocument, i: int, origin: str, light: Light | None = None) -> BibRec | None:
    if light is None:
        try:
            light = doc.light(i)
        except (BadEntry, ValueError):
            return None
    key, title, short, first, year, arxiv, doi = light
    return BibRec(key, title, short, first, year, arxiv, (doi or "").lower() or None, title_name(title), origin,
                  _loader(doc, i))  # type: ignore[arg-type]


def _cache_path(cache_dir: Path, digest: str) -> Path:
    return cache_dir / "bib" / f"{digest}.pickle"


def load_cache(cache_dir: Path | None, digest: str) -> tuple[list[RawEntry], list[Light | None]] | None:
    """The scan and light records of a .bib with this content hash, when a previous start saved them."""
    if cache_dir is None:
        return None
    try:
        with _cache_path(cache_dir, digest).open("rb") as f:
            version, entries, lights = pickle.load(f)  # our own file in the user's cache dir
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, TypeError, AttributeError):
        return None
    if version != CACHE_VERSION:
        return None
    return [RawEntry(*e) for e in entries], lights


def save_cache(cache_dir: Path | None, digest: str, doc: BibDocument, lights: list[Light | None]) -> None:
    if cache_dir is None:
        return
    path = _cache_path(cache_dir, digest)
    entries = [(e.kind, e.key, e.start, e.body, e.end, e.closer) for e in doc.blocks]
    try:
        write_atomic(path, pickle.dumps((CACHE_VERSION, entries, lights), protocol=pickle.HIGHEST_PROTOCOL))
        old = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in old[CACHE_FILES:]:
            p.unlink(missing_ok=True)
    except OSError as e:  # a read-only cache costs the next start time, nothing else
        log.info("%s: cannot save the parsed .bib (%s)", path, e)


def _own(bib: BibIndex, key: str, origin: str) -> bool:
    """The index holds this key from this file (not from another file that defines it too)."""
    i = bib.key_id(key)
    return i is not None and bib.rec(i).origin == origin


def add_stubs(f: BibFile, bib: BibIndex) -> None:
    """Key-only records for every entry: each key completes and hovers now; index_file reads the rest later."""
    with bib.lock:
        for i in range(len(f.doc.entries)):
            bib.add(stub(f.doc, i, f.uri))


def index_file(f: BibFile, bib: BibIndex, cache_dir: Path | None = None, digest: str | None = None,
               lights: list[Light | None] | None = None, still_wanted: Callable[[], bool] = lambda: True) -> None:
    """Put a file's entries into the index: from cached light records, else key-only records first and then
    light ones (saved to the cache when a digest is given). Runs in a worker thread; the index's lock is held
    one batch at a time."""
    t0 = time.perf_counter()
    doc = f.doc
    n = len(doc.entries)
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
        log.info("%s: %d entries from the cache in %.2fs", f.uri, n, time.perf_counter() - t0)
        return
    for a in range(0, n, BATCH * 4):
        with bib.lock:
            for i in range(a, min(n, a + BATCH * 4)):
                if bib.key_id(doc.entries[i].key) is None:
                    bib.add(stub(doc, i, f.uri))
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
        out.extend(x for _, x in batch)
    if digest is not None:
        save_cache(cache_dir, digest, doc, out)
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
