"""Where the library is kept: the shipped snapshot, the refreshed `library.json`, and atomic file writes."""

from __future__ import annotations

import importlib.resources
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from paperlens.core.config import Settings
from paperlens.core.model import Library, Paper, repo_from_json, repo_to_json
from paperlens.sources.errors import FeedError

LIBRARY_VERSION = 1


def snapshot_file() -> Path:
    """The shipped snapshot (`cache/papers.json`), in a source checkout or an installed package."""
    cand = Path(__file__).resolve().parents[3] / "cache" / "papers.json"
    if cand.is_file():
        return cand
    res = importlib.resources.files("paperlens.snapshot") / "papers.json"
    return Path(str(res))


def library_path(settings: Settings) -> Path:
    """The refreshed library: what `refresh` fetched (feeds from URLs and repos), not the local feed files."""
    return settings.cache_path / "library.json"


def base_path(settings: Settings) -> Path:
    """The refreshed library if there is one, else the shipped snapshot."""
    lp = library_path(settings)
    return lp if lp.is_file() else snapshot_file()


def library_to_json(lib: Library) -> dict[str, Any]:
    return {"version": LIBRARY_VERSION, "papers": [p.to_json() for p in lib.papers],
            "repos": [repo_to_json(r) for r in lib.repos.values()]}


def library_from_json(data: Any, source: str) -> Library:
    if not isinstance(data, dict) or not isinstance(data.get("papers"), list):
        raise FeedError(f"{source}: not a PaperLens library file (no 'papers' list)")
    lib = Library()
    for n, d in enumerate(data["papers"]):
        try:
            lib.papers.append(Paper.from_json(d))
        except (TypeError, ValueError) as e:
            lib.warnings.append(f"{source}: paper #{n + 1} skipped ({e})")
    for d in data.get("repos", []):
        try:
            r = repo_from_json(d)
            lib.repos[r.full_name.lower()] = r
        except (TypeError, ValueError) as e:
            lib.warnings.append(f"{source}: repo entry skipped ({e})")
    return lib


def read_library(path: Path) -> Library:
    try:
        return library_from_json(json.loads(path.read_text(encoding="utf-8")), str(path))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FeedError(f"{path}: cannot read library ({e})") from e


def read_base_library(settings: Settings) -> tuple[Library, str]:
    """The refreshed library, else the shipped snapshot (a damaged library.json is named in the warnings)."""
    lp = library_path(settings)
    if lp.is_file():
        try:
            return read_library(lp), str(lp)
        except FeedError as e:
            lib = read_library(snapshot_file())
            lib.warnings.insert(0, f"{e}; using the shipped snapshot")
            return lib, str(snapshot_file())
    return read_library(snapshot_file()), str(snapshot_file())


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, flush it to disk, then rename: a crash never leaves half a
    file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_library(lib: Library, path: Path) -> None:
    write_atomic(path, json.dumps(library_to_json(lib), ensure_ascii=False).encode("utf-8"))
