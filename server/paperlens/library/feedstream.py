"""A large feed built on every core with the workers parsing it: this process cuts the feed's JSON array into
raw chunks of items (where they are in the file: `feedfile.json_array_spans`) and decides on each chunk's
papers in stream order (`merge.StreamMerge`: duplicates dropped, the small set's records merged in); a build
worker parses the chunk (`parse_chunk`: it reads the chunk's bytes from the file itself), makes the papers
decided on (`take_chunk`) and analyses them (index/parallel.py). The papers and the index are those of
`merge.stream_merged` into `IndexBuilder.add_all` (tests/unit/test_feedstream.py); what this process no longer
does is parse the JSON into papers and pickle them to the workers (at 1M papers ~60 CPU-s of the ~100 it spent
beside the workers), nor copy the feed's bytes into chunks and through the workers' pipes (~5 CPU-s)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from paperlens.core.model import Paper, Repo
from paperlens.index.parallel import CHUNK, FeedChunks
from paperlens.library.merge import StreamMerge, finished, identity_hashes
from paperlens.sources.errors import FeedError
from paperlens.sources.feedfile import (
    file_stamp,
    iter_feed_file,
    json_array_spans,
    parse_items,
    read_span,
    streams_json_array,
)


@dataclass
class RawChunk:
    """A chunk of a feed as read here: where a run of items of a JSON array is in the file (start and end
    offsets, `feedfile.json_array_spans`; their first item's number in the feed; the file's stamp), or papers
    parsed already (a feed that is not one JSON array) with the warnings they gave."""

    path: str
    first: int
    data: tuple[int, int] | list[Paper]
    names: bool  # whether the decision needs each paper's identity and title (the small set has records left)
    warnings: list[str] = field(default_factory=list)
    stamp: tuple[int, int, int] | None = None  # the file's `feedfile.file_stamp` when it was cut


def parse_chunk(raw: RawChunk) -> tuple[list[Paper], dict[str, Any]]:
    """In a worker: the chunk's papers, and what `FeedStream.decide` needs of them (identity hashes, the
    warnings; an invalid chunk's JSON error instead of papers)."""
    info: dict[str, Any] = {"path": raw.path, "error": None, "warnings": raw.warnings, "names": None}
    if isinstance(raw.data, tuple):
        try:
            papers, warnings = parse_items(read_span(raw.path, *raw.data, raw.stamp), raw.path, raw.first)
        except OSError as e:
            info["error"] = f"cannot read it: {e.strerror or e}"
            papers, warnings = [], []
        except ValueError as e:
            info["error"] = f"invalid JSON: {e}"
            papers, warnings = [], []
        info["warnings"] = warnings
    else:
        papers = raw.data
    got = [identity_hashes(p) for p in papers]
    info["hi"] = np.array([g[0] for g in got], dtype=np.uint64)
    info["ht"] = np.array([g[1] for g in got], dtype=np.uint64)
    if raw.names:
        info["names"] = [(g[2], g[3]) for g in got]
    return papers, info


def take_chunk(papers: list[Paper], decision: tuple[list[int] | None, dict[int, Paper]],
               repos: dict[str, Repo]) -> list[Paper]:
    """In a worker: the chunk's papers that `FeedStream.decide` kept, merged and enriched (`merge.finished`)."""
    keep, merges = decision
    return [finished(papers[i], merges.get(i), repos) for i in (range(len(papers)) if keep is None else keep)]


class FeedStream(FeedChunks):
    """The papers of `merge.stream_merged(small, big, repos, warnings)` as a FeedChunks stream."""

    parse = staticmethod(parse_chunk)
    take = staticmethod(take_chunk)

    def __init__(self, small: list[Paper], big: list[Path], warnings: list[str],
                 progress: Callable[[int], None] | None = None, chunk: int = CHUNK) -> None:
        self.chunk = chunk
        self.merge = StreamMerge(small)
        self.big = big
        self.warnings = warnings
        self.progress = progress
        self.read: dict[str, int] = {str(p): 0 for p in big}  # papers parsed from each feed (decided on)
        self.kept = 0

    def raw_chunks(self) -> Iterator[RawChunk]:
        for path in self.big:
            if streams_json_array(path):
                stamp = file_stamp(path.stat())
                for first, start, end in json_array_spans(path, self.chunk):
                    yield RawChunk(str(path), first, (start, end), self.merge.wants_names, stamp=stamp)
                continue
            batch: list[Paper] = []
            warnings: list[str] = []
            for p in iter_feed_file(path, warnings):  # (not one JSON array: parsed here, as before)
                batch.append(p)
                if len(batch) == self.chunk:
                    yield RawChunk(str(path), 0, batch, self.merge.wants_names, warnings)
                    batch, warnings = [], []
            if batch or warnings:
                yield RawChunk(str(path), 0, batch, self.merge.wants_names, warnings)

    def decide(self, info: dict[str, Any]) -> tuple[list[int] | None, dict[int, Paper]]:
        path = info["path"]
        if info["error"] is not None:
            what, _, why = info["error"].partition(": ")
            raise FeedError(f"{path}: {what} after {self.read[path]} papers: {why}")
        self.warnings.extend(info["warnings"])
        hi, ht, names = info["hi"].tolist(), info["ht"].tolist(), info["names"]
        self.read[path] += len(hi)
        keep: list[int] = []
        merges: dict[int, Paper] = {}
        admit = self.merge.admit
        for i, (a, b) in enumerate(zip(hi, ht, strict=True)):
            ok, own = admit(a, b, *(names[i] if names is not None else (None, None)))
            if ok:
                keep.append(i)
                if own is not None:
                    merges[i] = own
        self.kept += len(keep)
        if self.progress is not None:
            self.progress(self.kept)
        return (None if len(keep) == len(hi) else keep), merges

    def rest(self) -> list[Paper]:
        for path, n in self.read.items():
            if n == 0:
                raise FeedError(f"{path}: no papers found (expected Hugging Face papers JSON or saved papers)")
        rest = self.merge.rest()
        self.kept += len(rest)
        if self.progress is not None:
            self.progress(self.kept)
        return rest
