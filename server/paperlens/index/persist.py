"""Saving and memory-mapping an index: the columns of `columns.Columns`, field by field, by their type.

A saved index is a directory: one or two `.npy` files per column, `papers.jsonl` (the records), `repos.json` and
`meta.json` (format version and paper count, written last). Every file is fsynced and the directory is renamed into
place, so a crash leaves either the old index or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import time
import typing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from paperlens.core.model import repo_from_json, repo_to_json
from paperlens.index.columns import FORMAT_VERSION, Columns
from paperlens.index.core import Index
from paperlens.index.store import Bloom, Postings, StrArray, load_mapped

log = logging.getLogger(__name__)
_KINDS: dict[str, type] = {}


def _kind(name: str) -> type:
    """The storage kind of a column: StrArray, Postings, Bloom, else a numpy array."""
    if not _KINDS:
        hints = typing.get_type_hints(Columns)
        for f in hints:
            h = hints[f]
            _KINDS[f] = h if h in (StrArray, Postings, Bloom) else np.ndarray
    return _KINDS[name]


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _link_or_copy(src: Path, dst: Path) -> None:
    """dst as a second name of src (a big build's records file, ~2.5 GB at a million papers, written once and
    never changed after: copying it cost the build tens of seconds and the disk twice the bytes), else a copy
    (another file system)."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


WRITERS = 2  # threads writing a segment's columns (a big build's last step: ~1 GB at a million papers)


def write_columns(cols: Columns, d: Path) -> None:
    """Write every column, the records, the repos and then meta.json into the (empty) directory d, durably.
    The columns on WRITERS threads: writing an array (a copy into the page cache) and fsync leave the GIL, and
    the other core is idle by then."""

    def column(name: str) -> None:
        value = getattr(cols, name)
        if _kind(name) is np.ndarray:
            np.save(d / f"{name}.npy", value)
        else:
            value.save(d, name)

    with ThreadPoolExecutor(WRITERS, thread_name_prefix="index-write") as pool:
        list(pool.map(column, cols.column_names()))
        if isinstance(cols.records, bytes):
            (d / "papers.jsonl").write_bytes(cols.records)
        else:
            _link_or_copy(cols.records, d / "papers.jsonl")
        (d / "repos.json").write_text(json.dumps([repo_to_json(r) for r in cols.repos.values()]))
        list(pool.map(fsync_file, list(d.iterdir())))
    (d / "meta.json").write_text(json.dumps({"version": FORMAT_VERSION, "papers": cols.n, "saved": time.time()}))
    fsync_file(d / "meta.json")
    fsync_dir(d)


def read_columns(d: Path) -> dict[str, Any]:
    """The fields of a saved Columns, memory-mapped; raises ValueError when missing, damaged or of another
    version."""
    try:
        meta = json.loads((d / "meta.json").read_text())
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"{d}: index format {meta.get('version')}, expected {FORMAT_VERSION}")
        out: dict[str, Any] = {"n": int(meta["papers"])}
        for name in Columns.column_names():
            kind = _kind(name)
            out[name] = load_mapped(d / f"{name}.npy") if kind is np.ndarray else \
                kind.load(d, name)  # type: ignore[attr-defined]
        out["records"] = d / "papers.jsonl"
        out["repos"] = {r.full_name.lower(): r for r in map(repo_from_json, json.loads((d / "repos.json").read_text()))}
    except (OSError, KeyError, json.JSONDecodeError) as e:
        raise ValueError(f"{d}: cannot load index ({e})") from e
    if len(out["keys"]) != out["n"]:
        raise ValueError(f"{d}: index is damaged (papers {out['n']} != keys {len(out['keys'])})")
    return out


def save_index(cols: Columns, path: Path) -> None:
    """Write atomically: build in a sibling temp dir, then swap it in."""
    path = Path(path)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    write_columns(cols, tmp)
    old = path.with_name(path.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    fsync_dir(path.parent)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def load_index(path: Path) -> Index:
    """Memory-map a saved index; raises ValueError when it is missing, damaged or of another version."""
    return Index(**read_columns(Path(path)))


# ------------------------------------------------------------------ index directories in use
#
# Every process that memory-maps an index directory holds a shared lock on its `.in-use` file (and on each of
# its segments', see segments.py) for as long as it uses it (the open files are kept on the Segments).
# Pruning deletes a directory only under an exclusive lock, which it gets only when no process holds a shared
# one: a refresh in one window (or the CLI) never deletes the index another window is serving from.

IN_USE = ".in-use"


def flock(f: Any, exclusive: bool) -> bool:
    """flock the file (non-blocking when exclusive); False when another process holds it. No locks without
    fcntl (Windows): there nothing is ever pruned."""
    try:
        import fcntl
    except ImportError:
        return not exclusive
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB if exclusive else fcntl.LOCK_SH)
        return True
    except OSError:
        return False


def remove_unless_in_use(d: Path) -> bool:
    """Delete directory d unless a process holds its `.in-use` (then False): renamed away first, so that no one
    opens it half-deleted."""
    try:
        f = open(d / IN_USE, "ab")
    except OSError:
        return False
    with f:
        if not flock(f, exclusive=True):
            return False  # another process uses it
        trash = d.with_name(f"{d.name}.old{os.getpid()}")
        try:
            d.rename(trash)
        except OSError:
            return False
    shutil.rmtree(trash, ignore_errors=True)
    return True


def prune(cache: Path, keep: str) -> None:
    """Delete the index directories no process uses (the current one aside), and what killed builds left."""
    for d in cache.glob("index-*"):
        if d.name != keep and d.is_dir() and ".tmp" not in d.name and _LEFTOVER.fullmatch(d.name) is None:
            remove_unless_in_use(d)
    remove_leftovers(cache)


_LEFTOVER = re.compile(r"index-[0-9a-f]+\.(?:tmp|old)(\d+)|records-(\d+)-.*")


def remove_leftovers(cache: Path) -> None:
    """Delete the temp directories (`index-*.tmp<pid>`, `.old<pid>`) and records files (`records-<pid>-*`) of
    builds whose process is gone: a build killed at 1M papers leaves gigabytes there."""
    try:
        entries = list(cache.iterdir())
    except OSError:
        return
    for e in entries:
        m = _LEFTOVER.fullmatch(e.name)
        if m is None or _alive(int(m.group(1) or m.group(2))):
            continue
        if e.is_dir():
            shutil.rmtree(e, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                e.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # (another user's process: alive)
        return True
    return True
