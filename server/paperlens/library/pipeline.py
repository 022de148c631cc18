"""Where papers come from and where they are kept: the shipped snapshot, feed files, refreshes, the index."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast
from urllib.parse import urlparse

from paperlens.core.config import Settings
from paperlens.core.model import Library, Paper, Repo, repo_from_json, repo_to_json
from paperlens.core.text import norm_name
from paperlens.index.aliases import paper_aliases
from paperlens.index.core import FORMAT_VERSION, Index
from paperlens.index.keys import last_name
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import STREAM_BYTES, iter_feed_file, read_feed_file

log = logging.getLogger(__name__)

LIBRARY_VERSION = 1


def snapshot_file() -> Path:
    """The shipped snapshot (`cache/papers.json`), in a source checkout or an installed package."""
    cand = Path(__file__).resolve().parents[3] / "cache" / "papers.json"
    if cand.is_file():
        return cand
    res = importlib.resources.files("paperlens.snapshot") / "papers.json"
    return Path(str(res))


def is_url(feed: str) -> bool:
    return urlparse(feed).scheme in ("http", "https")


# ------------------------------------------------------------------ library files


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


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file in the same folder, then rename: a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_library(lib: Library, path: Path) -> None:
    write_atomic(path, json.dumps(library_to_json(lib), ensure_ascii=False).encode("utf-8"))


# ------------------------------------------------------------------ merging


def paper_identity(p: Paper) -> str:
    return f"arxiv:{p.arxiv_id}" if p.arxiv_id else f"title:{norm_name(p.title)}"


def _first_author(p: Paper) -> str:
    return last_name(p.authors[0]) if p.authors else ""


def _doi(p: Paper) -> str:
    return (p.doi or "").strip().lower()


def same_paper(a: Paper, b: Paper) -> bool:
    """Two records of one work: the same arXiv id or DOI, or the same title with no contradicting year or first
    author. Two .bib entries with different keys are always two papers (the user keeps both keys)."""
    if a.bib_key and b.bib_key and a.bib_key != b.bib_key:
        return False
    if a.arxiv_id and a.arxiv_id == b.arxiv_id:
        return True
    if _doi(a) and _doi(a) == _doi(b):
        return True
    if a.arxiv_id and b.arxiv_id:
        return False
    if norm_name(a.title) != norm_name(b.title) or not norm_name(a.title):
        return False
    if a.year and b.year and a.year != b.year:  # "Exercise and mental health" (2017) is not the 1990 one
        return False
    fa, fb = _first_author(a), _first_author(b)
    return not (fa and fb and fa != fb)


def merge_papers(*sources: Iterable[Paper]) -> list[Paper]:
    """One paper per work (`same_paper`), in first-seen order; later sources fill and override earlier ones'
    fields. Every .bib entry stays its own paper."""
    out: list[Paper] = []
    by_arxiv: dict[str, int] = {}
    by_doi: dict[str, int] = {}
    by_title: dict[str, list[int]] = {}

    def note(i: int) -> None:
        q = out[i]
        if q.arxiv_id:
            by_arxiv.setdefault(q.arxiv_id, i)
        if _doi(q):
            by_doi.setdefault(_doi(q), i)
        ids = by_title.setdefault(norm_name(q.title), [])
        if i not in ids:
            ids.append(i)

    for src in sources:
        for p in src:
            cands = [by_arxiv.get(p.arxiv_id or ""), by_doi.get(_doi(p))] + by_title.get(norm_name(p.title), [])
            i = next((c for c in cands if c is not None and same_paper(out[c], p)), None)
            if i is None:
                out.append(p)
                note(len(out) - 1)
                continue
            changes = {f.name: getattr(p, f.name) for f in dataclasses.fields(Paper)
                       if getattr(p, f.name) not in (None, "", (), 0)}
            out[i] = dataclasses.replace(out[i], **changes)
            note(i)
    return out


def enrich_from_repo(p: Paper, repo: Repo, sharing: int) -> Paper:
    """README BibTeX gives real author names (the feed often has only a count) and the arXiv id."""
    matches = (
        (p.arxiv_id and p.arxiv_id in repo.readme_arxiv_ids)
        or (repo.readme_title and norm_name(repo.readme_title) == norm_name(p.title))
        or (sharing == 1 and repo.readme_title and norm_name(p.title)[:20] == norm_name(repo.readme_title)[:20])
    )
    if not matches:
        return p
    changes: dict[str, Any] = {}
    if not p.authors and repo.readme_authors:
        changes["authors"] = repo.readme_authors
    if not p.arxiv_id and len(repo.readme_arxiv_ids) == 1:
        changes["arxiv_id"] = repo.readme_arxiv_ids[0]
    return dataclasses.replace(p, **changes) if changes else p


def apply_repos(papers: list[Paper], repos: dict[str, Repo]) -> list[Paper]:
    counts: dict[str, int] = {}
    for p in papers:
        if p.repo:
            counts[p.repo.lower()] = counts.get(p.repo.lower(), 0) + 1
    out = []
    for p in papers:
        r = repos.get(p.repo.lower()) if p.repo else None
        out.append(enrich_from_repo(p, r, counts[p.repo.lower()]) if r and p.repo else p)
    return out


# ------------------------------------------------------------------ loading


@dataclass
class Loaded:
    index: Index
    library_source: str
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # feeds left out (skip_bad): file and reason


def library_path(settings: Settings) -> Path:
    return settings.cache_path / "library.json"


def _big(path: Path) -> bool:
    try:
        return path.suffix.lower() == ".json" and path.stat().st_size > STREAM_BYTES
    except OSError:
        return False


def _base_library(settings: Settings) -> tuple[Library, str, list[str]]:
    """The refreshed library if there is one, else the shipped snapshot."""
    warnings: list[str] = []
    lp = library_path(settings)
    if lp.is_file():
        try:
            return read_library(lp), str(lp), warnings
        except FeedError as e:
            warnings.append(f"{e}; using the shipped snapshot")
    return read_library(snapshot_file()), str(snapshot_file()), warnings


def load_library(settings: Settings, extra_feeds: Iterable[str] = (), errors: list[str] | None = None
                 ) -> tuple[Library, str, list[str]]:
    """The refreshed library (else the shipped snapshot) merged with the local feed files, in memory.
    With `errors`, a feed that cannot be read is left out and its FeedError message goes there."""
    lib, source, warnings = _base_library(settings)
    warnings.extend(lib.warnings)
    papers = [lib.papers]
    for feed in [*settings.feeds, *extra_feeds]:
        if is_url(feed):
            continue  # fetched by `refresh`; its papers are in the refreshed library
        try:
            fp, fw = read_feed_file(Path(feed).expanduser())
        except FeedError as e:
            if errors is None:
                raise
            errors.append(str(e))
            continue
        warnings.extend(fw)
        papers.append(fp)
    merged = Library(papers=apply_repos(merge_papers(*papers), lib.repos), repos=lib.repos)
    return merged, source, warnings


def _stream_papers(small: list[Paper], big: list[Path], repos: dict[str, Repo], warnings: list[str]
                   ) -> Iterator[Paper]:
    """The big feeds' papers one at a time, merged with the small set and de-duplicated (by 64-bit hashes of
    identities, so a million papers cost a few tens of MB)."""
    by_ident = {paper_identity(p): p for p in small}
    by_title = {norm_name(p.title): paper_identity(p) for p in small}
    seen: set[int] = set()

    def h(s: str) -> int:
        return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")

    for path in big:
        for p in iter_feed_file(path, warnings):
            ident, title = paper_identity(p), norm_name(p.title)
            hi, ht = h(ident), h("t:" + title)
            if hi in seen or ht in seen:
                continue
            seen.update((hi, ht))
            own = by_ident.pop(ident, None) or by_ident.pop(by_title.get(title, ""), None)
            if own is not None:
                p = merge_papers([own], [p])[0]
            r = repos.get(p.repo.lower()) if p.repo else None
            yield enrich_from_repo(p, r, 2) if r else p
    yield from by_ident.values()


def _fingerprint(paths: Iterable[Path]) -> str:
    h = hashlib.sha256(str(FORMAT_VERSION).encode())
    for p in paths:
        try:
            st = p.stat()
            h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"{p}:missing".encode())
    return h.hexdigest()[:16]


def open_index(settings: Settings, extra_feeds: Iterable[str] = (), *, skip_bad: bool = False) -> Loaded:
    """Load the persisted index when its sources are unchanged, else build it (and persist it).

    skip_bad (the server): a feed file that cannot be read is left out and named in `Loaded.errors`, so one
    bad file never costs the others; the CLI keeps the default and stops with the FeedError's one line."""
    extra = list(extra_feeds)
    errors: list[str] | None = [] if skip_bad else None
    lp = library_path(settings)
    srcs = [lp if lp.is_file() else snapshot_file()]
    srcs += [Path(f).expanduser() for f in [*settings.feeds, *extra] if not is_url(f)]
    fp = _fingerprint(srcs)
    ipath = settings.cache_path / f"index-{fp}"
    if ipath.is_dir():
        loaded = _load_pinned(ipath, str(srcs[0]))
        if loaded is not None:
            # Files that failed when this index was built (and have not changed since) are still left out.
            loaded.errors = _saved_errors(ipath) if skip_bad else []
            return loaded
    feeds = [Path(f).expanduser() for f in [*settings.feeds, *extra] if not is_url(f)]
    big = [f for f in feeds if _big(f)]
    if not big:
        lib, source, warnings = load_library(settings, extra, errors)
        ix = Index.build(lib)
        try:
            _save_index(ix, ipath)
            if errors:
                (ipath / "feed-errors.json").write_text(json.dumps(errors), encoding="utf-8")
            _prune_indexes(settings.cache_path, keep=ipath.name)
        except OSError as e:  # a read-only cache dir costs speed, not correctness
            warnings.append(f"{ipath}: cannot save the index ({e})")
        return Loaded(ix, source, warnings, errors or [])
    # A large feed is streamed: papers go to a records file as they come, and the saved index is then
    # memory-mapped, so what stays in memory is the index's columns, not the papers.
    small_settings = dataclasses.replace(settings, feeds=tuple(str(f) for f in feeds if f not in big))
    lib, source, warnings = load_library(small_settings, (), errors)
    settings.cache_path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix="records-", dir=settings.cache_path) as rec:
        stream = _stream_papers(lib.papers, big, lib.repos, warnings)
        ix = Index.build_stream(stream, lib.repos, cast(BinaryIO, rec))
        _save_index(ix, ipath)
    _prune_indexes(settings.cache_path, keep=ipath.name)
    loaded = _load_pinned(ipath, source)
    if loaded is None:
        raise FeedError(f"{ipath}: the index vanished while it was being opened")
    loaded.warnings.extend(warnings)
    loaded.errors = errors or []
    return loaded


