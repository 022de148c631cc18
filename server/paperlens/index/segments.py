"""An index that grows by what is new: immutable segments, a small table of live values, a manifest.

Like Lucene's and tantivy's: a refresh writes its new papers into a new small segment (the same columns as a full
build, `columns.Columns`), and the index is searched across its segments; small segments are merged in the
background. An index directory holds

    manifest.json   which segments (in order) and which live-values file make the index, and the sources
                    fingerprint it answers for; replaced atomically (temp file, fsync, rename, fsync dir)
    seg-<g>/        one segment: written whole into seg-<g>.tmp, fsynced, then renamed; never changed after
    live-<g>.json   values that change without a rebuild: upvotes by citation key, repos by name

Keys of existing papers never change: a new segment's keys are de-duplicated against every key the index has,
and a merge keeps each paper's key. A reader holds a shared flock on each segment's `.in-use` for as long as it
uses it; a segment that no manifest lists is deleted only under an exclusive flock, so never under a reader.
Global paper ids are segment offsets plus local ids; they are stable for one `Segments` object, not across
generations (entries are found again by key).
"""

from __future__ import annotations

import bisect
import json
import logging
import os
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from paperlens.core.model import Paper, Repo, repo_from_json, repo_to_json
from paperlens.core.text import norm_name, words
from paperlens.index.build import IndexBuilder, phase
from paperlens.index.columns import Columns
from paperlens.index.core import Entry, IdArray, Index, NameHit
from paperlens.index.dense import query_vector, text_of
from paperlens.index.persist import IN_USE, flock, fsync_dir, load_index, remove_unless_in_use, write_columns
from paperlens.index.semantic import key_phrases

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
WRITE_LOCK = ".write-lock"
SEG_TERMS_MAX = 1 << 13  # a segment with more key phrases translates queries by name (its map: ~10 us a phrase)
MERGE_AT = 6  # segments after the first one: more than this, and they are merged into one
MERGE_MAX_FRACTION = 0.25  # a merge rewrites at most this fraction of the index (never the big first segment)


# ------------------------------------------------------------------ the manifest and live values


@dataclass
class Manifest:
    segments: list[str]
    sources: str  # the fingerprint of the sources this index answers for (see library.pipeline)
    live: str | None = None
    generation: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"segments": self.segments, "sources": self.sources, "live": self.live,
                "generation": self.generation}


