"""Where papers come from: the one owner of loading (library + local feed files -> index) and refreshing
(feeds from URLs + GitHub repos -> library.json -> index).

The data path, once each: `store` says where the refreshed library (else the snapshot) is kept; local feed files
are merged into it in memory when the index is built (never written into library.json); `merge` makes one paper
per work; the index (`paperlens.index`) is built, persisted and memory-mapped by `open_index`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlparse

from paperlens.core.config import Settings
from paperlens.core.model import Library, Paper, Repo
from paperlens.core.text import norm_name
from paperlens.index.aliases import paper_aliases
from paperlens.index.columns import FORMAT_VERSION
from paperlens.index.core import Index
from paperlens.index.persist import open_pinned, prune, save_unless_in_use
from paperlens.library.merge import apply_repos, merge_papers, paper_identity, stream_merged
from paperlens.library.store import base_path, library_path, read_base_library, write_library
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import STREAM_BYTES, read_feed_file
from paperlens.sources.github import fetch_repo
from paperlens.sources.hf_api import daily_papers_url, fetch_feed_url
from paperlens.sources.http import HttpClient

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


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
    index: Index
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
    feeds = local_feeds(settings, extra)
    base = base_path(settings)
    ipath = settings.cache_path / f"index-{_fingerprint([base, *feeds])}"
    if ipath.is_dir():
        ix = open_pinned(ipath)
        if ix is not None:
            # Files that failed when this index was built (and have not changed since) are still left out.
            return Loaded(ix, str(base), errors=_saved_errors(ipath) if skip_bad else [])
    big = [f for f in feeds if _big(f)]
    if not big:
        lib, source, warnings = load_library(settings, extra, errors)
        ix = Index.build(lib)
        try:
            save_unless_in_use(ix, ipath)
            if errors:
                (ipath / "feed-errors.json").write_text(json.dumps(errors), encoding="utf-8")
            prune(settings.cache_path, keep=ipath.name)
        except OSError as e:  # a read-only cache dir costs speed, not correctness
            warnings.append(f"{ipath}: cannot save the index ({e})")
        return Loaded(ix, source, warnings, errors or [])
    # A large feed is streamed: papers go to a records file as they come, and the saved index is then
    # memory-mapped, so what stays in memory is the index's columns, not the papers.
    small_settings = dataclasses.replace(settings, feeds=tuple(str(f) for f in feeds if f not in big))
    lib, source, warnings = load_library(small_settings, (), errors)
    settings.cache_path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(prefix="records-", dir=settings.cache_path) as rec:
        stream = stream_merged(lib.papers, big, lib.repos, warnings)
        save_unless_in_use(Index.build_stream(stream, lib.repos, cast(BinaryIO, rec)), ipath)
    prune(settings.cache_path, keep=ipath.name)
    opened = open_pinned(ipath)
    if opened is None:
        raise FeedError(f"{ipath}: the index vanished while it was being opened")
    return Loaded(opened, source, warnings, errors or [])


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
    feeds_ok: int = 0
    feeds_failed: int = 0
    warnings: list[str] = field(default_factory=list)
    saved: bool = False

    @property
    def ok(self) -> bool:
        return self.saved

    def describe(self) -> str:
        lines = [
            f"papers: {self.papers_after} ({self.new_papers:+d} new)",
            f"feeds: {self.feeds_ok} fetched, {self.feeds_failed} failed",
            f"repos: {self.repos_fetched} fetched, {self.repos_failed} failed (kept the cached data)",
        ]
        if not self.saved:
            lines.append("nothing was saved: the previous data is kept")
        lines.extend(f"warning: {w}" for w in self.warnings[:20])
        if len(self.warnings) > 20:
            lines.append(f"… {len(self.warnings) - 20} more warnings")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {"papers": self.papers_after, "newPapers": self.new_papers, "reposFetched": self.repos_fetched,
                "reposFailed": self.repos_failed, "feedsOk": self.feeds_ok, "feedsFailed": self.feeds_failed,
                "saved": self.saved, "warnings": self.warnings[:50]}


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
    out: list[str] = []
    for p in papers:
        if p.repo and p.repo.lower() == full_name.lower():
            out.extend(a.display for a in paper_aliases(p, None))
    return out


def _fetch_repos(client: HttpClient, settings: Settings, papers: list[Paper], repos: dict[str, Repo],
                 summary: Summary, progress: Progress | None) -> None:
    """Every repo the papers link, four at a time, into `repos` (a repo that fails keeps its cached data)."""
    names = sorted({p.repo for p in papers if p.repo}, key=str.lower)
    done = 0
    if progress:
        progress(0, len(names), "repos")

    def one(name: str) -> tuple[str, Repo | None]:
        return name, fetch_repo(client, name, settings.github_base_url, aliases_for_repo(papers, name))

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


def refresh(settings: Settings, progress: Progress | None = None, http: HttpClient | None = None) -> Summary:
    """Fetch the feeds given as URLs, then the repos of every paper; write library.json only after the new
    data is complete, then build the index for it. The local feed files are read for their papers' repos and
    counted, but they stay out of library.json: the index merges them (once) when it is built."""
    own = http is None
    client = http or make_http(settings)
    summary = Summary()
    summary.warnings.extend(token_table(settings)[1])
    try:
        old, _ = read_base_library(settings)
        summary.warnings.extend(w for w in old.warnings if "using the shipped snapshot" in w)
        local_warn: list[str] = []
        local_errors: list[str] = []
        local = _read_feeds(local_feeds(settings), local_warn, local_errors)
        summary.warnings.extend([*local_errors, *local_warn])
        summary.feeds_ok += sum(1 for x in local if x)
        summary.feeds_failed += len(local_errors) + sum(1 for x in local if not x)
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
        remote = merge_papers(old.papers, *fetched)
        everything = merge_papers(remote, *local)  # what the index will hold: for the counts and the repos
        summary.papers_before = len(merge_papers(old.papers, *local))
        # A paper is new when neither its arXiv id nor its title was known (a feed may add the id to an old one).
        known = {paper_identity(p) for src in (old.papers, *local) for p in src} | \
            {norm_name(p.title) for src in (old.papers, *local) for p in src}
        summary.new_papers = sum(1 for p in everything
                                 if paper_identity(p) not in known and norm_name(p.title) not in known)
        repos: dict[str, Repo] = dict(old.repos)
        _fetch_repos(client, settings, everything, repos, summary, progress)
        summary.papers_after = len(everything)
        if fetched or summary.repos_fetched:
            write_library(Library(papers=apply_repos(remote, repos), repos=repos), library_path(settings))
            summary.saved = True
            open_index(settings)  # builds and persists the index for the new library
        return summary
    finally:
        if own:
            client.close()


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