def _saved_errors(ipath: Path) -> list[str]:
    try:
        data = json.loads((ipath / "feed-errors.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


# ------------------------------------------------------------------ index directories in use
#
# Every process that memory-maps an index directory holds a shared lock on its `.in-use` file for as long as
# the Index lives (the open file is kept on the Index). Pruning deletes a directory only under an exclusive
# lock, which it gets only when no process holds a shared one: a refresh in one window (or the CLI) never
# deletes the index another window is serving from.

IN_USE = ".in-use"


def _lock(f: Any, exclusive: bool) -> bool:
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


def _load_pinned(ipath: Path, source: str) -> Loaded | None:
    """Load the index in ipath holding its shared lock; None when it is gone or damaged (then rebuild)."""
    try:
        pin = open(ipath / IN_USE, "ab")  # kept open for the Index's lifetime
    except OSError:
        return None
    if not _lock(pin, exclusive=False) or not (ipath / "meta.json").is_file():  # pruned meanwhile
        pin.close()
        return None
    try:
        ix = Index.load(ipath)
    except ValueError as e:
        log.warning("%s; rebuilding", e)
        pin.close()
        return None
    ix.pin = pin  # type: ignore[attr-defined]
    return Loaded(ix, source)


def _save_index(ix: Index, ipath: Path) -> None:
    """Persist ix as ipath, unless a process is using an index already there (same sources: same data)."""
    ipath.parent.mkdir(parents=True, exist_ok=True)
    if not ipath.exists():
        ix.save(ipath)
        return
    with open(ipath / IN_USE, "ab") as f:
        if _lock(f, exclusive=True):
            ix.save(ipath)


def _prune_indexes(cache: Path, keep: str) -> None:
    """Delete the index directories no process uses (the current one aside)."""
    import shutil

    for d in cache.glob("index-*"):
        if d.name == keep or not d.is_dir() or ".tmp" in d.name:
            continue
        try:
            f = open(d / IN_USE, "ab")
        except OSError:
            continue
        with f:
            if not _lock(f, exclusive=True):
                continue  # another process serves from it
            trash = d.with_name(f"{d.name}.old{os.getpid()}")
            try:
                d.rename(trash)
            except OSError:
                continue
            shutil.rmtree(trash, ignore_errors=True)


def aliases_for_repo(papers: Iterable[Paper], full_name: str) -> list[str]:
    """Method names of the papers that link a repo: they choose which source files to read for classes."""
    out: list[str] = []
    for p in papers:
        if p.repo and p.repo.lower() == full_name.lower():
            out.extend(a.display for a in paper_aliases(p, None))
    return out
