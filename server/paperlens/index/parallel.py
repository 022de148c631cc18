"""A cold build on every core: worker processes analyse chunks of papers, this process merges their columns.

What costs a build its time is per paper and independent of the other papers: aliases (regexes over the
abstract), key phrases, words, the record's JSON. Workers run `IndexBuilder.add` on consecutive chunks of the
stream, each into a builder of its own, and send back its compact columns (packed strings, integer arrays, the
chunk's vocabularies). The merge appends them to one builder in stream order and renumbers each chunk's terms
into the global vocabularies in first-seen order, so the merged builder is the one `add_all` would have made
paper by paper (tests/unit/test_parallel.py checks that the finished indexes are equal), and `finish` runs on
it unchanged. At most two chunks per worker are in flight, so memory stays near the serial build's.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import numpy.typing as npt

from paperlens.core.model import Paper, Repo
from paperlens.index.build import IndexBuilder, Strings, big_blocks_mapped, phase, ranked_terms, return_freed_memory
from paperlens.index.dense import DENSE_MAX
from paperlens.index.terms import HashedTerms, Vocab, pack, term_hashes

log = logging.getLogger(__name__)

CHUNK = 2000  # papers a worker analyses at a time (~1 s of work; big enough that the merge is cheap)
MIN_PARALLEL = 3 * CHUNK  # smaller streams are built here: starting workers costs about a second
_STRINGS = ("titles", "methods", "authors", "repo_names", "arxiv", "base_keys")
_ARRAYS = ("user_key", "year", "upvotes", "date_ord")

_repos: dict[str, Repo] = {}


def default_workers() -> int:
    """One worker per core this process may use (this process merges, and parses the feed, meanwhile)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _init(repos: dict[str, Repo]) -> None:
    global _repos
    _repos = repos


def _analyse(papers: list[Paper], texts: bool = True) -> dict[str, Any]:
    """In a worker: one chunk through `IndexBuilder.add`, returned as plain columns (cheap to pickle); texts:
    with the papers' texts for dense vectors (a worker that has seen more than dense.DENSE_MAX papers knows
    that the index is too large for them)."""
    b = IndexBuilder(_repos, defer_terms=True)  # records in memory (BytesIO), terms numbered at the end
    for p in papers:
        b.add(p)
    content_terms, bag_tids, bag_w = b.numbered_terms()
    rec = cast(io.BytesIO, b.rec)
    out: dict[str, Any] = {"n": b.n, "records": rec.getvalue(), "rec_start": b.rec_start, "rec_end": b.rec_end,
                           "prefixes": b.prefixes, "texts": b.texts if texts else None}
    for name in _STRINGS:
        s: Strings = getattr(b, name)
        out[name] = (bytes(s.blob), s.off)
    for name in _ARRAYS:
        out[name] = getattr(b, name)
    # Names, words, key phrases: each vocabulary packed and hashed (terms.py), with what the merge aggregates.
    blob, off, hashes = _hashed(b.names.ids)
    dblob, doff = pack(b.name_display)
    out["names"] = (hashes, blob, off, {"common": np.frombuffer(bytes(b.name_common), dtype=np.uint8),
                                         "code": np.frombuffer(bytes(b.name_code_only), dtype=np.uint8)},
                    {"t": np.frombuffer(b.names.t, dtype=np.uint32), "s": np.frombuffer(b.names.s, dtype=np.uint32),
                     "dblob": np.frombuffer(dblob, dtype=np.uint8), "doff": doff})
    blob, off, hashes = _hashed(b.words.ids)
    out["words"] = (hashes, blob, off, {}, {"t": np.frombuffer(b.words.t, dtype=np.uint32),
                                            "s": np.frombuffer(b.words.s, dtype=np.uint32)})
    blob, off, hashes = _hashed(content_terms)
    out["content"] = (hashes, blob, off, bag_tids, bag_w.copy(), np.frombuffer(b.bag_len, dtype=np.uint32).copy())
    return out


