"""Fetch the configured feeds and the GitHub repos their papers link to; keep everything that was good."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from paperlens.core.config import Settings
from paperlens.core.model import Library, Repo
from paperlens.core.text import norm_name
from paperlens.library.pipeline import (
    aliases_for_repo,
    apply_repos,
    is_url,
    library_path,
    merge_papers,
    open_index,
    paper_identity,
    read_library,
    snapshot_file,
    write_library,
)
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import read_feed_file
from paperlens.sources.github import fetch_repo
from paperlens.sources.hf_api import daily_papers_url, fetch_feed_url
from paperlens.sources.http import HttpClient

log = logging.getLogger(__name__)
Progress = Callable[[int, int, str], None]


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


def refresh(settings: Settings, progress: Progress | None = None, http: HttpClient | None = None) -> Summary:
    """Fetch feeds, then repos; write the merged library only after the new data is complete."""
    own = http is None
    client = http or make_http(settings)
    summary = Summary()
    summary.warnings.extend(token_table(settings)[1])
    try:
        lp = library_path(settings)
        try:
            old = read_library(lp) if lp.is_file() else read_library(snapshot_file())
        except FeedError as e:
            summary.warnings.append(f"{e}; starting from the shipped snapshot")
            old = read_library(snapshot_file())
        summary.papers_before = len(old.papers)
        fetched = []
        feeds = list(settings.feeds)
        if not any(is_url(f) for f in feeds):  # the live default: today's HF daily papers
            feeds.append(daily_papers_url(settings.hf_base_url))
        for feed in feeds:
            if is_url(feed):
                papers, warns = fetch_feed_url(lambda u: client.get_json(u, "feed"), feed)
            else:
                try:
                    papers, warns = read_feed_file(Path(feed).expanduser())
                except FeedError as e:
                    papers, warns = [], [str(e)]
            summary.warnings.extend(warns)
            if papers:
                summary.feeds_ok += 1
                fetched.append(papers)
            else:
                summary.feeds_failed += 1
        merged = merge_papers(old.papers, *fetched)
        # A paper is new when neither its arXiv id nor its title was known (a feed may add the id to an old one).
        known = {paper_identity(p) for p in old.papers} | {norm_name(p.title) for p in old.papers}
        summary.new_papers = sum(1 for p in merged
                                 if paper_identity(p) not in known and norm_name(p.title) not in known)

        repos: dict[str, Repo] = dict(old.repos)
        names = sorted({p.repo for p in merged if p.repo}, key=str.lower)
        done = 0
        if progress:
            progress(0, len(names), "repos")

        def one(name: str) -> tuple[str, Repo | None]:
            return name, fetch_repo(client, name, settings.github_base_url, aliases_for_repo(merged, name))

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
        lib = Library(papers=apply_repos(merged, repos), repos=repos)
        summary.papers_after = len(lib.papers)
        if summary.feeds_ok or summary.repos_fetched:
            write_library(lib, lp)
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
