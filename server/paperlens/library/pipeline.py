"""Where papers come from: the one owner of loading (library + local feed files -> index) and refreshing
(feeds from URLs + GitHub repos -> library.json -> index).

The data path, once each: `store` says where the refreshed library (else the snapshot) is kept; local feed files
are merged into it in memory when the index is built (never written into library.json); `merge` makes one paper
per work; the index (`paperlens.index`) is built, persisted and memory-mapped by `open_index`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
import json
import logging
import os
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from paperlens.core.config import Settings
from paperlens.core.model import Library, Paper, Repo
from paperlens.core.text import norm_name
from paperlens.index import dense, segments, semantic
from paperlens.index.aliases import paper_aliases
from paperlens.index.build import return_freed_memory
from paperlens.index.columns import FORMAT_VERSION
from paperlens.index.core import Index
from paperlens.index.persist import prune, remove_leftovers
from paperlens.index.segments import Segments
from paperlens.library.background import run_build
from paperlens.library.feedstream import FeedStream
from paperlens.library.merge import apply_repos, enrich_from_repo, merge_papers, paper_identity
from paperlens.library.store import (
    base_path,
    library_path,
    read_base_library,
    read_library,
    snapshot_file,
    write_library,
)
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import STREAM_BYTES, iter_feed_file, read_feed_file
from paperlens.sources.github import fetch_repo
from paperlens.sources.hf_api import daily_papers_url, fetch_feed_url
from paperlens.sources.http import HttpClient

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]
# Sources larger than this (library.json and the local feed files: ~5,000 papers, seconds of CPU) are built in a
# child process (library/background.py) while the server answers from the index it has; smaller ones at once.
BACKGROUND_BYTES = STREAM_BYTES
# Repos a refresh fetches besides those of the papers it fetched: GitHub allows 5,000 requests an hour with a token
# (a repo costs 3-6), and a library of a million papers links ~400,000 repos; the others come round in rotation.
REPOS_PER_REFRESH = 1000
ROTATION_FILE = "repo-rotation.json"


def is_url(feed: str) -> bool:
    return urlparse(feed).scheme in ("http", "https")


def local_feeds(settings: Settings, extra: Iterable[str] = ()) -> list[Path]:
    """The configured feed files (feeds given as URLs are fetched by `refresh` into library.json)."""
    return [Path(f).expanduser() for f in [*settings.feeds, *extra] if not is_url(f)]


def _read_feeds(paths: Iterable[Path], warnings: list[str], errors: list[str] | None) -> list[list[Paper]]:
    """Each feed file's papers. With `errors`, a file that cannot be read is left out and its FeedError message
    goes there; without, the FeedError is raised."""
    out = []
    for path in paths:
        try:
            papers, fw = read_feed_file(path)
        except FeedError as e:
            if errors is None:
                raise
            errors.append(str(e))
            continue
        warnings.extend(fw)
        out.append(papers)
    return out


# ------------------------------------------------------------------ loading


@dataclass
class Loaded:
    index: Segments
    library_source: str
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # feeds left out (skip_bad): file and reason


def load_library(settings: Settings, extra_feeds: Iterable[str] = (), errors: list[str] | None = None
                 ) -> tuple[Library, str, list[str]]:
    """The refreshed library (else the shipped snapshot) merged with the local feed files, in memory.
    With `errors`, a feed that cannot be read is left out and its FeedError message goes there."""
    lib, source = read_base_library(settings)
    warnings = list(lib.warnings)
    papers = [lib.papers, *_read_feeds(local_feeds(settings, extra_feeds), warnings, errors)]
    merged = Library(papers=apply_repos(merge_papers(*papers), lib.repos), repos=lib.repos)
    return merged, source, warnings


def _big(path: Path) -> bool:
    try:
        return path.suffix.lower() == ".json" and path.stat().st_size > STREAM_BYTES
    except OSError:
        return False


def _fingerprint(paths: Iterable[Path]) -> str:
    h = hashlib.sha256(str(FORMAT_VERSION).encode())
    snapshot = snapshot_file()
    for p in paths:
        try:
            if p == snapshot:  # by content (~140 KB with its vectors): the same snapshot wherever it is installed
                for f in sorted(p.parent.glob("vectors-*.npz")) + [p]:
                    h.update(f.name.encode() + hashlib.sha256(f.read_bytes()).digest())
                continue
            st = p.stat()
            h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        except OSError:
            h.update(f"{p}:missing".encode())
    return h.hexdigest()[:16]


def sources_fingerprint(settings: Settings, extra_feeds: Iterable[str] = ()) -> str:
    """What an index answers for: the refreshed library (else the snapshot) and the local feed files."""
    return _fingerprint([base_path(settings), *local_feeds(settings, extra_feeds)])


def find_index(cache: Path, fp: str) -> Path | None:
    """The index directory that answers for these sources: index-<fp>, or one a refresh grew to them."""
    cands = [cache / f"index-{fp}", *sorted(cache.glob("index-*"))]
    for d in cands:
        m = segments.read_manifest(d) if d.is_dir() and ".tmp" not in d.name and ".old" not in d.name else None
        if m is not None and m.sources == fp:
            return d
    return None


def open_built(settings: Settings, extra_feeds: Iterable[str] = (), *, skip_bad: bool = False) -> Loaded | None:
    """The persisted index of these sources, memory-mapped; None when there is none (it must be built)."""
    found = find_index(settings.cache_path, sources_fingerprint(settings, extra_feeds))
    segs = segments.open_segments(found) if found is not None else None
    if found is None or segs is None:
        return None
    # Files that failed when this index was built (and have not changed since) are still left out.
    return Loaded(segs, str(base_path(settings)), errors=_saved_errors(found) if skip_bad else [])


def open_previous(settings: Settings) -> Loaded:
    """What the server answers from while the index of its sources is built: the newest index in the cache (of
    the sources before the feeds changed, or before a refresh), else the shipped snapshot."""
    def saved(d: Path) -> float:
        try:
            return (d / "manifest.json").stat().st_mtime
        except OSError:
            return 0.0

    cache = settings.cache_path
    dirs = [d for d in cache.glob("index-*") if d.is_dir() and ".tmp" not in d.name and ".old" not in d.name]
    for d in sorted(dirs, key=saved, reverse=True):
        segs = segments.open_segments(d)
        if segs is not None:
            return Loaded(segs, str(d))
    lib = read_library(snapshot_file())
    return Loaded(Segments([Index.build(lib)]), str(snapshot_file()), list(lib.warnings))


def builds_long(settings: Settings, extra_feeds: Iterable[str] = ()) -> bool:
    """Whether building these sources takes long enough (more than BACKGROUND_BYTES of library and feed files,
    seconds to minutes) to be run in a child process while the server answers from what it has."""
    total = 0
    for path in [base_path(settings), *local_feeds(settings, extra_feeds)]:
        try:
            total += path.stat().st_size
        except OSError:
            continue
    return total > background_bytes()


def background_bytes() -> int:
    """BACKGROUND_BYTES, or $PAPERLENS_BACKGROUND_BUILD_BYTES (the tests make small feeds build in the child)."""
    try:
        return int(os.environ.get("PAPERLENS_BACKGROUND_BUILD_BYTES", BACKGROUND_BYTES))
    except ValueError:
        return BACKGROUND_BYTES


def open_index(settings: Settings, extra_feeds: Iterable[str] = (), *, skip_bad: bool = False,
               progress: Callable[[int], None] | None = None) -> Loaded:
    """Load the persisted index when its sources are unchanged, else build it (and persist it).

    skip_bad (the server): a feed file that cannot be read is left out and named in `Loaded.errors`, so one
    bad file never costs the others; the CLI keeps the default and stops with the FeedError's one line.
    progress: called with the count of papers read so far while a large feed is streamed into a build."""
    dense.use_cache_dir(settings.cache_path)  # the vectors embedded before (a child process build too)
    semantic.use_cache_dir(settings.cache_path)  # the word table saved before (the build's workers read it)
    extra = list(extra_feeds)
    built = open_built(settings, extra, skip_bad=skip_bad)
    if built is not None:
        return built
    errors: list[str] | None = [] if skip_bad else None
    feeds = local_feeds(settings, extra)
    fp = sources_fingerprint(settings, extra)
    ipath = settings.cache_path / f"index-{fp}"
    big = [f for f in feeds if _big(f)]
    if not big:
        lib, source, warnings = load_library(settings, extra, errors)
        cols = Index.build(lib)
        try:
            if segments.create(ipath, cols, fp):
                if errors:
                    (ipath / "feed-errors.json").write_text(json.dumps(errors), encoding="utf-8")
                prune(settings.cache_path, keep=ipath.name)
        except OSError as e:  # a read-only cache dir costs speed, not correctness
            warnings.append(f"{ipath}: cannot save the index ({e})")
        return Loaded(segments.open_segments(ipath) or Segments([cols]), source, warnings, errors or [])
    # A large feed is streamed: papers go to a records file as they come, and the saved index is then
    # memory-mapped, so what stays in memory is the index's columns, not the papers.
    small_settings = dataclasses.replace(settings, feeds=tuple(str(f) for f in feeds if f not in big))
    lib, source, warnings = load_library(small_settings, (), errors)
    settings.cache_path.mkdir(parents=True, exist_ok=True)
    remove_leftovers(settings.cache_path)  # (a build killed before this one)
    with tempfile.NamedTemporaryFile(prefix=f"records-{os.getpid()}-", dir=settings.cache_path) as rec:
        # The feeds' JSON parsed by the build's workers, not here (feedstream.py).
        feed = FeedStream(lib.papers, big, warnings, progress)
        segments.create(ipath, Index.build_feed(feed, lib.repos, cast(BinaryIO, rec)), fp)
    prune(settings.cache_path, keep=ipath.name)
    opened = segments.open_segments(ipath)
    if opened is None:
        raise FeedError(f"{ipath}: the index vanished while it was being opened")
    return Loaded(opened, source, warnings, errors or [])


def sources_named(settings: Settings, extra_feeds: Iterable[str] = ()) -> str:
    """The sources of an index as a message names them: the feed files, else the library file."""
    return ", ".join(str(f) for f in local_feeds(settings, extra_feeds)) or str(base_path(settings))


def build_index(settings: Settings) -> int:
    """Build (and persist) the index of the sources as they are now, unless it exists; its paper count. A long
    build runs in a child process (background.py), so that this process's memory stays at its own size."""
    if builds_long(settings) and open_built(settings) is None:
        return int(run_build(settings, what=sources_named(settings))["papers"])
    return open_index(settings).index.n