def read_manifest(ipath: Path) -> Manifest | None:
    try:
        d = json.loads((ipath / MANIFEST).read_text(encoding="utf-8"))
        return Manifest([str(s) for s in d["segments"]], str(d["sources"]), d.get("live"), int(d["generation"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_durably(path: Path, data: bytes) -> None:
    """Write a temp file beside path, fsync it, rename it over path, fsync the directory."""
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}.{threading.get_ident()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_manifest(ipath: Path, m: Manifest) -> None:
    write_durably(ipath / MANIFEST, json.dumps(m.to_json()).encode())


@dataclass
class Live:
    """Values that change without a rebuild: upvotes by citation key, repos (stars, last push) by name."""

    upvotes: dict[str, int] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path) -> Live:
        d = json.loads(path.read_text(encoding="utf-8"))
        repos = {r.full_name.lower(): r for r in map(repo_from_json, d.get("repos", []))}
        return cls({str(k): int(v) for k, v in d.get("upvotes", {}).items()}, repos)

    def to_bytes(self) -> bytes:
        return json.dumps({"upvotes": self.upvotes, "repos": [repo_to_json(r) for r in self.repos.values()]},
                          ensure_ascii=False).encode("utf-8")


@contextmanager
def write_lock(ipath: Path) -> Iterator[None]:
    """One writer of an index directory at a time (blocking): adding a segment, swapping in a merge."""
    with open(ipath / WRITE_LOCK, "ab") as f:
        try:
            import fcntl

            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        except ImportError:
            pass
        yield


# ------------------------------------------------------------------ reading: one index over its segments


class RelQuery:
    """A related-papers query: its terms as ids in each segment, worked out when a segment is first asked
    (Segments.query_terms)."""

    def __init__(self, home: int, ids: dict[int, float] | None, bag: dict[str, float] | None,
                 vec: np.ndarray | None = None) -> None:
        self.home = home  # the segment whose term ids `ids` are (-1: a text query, from `bag`)
        self.bag = bag
        self.vec = vec  # its dense vector (dense.py), when it has one
        self.by_seg: dict[int, dict[int, float]] = {home: ids} if ids is not None else {}
        self._names: dict[str, float] | None = None

    def names(self, home: Index) -> dict[str, float]:
        """The home segment's terms by name, to find them in another segment."""
        if self._names is None:
            self._names = {home.rel.terms[j]: w for j, w in self.by_seg[self.home].items()}
        return self._names


class SegTerms:
    """A small segment's key-phrase term ids in the first (large) segment's vocabulary and back: a paper of the
    first segment has its related query translated to a small segment's ids without decoding its ~36 phrases
    from the large vocabulary (page faults: ~0.9 ms a hover of a seven-segment 1M index)."""

    __slots__ = ("to0", "from0")

    def __init__(self, first: Index, seg: Index) -> None:
        terms = seg.rel.terms
        self.to0 = [first.rel.find(t) for t in terms.range(0, len(terms))]  # (-1: not in the first segment)
        self.from0 = {j0: j for j, j0 in enumerate(self.to0) if j0 >= 0}


class Segments:
    """One index over its segments, with global ids (segment offset + local id) and the live values applied.
    With one segment and no live values every call is the segment's own."""

    def __init__(self, segs: list[Index], live: Live | None = None, pins: Iterable[object] = (),
                 dirs: Iterable[Path] = ()) -> None:
        self.segs = segs
        self.dirs = list(dirs)  # the segments' directories on disk (none for an index built in memory)
        self.starts = [0]
        for s in segs:
            self.starts.append(self.starts[-1] + s.n)
        self.n = self.starts[-1]
        self.pins = list(pins)  # open lock files: the segments stay on disk while this object lives
        self._dense_ready: bool | None = None
        self._maps: dict[int, SegTerms | None] = {}  # _seg_terms'
        self.live = live or Live()
        if len(segs) == 1 and not self.live.repos:
            self.repos = segs[0].repos
        else:
            self.repos = {}
            for s in segs:
                self.repos.update(s.repos)
            self.repos.update(self.live.repos)
        self.live_upvotes: dict[int, int] = {}
        for key, up in self.live.upvotes.items():
            i = self.by_key(key)
            if i is not None:
                self.live_upvotes[i] = up

    def column_files(self) -> list[Path]:
        """The memory-mapped column files of every segment, smallest first (the records file aside: a card reads
        one record of it)."""
        sized = []
        for d in self.dirs:
            for p in d.glob("*"):
                try:
                    if p.suffix in (".npy", ".bloom"):
                        sized.append((p.stat().st_size, p))
                except OSError:  # (merged away meanwhile)
                    continue
        return [p for _, p in sorted(sized)]

    def loc(self, i: int) -> tuple[int, int]:
        """(segment, local id) of a global id."""
        if len(self.segs) == 1:
            return 0, i
        s = bisect.bisect_right(self.starts, i) - 1
        return s, i - self.starts[s]

    def _shift(self, s: int, ids: Iterable[int]) -> list[int]:
        off = self.starts[s]
        return [off + int(x) for x in ids]

    # ---------------------------------------------------------------- records

    def entry(self, i: int) -> Entry:
        s, j = self.loc(i)
        e = self.segs[s].entry(j)
        e.id, e.index = i, self
        up = self.live_upvotes.get(i)
        if up is not None:
            e.upvotes = up
        return e

    def paper(self, i: int) -> Paper:
        s, j = self.loc(i)
        p = self.segs[s].paper(j)
        up = self.live_upvotes.get(i)
        return replace(p, upvotes=up) if up is not None else p

    def title(self, i: int) -> str:
        s, j = self.loc(i)
        return self.segs[s].titles[j]

    def year(self, i: int) -> int | None:
        s, j = self.loc(i)
        return int(self.segs[s].year[j]) or None

    def arxiv(self, i: int) -> str | None:
        s, j = self.loc(i)
        return self.segs[s].arxiv[j] or None

    def authors_short(self, i: int) -> str:
        s, j = self.loc(i)
        return self.segs[s].authors[j]

    # ---------------------------------------------------------------- lookups

    def maybe_name(self, normed: str) -> bool:
        return any(normed in s.bloom_names for s in self.segs)

    def maybe_prefix(self, normed: str) -> bool:
        return any(normed in s.bloom_prefixes for s in self.segs)

    def name(self, text: str, normed: str | None = None) -> NameHit | None:
        n = normed if normed is not None else norm_name(text)
        hits = [(s, h) for s, seg in enumerate(self.segs) if (h := seg.name(text, n)) is not None]
        if not hits:
            return None
        if len(self.segs) == 1:
            return hits[0][1]
        ids = [i for s, h in hits for i in self._shift(s, h.ids)]
        return NameHit(hits[0][1].display, any(h.common for _, h in hits), all(h.code_only for _, h in hits), ids)

    def _first(self, find: Callable[[Index], int | None]) -> int | None:
        """The global id of the first segment's answer."""
        for s, seg in enumerate(self.segs):
            j = find(seg)
            if j is not None:
                return self.starts[s] + j
        return None

    def by_key(self, key: str) -> int | None:
        return self._first(lambda seg: seg.by_key(key))

    def by_arxiv(self, arxiv_id: str) -> int | None:
        return self._first(lambda seg: seg.by_arxiv(arxiv_id))

    def by_repo(self, full_name: str) -> list[int]:
        return [i for s, seg in enumerate(self.segs) for i in self._shift(s, seg.by_repo(full_name))]

    def find_paper(self, p: Paper) -> int | None:
        """The id of the record of this work (same arXiv id, else the same title), if the index has one."""
        if p.arxiv_id:
            i = self.by_arxiv(p.arxiv_id)
            if i is not None:
                return i
        nt = norm_name(p.title)
        toks = [t for t in words(p.title) if len(t) > 2][:6]
        if not nt or not toks:
            return None
        for x in self.word_matches(toks)[:50]:
            if norm_name(self.title(int(x))) == nt:
                return int(x)
        return None

    # ---------------------------------------------------------------- search

    def search(self, query: str, limit: int = 50) -> list[tuple[int, float]]:
        if len(self.segs) == 1:
            return self.segs[0].search(query, limit)
        hits = [(self.starts[s] + j, sc) for s, seg in enumerate(self.segs) for j, sc in seg.search(query, limit)]
        hits.sort(key=lambda h: (-h[1], -self._upvotes(h[0]), h[0]))
        return hits[:limit]

    def _upvotes(self, i: int) -> int:
        up = self.live_upvotes.get(i)
        if up is not None:
            return up
        s, j = self.loc(i)
        return int(self.segs[s].upvotes[j])

    def word_matches(self, toks: list[str], cap: int = 200000) -> IdArray:
        if len(self.segs) == 1:
            return self.segs[0].word_matches(toks, cap)
        parts = [np.asarray(seg.word_matches(toks, cap), dtype=np.int64) + self.starts[s]
                 for s, seg in enumerate(self.segs)]
        return np.concatenate(parts).astype(np.int32)

    # ---------------------------------------------------------------- related

    def paper_query(self, i: int) -> RelQuery:
        s, j = self.loc(i)
        return RelQuery(s, self.segs[s].paper_term_ids(j), None, self.segs[s].paper_vector(j))

    def text_query(self, text: str, title: str = "", keywords: tuple[str, ...] = (), encode: bool = False
                   ) -> RelQuery:
        """A paper's (title given) or a passage's query; its vector is a stored one, or with `encode` one the
        encoder makes now (dense.query_vector: ~0.1-0.5 s a paragraph)."""
        vec = query_vector(text_of(title, text) if title else text, encode)
        return RelQuery(-1, None, key_phrases(title, text, keywords), vec)

    def query_terms(self, q: RelQuery, s: int) -> dict[int, float]:
        """The query's terms as segment s's ids (term id -> weight)."""
        got = q.by_seg.get(s)
        if got is None:
            if q.bag is not None:
                got = dict(self.segs[s].bag_terms(q.bag))
            else:
                got = self._translate(q, s)
            q.by_seg[s] = got
        return got

    def _translate(self, q: RelQuery, s: int) -> dict[int, float]:
        ids = q.by_seg[q.home]
        if q.home == 0 and (m := self._seg_terms(s)) is not None:
            return {j: w for j0, w in ids.items() if (j := m.from0.get(j0)) is not None}
        if s == 0 and (m := self._seg_terms(q.home)) is not None:
            return {j0: w for j, w in ids.items() if (j0 := m.to0[j]) >= 0}
        find = self.segs[s].rel.find
        return {j: w for j, w in ((find(t), w) for t, w in q.names(self.segs[q.home]).items()) if j >= 0}

    def _seg_terms(self, s: int) -> SegTerms | None:
        """Segment s's (s > 0) term map to the first segment, made at its first use (the start-up's related
        queries, Catalog.prime_related: ~113 look-ups for a 100-paper segment); None for a large segment."""
        if s <= 0:
            return None
        if s not in self._maps:
            seg = self.segs[s]
            self._maps[s] = SegTerms(self.segs[0], seg) if len(seg.rel.terms) <= SEG_TERMS_MAX else None
        return self._maps[s]

    def related_to(self, q: RelQuery, k: int = 5, exclude: int = -1) -> list[tuple[int, float]]:
        """The k papers closest to a query (cosine over key phrases, plus over dense vectors where the query and
        papers have them), across the segments."""
        vec = q.vec if q.vec is not None and self.dense_ready() else None
        out: list[tuple[int, float]] = []
        ex_s, ex_j = self.loc(exclude) if exclude >= 0 else (-1, -1)
        for s, seg in enumerate(self.segs):
            terms = self.query_terms(q, s)
            if not terms and vec is None:  # (a small segment that shares no phrase: no numpy calls)
                continue
            hits = seg.related_terms(list(terms.items()), k, ex_j if ex_s == s else -1,
                                     seg.dense_sims(vec) if vec is not None else None)
            out.extend((self.starts[s] + j, sc) for j, sc in hits)
        if len(self.segs) > 1:
            out.sort(key=lambda h: (-h[1], h[0]))
        return out[:k]

    def dense_ready(self) -> bool:
        """Whether related papers use dense vectors: only when every paper has one. Scores of papers with and
        without vectors do not compare: with half of them embedded, P@5 fell below key phrases alone
        (bench/results/related-p5.md), so a refreshed index with papers the encoder did not embed goes without."""
        if self._dense_ready is None:
            self._dense_ready = any(len(s.dense) for s in self.segs) and all(s.dense_complete() for s in self.segs)
        return self._dense_ready

    def dense_fill(self, vec: np.ndarray, exclude: int = -1) -> float:
        """What a paper without a vector counts for the vector cosine, next to these papers: the 75th percentile
        of their cosines to the query (but the query paper's own), measured against the median and against key
        phrases alone (bench/results/related-p5.md)."""
        sims = [s for s in (seg.dense_sims(vec) for seg in self.segs) if s is not None]
        if not sims:
            return 0.0
        allsims = np.concatenate(sims)
        if 0 <= exclude < len(allsims):
            allsims = np.delete(allsims, exclude)
        return float(np.quantile(allsims, 0.75)) if len(allsims) else 0.0

    def why(self, q: RelQuery, i: int, n: int = 3) -> list[str]:
        s, j = self.loc(i)
        return self.segs[s].why(self.query_terms(q, s), j, n)


# ------------------------------------------------------------------ opening


def _pin(d: Path) -> Any | None:
    try:
        f = open(d / IN_USE, "ab")
    except OSError:
        return None
    if not flock(f, exclusive=False):
        f.close()
        return None
    return f


# Segments are immutable: a segment another open Segments already maps (the index a refresh grew, still serving)
# is shared, not mapped and paged in again; keyed by its meta.json's identity, so a rewritten directory is not.
_OPEN: weakref.WeakValueDictionary[tuple[str, int, int], Index] = weakref.WeakValueDictionary()
_OPEN_LOCK = threading.Lock()


def _load_shared(d: Path) -> Index:
    st = (d / "meta.json").stat()
    key = (str(d.resolve()), st.st_ino, st.st_mtime_ns)
    with _OPEN_LOCK:
        ix = _OPEN.get(key)
        if ix is None:
            ix = _OPEN[key] = load_index(d)
        return ix


def open_segments(ipath: Path) -> Segments | None:
    """The index in ipath, every segment pinned (shared flock) while the returned object lives; None when it is
    gone or damaged (then rebuild)."""
    if not (ipath / MANIFEST).is_file():
        return None
    pins: list[Any] = []
    try:
        with write_lock(ipath):  # no segment is swapped out between reading the manifest and pinning it
            m = read_manifest(ipath)
            if m is None:
                return None
            for d in [ipath, *(ipath / name for name in m.segments)]:
                pin = _pin(d)
                if pin is None:
                    raise ValueError(f"{d}: cannot pin")
                pins.append(pin)
        segs = [_load_shared(ipath / name) for name in m.segments]
        live = Live.read(ipath / m.live) if m.live else None
    except (OSError, ValueError) as e:
        log.warning("%s: %s; rebuilding", ipath, e)
        for p in pins:
            p.close()
        return None
    return Segments(segs, live, pins, [ipath / name for name in m.segments])


# ------------------------------------------------------------------ writing


def _next_name(m: Manifest, prefix: str) -> tuple[str, int]:
    g = m.generation + 1
    return f"{prefix}-{g}", g


def _write_segment(ipath: Path, name: str, cols: Columns) -> None:
    """Columns as the segment ipath/name, durably: written into a temp dir, then renamed."""
    tmp = ipath / f"{name}.tmp{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    write_columns(cols, tmp)
    tmp.rename(ipath / name)
    fsync_dir(ipath)


def create(ipath: Path, cols: Columns, sources: str) -> bool:
    """A new index directory with one segment (a full build), made in a temp dir and renamed into place.
    An old directory of that name is replaced only when no process uses it; else False (nothing saved)."""
    ipath.parent.mkdir(parents=True, exist_ok=True)
    tmp = ipath.with_name(f"{ipath.name}.tmp{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with phase("written"):
        _write_segment(tmp, "seg-0", cols)
    write_manifest(tmp, Manifest(["seg-0"], sources))
    if ipath.exists():
        with open(ipath / IN_USE, "ab") as f:
            if not flock(f, exclusive=True):
                shutil.rmtree(tmp, ignore_errors=True)
                return False
            old = ipath.with_name(f"{ipath.name}.old{os.getpid()}")
            ipath.rename(old)
        shutil.rmtree(old, ignore_errors=True)
    tmp.rename(ipath)
    fsync_dir(ipath.parent)
    return True


@dataclass
class Delta:
    """What a refresh brings to a built index."""

    papers: list[Paper] = field(default_factory=list)  # new works
    upvotes: dict[str, int] = field(default_factory=dict)  # citation key -> upvotes, for papers it has
    repos: dict[str, Repo] = field(default_factory=dict)  # changed repos (stars, last push, ...)


def add(ipath: Path, delta: Delta, sources: str) -> None:
    """Add a refresh's new papers as a new segment and its changed values to the live table, then point the
    manifest at them (with the new sources fingerprint). The other segments' files are not touched."""
    collect(ipath)  # a writer that died may have left a segment under the name this one takes
    with write_lock(ipath):
        m = read_manifest(ipath)
        if m is None:
            raise ValueError(f"{ipath}: no manifest")
        cur = Segments([_load_shared(ipath / s) for s in m.segments])  # the server's, when it has them open
        live = Live.read(ipath / m.live) if m.live else Live()
        live.upvotes.update(delta.upvotes)
        live.repos.update(delta.repos)
        segs = list(m.segments)
        gen = m.generation
        if delta.papers:
            name, gen = _next_name(m, "seg")
            taken = _TakenKeys(cur)
            repos = {**cur.repos, **live.repos}
            linked = {r.lower() for p in delta.papers if (r := p.repo)}
            b = IndexBuilder({k: v for k, v in repos.items() if k in linked}, taken=taken, ref=cur.segs[0])
            b.add_all(delta.papers)
            _write_segment(ipath, name, b.finish())
            segs.append(name)
        live_name = None
        if live.upvotes or live.repos:
            gen += 1
            live_name = f"live-{gen}.json"
            write_durably(ipath / live_name, live.to_bytes())
        write_manifest(ipath, Manifest(segs, sources, live_name, gen))
    collect(ipath)


class _TakenKeys:
    """The keys an index has given, as a container asked one key at a time (never listed: a million keys)."""

    def __init__(self, ix: Segments) -> None:
        self.ix = ix

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.ix.by_key(key) is not None


def merge_plan(m: Manifest, sizes: dict[str, int]) -> list[str]:
    """The segments to merge into one: all after the first when there are more than MERGE_AT of them and they
    hold at most MERGE_MAX_FRACTION of the papers (the first, big segment is rewritten only by a full build)."""
    small = m.segments[1:]
    total = sum(sizes.values()) or 1
    if len(small) <= MERGE_AT or sum(sizes[s] for s in small) > MERGE_MAX_FRACTION * total:
        return []
    return small


def merge(ipath: Path, force: bool = False) -> bool:
    """Merge the small segments into one (keys kept, live upvotes folded in), then swap it into the manifest.
    The long part runs without the write lock, so a refresh may add a segment meanwhile (it stays after the
    merged one). Returns whether a merge happened."""
    m = read_manifest(ipath)
    if m is None:
        return False
    sizes = {s: _size(ipath / s) for s in m.segments}
    plan = m.segments[1:] if force and len(m.segments) > 2 else merge_plan(m, sizes)
    if not plan:
        return False
    pins = [p for d in plan if (p := _pin(ipath / d)) is not None]
    try:
        if len(pins) != len(plan):
            return False
        live = Live.read(ipath / m.live) if m.live else Live()
        segs = [load_index(ipath / s) for s in plan]
        repos: dict[str, Repo] = {}
        for s in segs:
            repos.update(s.repos)
        repos.update(live.repos)
        b = IndexBuilder(repos, ref=load_index(ipath / m.segments[0]))
        for seg in segs:
            for j in range(seg.n):
                key = seg.keys[j]
                p = seg.paper(j)
                up = live.upvotes.get(key)
                b.add(replace(p, upvotes=up) if up is not None else p, key=key)
        name = f"seg-{m.generation + 1}-m{time.time_ns()}"
        _write_segment(ipath, name, b.finish())
        with write_lock(ipath):
            now = read_manifest(ipath)
            if now is None or now.segments[: len(plan) + 1] != [m.segments[0], *plan]:
                shutil.rmtree(ipath / name, ignore_errors=True)  # the index changed under us: try another time
                return False
            newer = now.segments[len(plan) + 1 :]
            write_manifest(ipath, Manifest([now.segments[0], name, *newer], now.sources, now.live, now.generation + 1))
    finally:
        for p in pins:
            p.close()
    collect(ipath)
    return True


def merge_later(ipath: Path) -> threading.Thread:
    """merge() in a background thread (not a daemon: a CLI waits for it at exit rather than waste it)."""
    t = threading.Thread(target=_merge_quietly, args=(ipath,), name="paperlens-merge")
    t.start()
    return t


def _merge_quietly(ipath: Path) -> None:
    try:
        merge(ipath)
    except (OSError, ValueError) as e:  # the index keeps its segments; the next refresh tries again
        log.warning("%s: merge failed (%s)", ipath, e)


def _size(d: Path) -> int:
    try:
        return int(json.loads((d / "meta.json").read_text())["papers"])
    except (OSError, ValueError, KeyError):
        return 0


def collect(ipath: Path) -> None:
    """Delete the segments and live files no manifest lists, unless a reader has them open; and temp dirs of
    writers that died (a crash mid-write leaves one)."""
    with write_lock(ipath):
        m = read_manifest(ipath)
        if m is None:
            return
        keep = set(m.segments) | ({m.live} if m.live else set())
        for d in ipath.iterdir():
            if d.name in keep or d.name in (MANIFEST, IN_USE, WRITE_LOCK):
                continue
            if d.is_dir():
                if ".tmp" not in d.name and ".old" not in d.name:
                    remove_unless_in_use(d)  # kept while a reader uses it
                elif not _writer_alive(d.name):
                    shutil.rmtree(d, ignore_errors=True)
            elif ".tmp" in d.name:
                if not _writer_alive(d.name):
                    d.unlink(missing_ok=True)
            elif d.name.startswith("live-"):
                d.unlink(missing_ok=True)  # read whole at open: no reader keeps it


def _writer_alive(name: str) -> bool:
    """A temp dir `….tmp<pid>` belongs to a live process (then it is still being written)."""
    pid = name.rsplit(".tmp", 1)[-1].split(".")[0]
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