def _hashed(terms: Iterable[str]) -> tuple[bytes, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A chunk's vocabulary (first-seen order) packed, and its terms' hashes."""
    blob, off = pack(terms)
    hashes = term_hashes(blob, off)
    if len(np.unique(hashes)) < len(hashes):
        log.warning("index build: two terms of a chunk share a 64-bit hash; they are counted as one")
    return blob, off, hashes


def merge_chunk(b: IndexBuilder, part: dict[str, Any]) -> None:
    """Append a worker's chunk to b, as if its papers had been added to b one by one."""
    base = b.n
    b.n += part["n"]
    rec_base = b.rec.tell()
    b.rec.write(part["records"])
    for name in ("rec_start", "rec_end"):
        getattr(b, name).frombytes((np.frombuffer(part[name], dtype=np.int64) + rec_base).tobytes())
    for name in _STRINGS:
        blob, off = part[name]
        strs: Strings = getattr(b, name)
        blob_base = len(strs.blob)
        strs.blob += blob
        strs.off.frombytes((np.frombuffer(off, dtype=np.int64)[1:] + blob_base).tobytes())
    for name in _ARRAYS:
        getattr(b, name).extend(part[name])
    # Names: a name's display is the first one met; it is common if any paper calls it so, code-only if all do.
    assert b.hashed is not None and b.hnames is not None and b.hwords is not None
    for vocab, (hashes, blob, off, cols, stored) in ((b.hnames, part["names"]), (b.hwords, part["words"])):
        vocab.add_chunk(hashes, blob, off, cols, {**stored, "s": stored["s"] + np.uint32(base)})
    b.prefixes.update(part["prefixes"])
    # Dense vectors' texts (dense.py), while the index is small enough to have vectors.
    b.texts = b.texts + part["texts"] if b.texts is not None and part["texts"] is not None and \
        len(b.texts) + len(part["texts"]) <= DENSE_MAX else None
    # Key phrases: counted by hash, their bags to the scratch file (terms.py).
    b.hashed.add_chunk(*part["content"])


def _chunks(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    it = iter(papers)
    while chunk := list(islice(it, size)):
        yield chunk


# ---------------------------------------------------------------- workers: `python -m paperlens.index.parallel`
#
# Plain child processes fed pickled chunks over a pipe (8-byte length, then the pickle), not multiprocessing:
# its spawn re-runs the caller's main script in every worker, and fork would copy the server's threads' locks.
# A worker answers a chunk only once it has read all of it, and is sent the next one only once its answer is
# read, so neither side can block the other on a full pipe.


def _send(f: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    f.write(struct.pack("<Q", len(data)))
    f.write(data)
    f.flush()


def _recv(f: IO[bytes]) -> Any:
    head = f.read(8)
    if len(head) < 8:
        raise EOFError
    (size,) = struct.unpack("<Q", head)
    data = f.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


class _Worker:
    def __init__(self, repos: dict[str, Repo]) -> None:
        import paperlens

        env = dict(os.environ)
        src = str(Path(paperlens.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(x for x in (src, env.get("PYTHONPATH")) if x)
        self.proc = subprocess.Popen([sys.executable, "-m", "paperlens.index.parallel"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        _send(self.stdin, repos)

    @property
    def stdin(self) -> IO[bytes]:
        assert self.proc.stdin is not None
        return self.proc.stdin

    def send(self, msg: Any) -> None:
        _send(self.stdin, msg)

    def recv(self) -> Any:
        assert self.proc.stdout is not None
        try:
            return _recv(self.proc.stdout)
        except EOFError:
            raise OSError(f"index build worker {self.proc.pid} exited ({self.proc.poll()})") from None

    def run(self, msg: Any) -> Any:
        self.send(msg)
        return self.recv()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Workers:
    """The build's worker processes: chunks of papers analysed while the feed is read, then (`top_terms`) the
    related-paper step's per-paper ranking, which `IndexBuilder.finish` runs on them while this process makes
    the other tables."""

    def __init__(self, repos: dict[str, Repo], n: int) -> None:
        self.procs: list[_Worker] = []
        try:
            for _ in range(n):
                self.procs.append(_Worker(repos))
        except BaseException:
            self.close()
            raise

    def map(self, msgs: Iterable[Any]) -> Iterator[Any]:
        """Each message to a free worker, the answers in order; at most two messages per worker in flight. One
        thread per worker waits on its pipe (the GIL is free meanwhile); msgs is read in the caller's thread."""
        idle: queue.SimpleQueue[_Worker] = queue.SimpleQueue()
        for w in self.procs:
            idle.put(w)

        def run(m: Any) -> Any:
            w = idle.get()
            try:
                return w.run(m)
            finally:
                idle.put(w)

        with ThreadPoolExecutor(len(self.procs)) as pool:
            pending: deque[Future[Any]] = deque()
            for m in msgs:
                pending.append(pool.submit(run, m))
                if len(pending) >= 2 * len(self.procs):
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def top_terms(self, idf: npt.NDArray[np.float64], df: npt.NDArray[np.int64],
                  chunks: Iterable[tuple[npt.NDArray[Any], ...]]) -> Iterator[tuple[npt.NDArray[Any], ...]]:
        """`build.top_terms(*chunk, idf, df)` of each chunk (term ids, weights, paper seq), in order. Each chunk
        goes with its entries' idf and own-term flags, so that no worker holds the vocabulary's tables (at 1M
        papers ~80 MB each)."""
        yield from self.map(("top", t, w, s, idf[t], df[t] <= 1) for t, w, s in chunks)

    def close(self) -> None:
        for w in self.procs:
            w.close()
        self.procs = []


def add_all_parallel(b: IndexBuilder, papers: Iterable[Paper], workers: int | None = None,
                     chunk: int = CHUNK, min_parallel: int = MIN_PARALLEL) -> None:
    """`b.add_all(papers)` on `workers` processes (default: one per core); serially for a small stream or a
    single core. b must be fresh (no papers added yet). Worker processes are left to b (`b.workers`): its
    `finish` uses them once more and closes them (`IndexBuilder.close_workers`)."""
    workers = default_workers() if workers is None else workers
    chunks = _chunks(papers, chunk)
    head = list(islice(chunks, max(1, min_parallel // chunk)))
    if workers <= 1 or len(head) * chunk < min_parallel:
        for c in chain(head, chunks):
            b.add_all(c)
        return
    big_blocks_mapped()
    scratch = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the builder)
    b.hashed = HashedTerms(scratch)
    b.hnames = Vocab(scratch, {"common": np.maximum, "code": np.minimum})
    b.hwords = Vocab(scratch)
    pool = Workers(b.repos, workers)
    b.workers = pool
    try:
        with phase("workers' phase"):
            merged = 0
            merging = 0.0  # this thread's time merging the chunks (besides: reading the feed, waiting)
            for part in pool.map(chain(head, chunks)):
                t0 = time.perf_counter()
                merge_chunk(b, part)
                merging += time.perf_counter() - t0
                merged += 1
                if merged % 16 == 0:
                    return_freed_memory()
            log.info("index build: while the workers ran, this thread merged their chunks for %.1f s", merging)
        # Fresh processes for the related-paper ranking (`IndexBuilder.finish`): a worker that analysed chunks
        # keeps a heap of ~0.2-0.3 GB (at 1M papers), a new one ~0.06 GB, and the ranking needs no repos.
        pool.close()
        b.workers = Workers({}, workers)
        with phase("vocabularies numbered"):
            b.hashed.close()
            b.hwords.close()  # (names get the keys first: IndexBuilder.finish)
            return_freed_memory()
    except BaseException:
        b.close_workers()
        raise


def _serve() -> None:
    """A worker: repos first, then chunks of papers, each answered with its columns, until the pipe closes."""
    inp = sys.stdin.buffer
    # The pipe gets frames only: whatever a library prints goes to stderr (the server's log), not into a frame.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _init(_recv(inp))
    seen = 0
    ranking = False
    while True:
        try:
            msg = _recv(inp)
        except EOFError:
            return
        if isinstance(msg, list):  # a chunk of papers
            seen += len(msg)
            _send(out, _analyse(msg, texts=seen <= DENSE_MAX))
        else:  # ("top", term ids, weights, paper seq, idf, own) of a chunk's bags: the related-paper step
            if not ranking:  # (the chunks' analysis is over: its freed memory back to the system)
                ranking = True
                return_freed_memory()
            _send(out, ranked_terms(*msg[1:]))


if __name__ == "__main__":
    _serve()