def _saved_errors(ipath: Path) -> list[str]:
    try:
        data = json.loads((ipath / "feed-errors.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(x) for x in data] if isinstance(data, list) else []


# ------------------------------------------------------------------ refreshing


@dataclass
class Summary:
    papers_before: int = 0
    papers_after: int = 0
    new_papers: int = 0
    repos_fetched: int = 0
    repos_failed: int = 0
    repos_due: int = 0  # repos the papers link; a refresh fetches REPOS_PER_REFRESH of them besides its own
    feeds_ok: int = 0
    feeds_failed: int = 0
    warnings: list[str] = field(default_factory=list)
    saved: bool = False
    fetch_seconds: float = 0.0  # reading feeds, fetching them and the repos
    index_seconds: float = 0.0  # then, until the index answers for the new library (a segment added, or a build)
    incremental: bool = False  # the index grew by a segment (else it was built again)

    @property
    def ok(self) -> bool:
        return self.saved

    def describe(self) -> str:
        lines = [
            f"papers: {self.papers_after} ({self.new_papers:+d} new)",
            f"feeds: {self.feeds_ok} fetched, {self.feeds_failed} failed",
            f"repos: {self.repos_fetched} fetched, {self.repos_failed} failed (kept the cached data)",
        ]
        if self.repos_due > self.repos_fetched + self.repos_failed:
            lines[-1] += (f"; {self.repos_due - self.repos_fetched - self.repos_failed:,} other linked repos "
                          f"come round on later refreshes ({REPOS_PER_REFRESH:,} a refresh)")
        if not self.saved:
            lines.append("nothing was saved: the previous data is kept")
        lines.extend(f"warning: {w}" for w in self.warnings[:20])
        if len(self.warnings) > 20:
            lines.append(f"… {len(self.warnings) - 20} more warnings")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {"papers": self.papers_after, "newPapers": self.new_papers, "reposFetched": self.repos_fetched,
                "reposFailed": self.repos_failed, "reposLinked": self.repos_due, "feedsOk": self.feeds_ok,
                "feedsFailed": self.feeds_failed,
                "saved": self.saved, "warnings": self.warnings[:50], "fetchSeconds": round(self.fetch_seconds, 3),
                "indexSeconds": round(self.index_seconds, 3), "incremental": self.incremental}


# The hosts a token is bound to: a base URL elsewhere gets no token unless the user explicitly allows it.
TOKEN_HOSTS = {"github": "api.github.com", "hf": "huggingface.co"}


def token_table(settings: Settings, env: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
    """{host: token} for the configured base URLs, and a note for each token withheld from a custom host."""
    env = os.environ if env is None else env
    tokens: dict[str, str] = {}
    notes: list[str] = []
    for kind, base, var in (("github", settings.github_base_url, settings.github_token_env),
                            ("hf", settings.hf_base_url, settings.hf_token_env)):
        tok = env.get(var) if var else None
        u = urlparse(base)
        host = (u.hostname or "").lower()
        if not tok or not host:
            continue
        builtin = u.scheme == "https" and host == TOKEN_HOSTS[kind] and u.port in (None, 443)
        if builtin or settings.send_token_to_custom_hosts:
            tokens[u.netloc.lower()] = tok
        else:
            notes.append(f"${var} is not sent to {host}: tokens go only to https://{TOKEN_HOSTS[kind]} unless "
                         f"paperlens.sendTokenToCustomHosts is set in your user settings")
    return tokens, notes


def make_http(settings: Settings) -> HttpClient:
    """The one HTTP client, with each token bound to its own built-in host only."""
    tokens, notes = token_table(settings)
    for n in notes:
        log.warning("%s", n)
    return HttpClient(cache_dir=settings.cache_path, tokens=tokens, offline=settings.offline)


def aliases_for_repo(papers: Iterable[Paper], full_name: str) -> list[str]:
    """Method names of the papers that link a repo: they choose which source files to read for classes."""
    return _RepoLinks.of(papers).aliases.get(full_name.lower(), [])


@dataclass
class _RepoLinks:
    """The repos some papers link, with those papers' method names (which choose the repo files to read)."""

    names: dict[str, str] = field(default_factory=dict)  # lower-case -> as linked
    aliases: dict[str, list[str]] = field(default_factory=dict)

    def add(self, p: Paper) -> None:
        if p.repo:
            k = p.repo.lower()
            self.names.setdefault(k, p.repo)
            self.aliases.setdefault(k, []).extend(a.display for a in paper_aliases(p, None))

    @classmethod
    def of(cls, papers: Iterable[Paper]) -> _RepoLinks:
        links = cls()
        for p in papers:
            links.add(p)
        return links


def _repo_hash(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.lower().encode(), digest_size=8).digest(), "little")


class _RepoRotation:
    """Which linked repos a refresh fetches: all those of the papers it fetched (`must`), and of the others the
    next `budget` in a fixed order (a hash of the name) after where the previous refresh stopped, so a refresh
    of any library costs a bounded number of GitHub requests and every repo comes round again. Papers stream
    through `add`; only the chosen repos' method names are kept (a bounded heap), never a million repos'."""

    def __init__(self, must: Iterable[str], budget: int, cursor: int) -> None:
        self.must = _RepoLinks()
        self._must = {n.lower() for n in must}
        self.budget = budget
        self.cursor = cursor
        self._heap: list[int] = []  # negated distances after the cursor: the budget nearest, farthest on top
        self._chosen: dict[int, tuple[str, list[str]]] = {}  # distance -> (repo as linked, method names)
        self._seen = array("Q")

    def add(self, p: Paper) -> None:
        if not p.repo:
            return
        if p.repo.lower() in self._must:
            self.must.add(p)
            return
        h = _repo_hash(p.repo)
        self._seen.append(h)
        d = (h - self.cursor - 1) % (1 << 64)
        if d in self._chosen:
            self._chosen[d][1].extend(a.display for a in paper_aliases(p, None))
        elif len(self._heap) < self.budget or (self._heap and d < -self._heap[0]):
            if len(self._heap) >= self.budget:
                self._chosen.pop(-heapq.heappushpop(self._heap, -d))
            else:
                heapq.heappush(self._heap, -d)
            self._chosen[d] = (p.repo, [a.display for a in paper_aliases(p, None)])

    @property
    def others(self) -> int:
        """How many repos besides `must` the papers link."""
        return len(np.unique(np.frombuffer(self._seen, dtype=np.uint64))) if len(self._seen) else 0

    def links(self) -> _RepoLinks:
        """The repos to fetch now, with their papers' method names."""
        out = _RepoLinks(dict(self.must.names), {k: list(v) for k, v in self.must.aliases.items()})
        for name, aliases in self._chosen.values():
            out.names.setdefault(name.lower(), name)
            out.aliases.setdefault(name.lower(), []).extend(aliases)
        return out

    def next_cursor(self) -> int:
        """Where the next refresh starts: after the farthest repo chosen now."""
        if not self._heap:
            return self.cursor
        return (self.cursor + 1 - self._heap[0]) % (1 << 64)

    @staticmethod
    def load(cache: Path) -> int:
        try:
            v = json.loads((cache / ROTATION_FILE).read_text()).get("cursor", 0)
            return v if isinstance(v, int) and 0 <= v < (1 << 64) else 0
        except (OSError, ValueError, AttributeError):
            return 0

    def save(self, cache: Path) -> None:
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = cache / (ROTATION_FILE + ".tmp")
            tmp.write_text(json.dumps({"cursor": self.next_cursor()}))
            os.replace(tmp, cache / ROTATION_FILE)
        except OSError as e:  # the next refresh starts the rotation again: no harm
            log.warning("could not save %s: %s", cache / ROTATION_FILE, e)


class _Works:
    """Which works some papers are (64-bit hashes of arXiv id / title identities): a million cost 16 MB; with
    `only`, just those of its hashes (the works a refresh fetched: a 1M-paper local feed then costs nothing)."""

    def __init__(self, papers: Iterable[Paper] = (), only: set[int] | None = None) -> None:
        self._buf = array("q")
        self._sorted: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._only = only
        for p in papers:
            self.add(p)

    @classmethod
    def hashes(cls, papers: Iterable[Paper]) -> set[int]:
        return {k for p in papers for k in cls._keys(p)}

    @staticmethod
    def _keys(p: Paper) -> tuple[int, int]:
        def h(s: str) -> int:
            return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little", signed=True)

        return h(paper_identity(p)), h("t:" + norm_name(p.title))

    def add(self, p: Paper) -> None:
        keys = self._keys(p)
        self._buf.extend(keys if self._only is None else [k for k in keys if k in self._only])

    def __contains__(self, p: Paper) -> bool:
        if len(self._sorted) != len(self._buf):
            self._sorted = np.unique(np.frombuffer(self._buf, dtype=np.int64))
        keys = np.asarray(self._keys(p), dtype=np.int64)
        idx = np.minimum(np.searchsorted(self._sorted, keys), max(len(self._sorted) - 1, 0))
        return bool(len(self._sorted)) and bool(np.any(self._sorted[idx] == keys))


def _scan_local(paths: list[Path], summary: Summary, links: _RepoRotation, fetched: Iterable[Paper]) -> _Works:
    """The local feed files, one paper at a time (never whole in memory): which of the `fetched` works they
    hold, and the repos their papers link (into `links`)."""
    works = _Works(only=_Works.hashes(fetched))
    for path in paths:
        n = 0
        try:
            for p in iter_feed_file(path, summary.warnings):
                works.add(p)
                links.add(p)
                n += 1
        except FeedError as e:
            summary.warnings.append(str(e))
        if n:
            summary.feeds_ok += 1
        else:
            summary.feeds_failed += 1
    return works


def _fetch_repos(client: HttpClient, settings: Settings, links: _RepoLinks, repos: dict[str, Repo],
                 summary: Summary, progress: Progress | None) -> None:
    """Every linked repo, four at a time, into `repos` (a repo that fails keeps its cached data)."""
    names = sorted(links.names.values(), key=str.lower)
    done = 0
    if progress:
        progress(0, len(names), "repos")

    def one(name: str) -> tuple[str, Repo | None]:
        return name, fetch_repo(client, name, settings.github_base_url, links.aliases.get(name.lower(), []))

    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, repo in pool.map(one, names):
            done += 1
            if repo is not None:
                repos[repo.full_name.lower()] = repo
                if repo.full_name.lower() != name.lower():
                    repos.pop(name.lower(), None)
                summary.repos_fetched += 1
            else:
                summary.repos_failed += 1
            if progress:
                progress(done, len(names), name)


def refresh(settings: Settings, progress: Progress | None = None, http: HttpClient | None = None,
            repo_budget: int = REPOS_PER_REFRESH) -> Summary:
    """Fetch the feeds given as URLs, then the repos of the papers fetched and `repo_budget` others in rotation;
    write library.json only after the new data is complete, then bring the index up to date: a new segment with
    the new papers (and the new upvotes and repo stars in its live table) when that is all that changed, else a
    new build.

    The local feed files stay out of library.json (the index merges them, once, when it is built); a refresh
    reads them one paper at a time for the repos their papers link and to tell new papers from known ones."""
    own = http is None
    client = http or make_http(settings)
    summary = Summary()
    summary.warnings.extend(token_table(settings)[1])
    t0 = time.perf_counter()
    try:
        old, _ = read_base_library(settings)
        summary.warnings.extend(w for w in old.warnings if "using the shipped snapshot" in w)
        urls = [f for f in settings.feeds if is_url(f)] or [daily_papers_url(settings.hf_base_url)]
        fetched = []
        for url in urls:
            papers, warns = fetch_feed_url(lambda u: client.get_json(u, "feed"), url)
            summary.warnings.extend(warns)
            if papers:
                summary.feeds_ok += 1
                fetched.append(papers)
            else:
                summary.feeds_failed += 1
        rotation = _RepoRotation((p.repo for ps in fetched for p in ps if p.repo), repo_budget,
                                 _RepoRotation.load(settings.cache_path))
        local = _scan_local(local_feeds(settings), summary, rotation, (p for ps in fetched for p in ps))
        remote = merge_papers(old.papers, *fetched)
        for p in remote:
            rotation.add(p)
        # A paper is new when neither its arXiv id nor its title was known (a feed may add the id to an old one).
        known = _Works(old.papers)
        news = [p for p in merge_papers(*fetched) if p not in known and p not in local]
        summary.new_papers = len(news)
        repos: dict[str, Repo] = dict(old.repos)
        links = rotation.links()
        summary.repos_due = len(rotation.must.names) + rotation.others
        _fetch_repos(client, settings, links, repos, summary, progress)
        rotation.save(settings.cache_path)
        t1 = time.perf_counter()
        summary.fetch_seconds = t1 - t0
        if fetched or summary.repos_fetched:
            # The index of the library as it was: grown by what is new when that is all that changed.
            ipath = find_index(settings.cache_path, sources_fingerprint(settings))
            ix = segments.open_segments(ipath) if ipath is not None else None
            delta = _delta(ix, merge_papers(*fetched), local, old.repos, repos) if ix is not None else None
            write_library(Library(papers=apply_repos(remote, repos), repos=repos), library_path(settings))
            summary.saved = True
            if ipath is not None and ix is not None and delta is not None:
                summary.papers_before = ix.n
                del ix  # its pins: a merge may drop the segments it used
                segments.add(ipath, delta, sources_fingerprint(settings))
                summary.papers_after = summary.papers_before + len(delta.papers)
                summary.incremental = True
                segments.merge_later(ipath)
            else:
                summary.papers_before = ix.n if ix is not None else 0
                del ix
                summary.papers_after = build_index(settings)  # builds and persists the new index
            summary.index_seconds = time.perf_counter() - t1
        return summary
    finally:
        if own:
            client.close()
        return_freed_memory()  # the scan's and the fetching threads' freed memory, back to the system


def _delta(ix: Segments, fetched: list[Paper], local: _Works, old_repos: dict[str, Repo],
           new_repos: dict[str, Repo]) -> segments.Delta | None:
    """What the fetched papers and repos change in the index: new papers, new upvotes of papers it has, repos
    with new stars; None when they change something the index holds in its columns (a title, authors, a repo's
    code names...) or a paper a local feed file also holds (its fields win there): then it is built again."""
    delta = segments.Delta()
    for p in fetched:
        if p in local:
            return None
        i = ix.find_paper(p)
        if i is None:
            delta.papers.append(p)
            continue
        q = ix.paper(i)
        merged = merge_papers([q], [p])[0]
        r = new_repos.get(merged.repo.lower()) if merged.repo else None
        merged = enrich_from_repo(merged, r, 2) if r else merged
        if merged == q:
            continue
        if dataclasses.replace(q, upvotes=merged.upvotes) != merged:
            return None
        delta.upvotes[ix.entry(i).key] = merged.upvotes
    delta.papers = apply_repos(delta.papers, new_repos)
    for name, r in new_repos.items():
        o = old_repos.get(name)
        if o == r:
            continue
        indexed = (r.identifiers, r.readme_arxiv_ids, r.readme_authors, r.readme_title)
        if (o is None and any(indexed) and ix.by_repo(r.full_name)) or \
                (o is not None and (r.full_name, *indexed) != (o.full_name, o.identifiers, o.readme_arxiv_ids,
                                                               o.readme_authors, o.readme_title)):
            return None  # code names and README BibTeX are in the index's columns
        delta.repos[name] = r
    return delta


def refresh_with_progress(settings: Settings, show_progress: bool) -> Summary:
    """`paperlens refresh`: a tqdm progress bar on stderr while repos are fetched."""
    if not show_progress:
        return refresh(settings)
    from tqdm import tqdm

    bar: tqdm[object] | None = None

    def progress(done: int, total: int, what: str) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="repo", desc="Fetching repos", leave=False)
        bar.n = done
        bar.set_postfix_str(what[:40])
        bar.refresh()

    try:
        return refresh(settings, progress)
    finally:
        if bar is not None:
            bar.close()
