"""A cold build on every core: worker processes analyse chunks of papers, this process merges their columns.

What costs a build its time is per paper and independent of the other papers: aliases (regexes over the
abstract), key phrases, words, the record's JSON. Workers run `IndexBuilder.add` on consecutive chunks of the
stream, each into a builder of its own, and send back its compact columns (packed strings, integer arrays, the
chunk's vocabularies). The merge appends them to one builder in stream order and renumbers each chunk's terms
into the global vocabularies in first-seen order, so the merged builder is the one `add_all` would have made
paper by paper (tests/unit/test_parallel.py checks that the finished indexes are equal), and `finish` runs on
it unchanged. A few chunks per worker are in flight (so that each has its next one waiting), so memory stays
near the serial build's.
"""

from __future__ import annotations

import contextlib
import gc
import io
import logging
import os
import pickle
import queue
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from paperlens.core.model import Paper, Repo
from paperlens.index import semantic
from paperlens.index.build import (
    IndexBuilder,
    Strings,
    big_blocks_mapped,
    freed_blocks_kept,
    phase,
    ranked_part,
    return_freed_memory,
)
from paperlens.index.dense import DENSE_MAX
from paperlens.index.terms import HashedTerms, Vocab, pack, term_hashes

log = logging.getLogger(__name__)

CHUNK = 2000  # papers a worker analyses at a time (~1 s of work; big enough that the merge is cheap)
MIN_PARALLEL = 3 * CHUNK  # smaller streams are built here: starting workers costs about a second
GC_EVERY = 16  # a worker's messages between two garbage collections
WORD_TABLE_ENV = "PAPERLENS_WORD_TABLE_DIR"  # where a worker finds the saved word table (semantic.use_cache_dir)
FEED_AHEAD = 3  # chunks of a feed in a worker's care at a time (`Workers.map_feed`)
PIPE_SIZE = 1 << 20  # a worker's pipes' capacity (Linux's default limit for a user; 64 KiB by default)
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
    blob, off, hashes = _hashed_packed(*content_terms)
    out["content"] = (hashes, blob, off, bag_tids, bag_w.copy(), np.frombuffer(b.bag_len, dtype=np.uint32).copy())
    return out


def _hashed(terms: Iterable[str]) -> tuple[bytes, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """A chunk's vocabulary (first-seen order) packed, and its terms' hashes."""
    return _hashed_packed(*pack(terms))


def _hashed_packed(blob: bytes, off: np.ndarray[Any, Any]) -> tuple[bytes, np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """`_hashed` of a vocabulary packed already."""
    hashes = term_hashes(blob, off)
    s = np.sort(hashes)  # (numpy 2's np.unique hashes: ~4x the time of this sort)
    if len(s) > 1 and bool((s[1:] == s[:-1]).any()):
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


class FeedChunks(Protocol):
    """A stream of papers that the workers parse themselves (a big feed: library/feedstream.py), so that this
    process neither parses nor pickles them: it reads raw chunks (`raw_chunks`: bytes of CHUNK items, say), a
    worker parses one (`parse`, a module-level function: it goes to the worker by name) and says what this
    process needs to know of its papers (identity hashes, say), this process decides on them in stream order
    (`decide`: which are duplicates), and the worker makes the decided papers (`take`) and analyses them.
    `rest`: papers of no chunk, after the last one."""

    parse: Callable[[Any], tuple[list[Paper], Any]]
    take: Callable[[list[Paper], Any, dict[str, Repo]], list[Paper]]

    def raw_chunks(self) -> Iterator[Any]: ...

    def decide(self, info: Any) -> Any: ...

    def rest(self) -> list[Paper]: ...


def feed_papers(source: FeedChunks, repos: dict[str, Repo], raws: Iterable[Any] | None = None) -> Iterator[Paper]:
    """The papers of a FeedChunks stream, all made in this process (a small stream, or a single core)."""
    for raw in source.raw_chunks() if raws is None else raws:
        papers, info = source.parse(raw)
        yield from source.take(papers, source.decide(info), repos)
    yield from source.rest()


# ---------------------------------------------------------------- workers: `python -m paperlens.index.parallel`
#
# Plain child processes fed pickled chunks over a pipe (8-byte length, then the pickle), not multiprocessing:
# its spawn re-runs the caller's main script in every worker, and fork would copy the server's threads' locks.
# Neither side can block the other on a full pipe: a worker reads its messages on a thread of its own, and
# writes its answers on another (`_Pipes`); this process either sends a worker its next message only once it
# has read the last answer (`Workers.map`), or reads each worker's answers on a thread of its own while another
# writes to it (`Workers.map_feed`).


def _send(f: IO[bytes], obj: Any) -> None:
    _write(f, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _write(f: IO[bytes], data: bytes) -> None:
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


def _grow_pipes(proc: subprocess.Popen[bytes]) -> None:
    """Bigger pipes (Linux): a raw chunk (~5 MB) and an answer (~11 MB) pass in 1 MiB pieces, not 64 KiB ones,
    and this process's thread that writes or reads them needs the GIL back after each piece (up to 5 ms while
    the merge runs), the worker waiting meanwhile."""
    try:
        import fcntl

        for f in (proc.stdin, proc.stdout):
            if f is not None:
                fcntl.fcntl(f.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):  # (another system, or a lower limit: the default pipes)
        pass


class _Worker:
    def __init__(self, repos: dict[str, Repo]) -> None:
        import paperlens

        env = dict(os.environ)
        src = str(Path(paperlens.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(x for x in (src, env.get("PYTHONPATH")) if x)
        if (words := semantic.table_dir()) is not None:  # (the word table saved there: read, not remade)
            env[WORD_TABLE_ENV] = str(words)
        self.proc = subprocess.Popen([sys.executable, "-m", "paperlens.index.parallel"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        _grow_pipes(self.proc)
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
            raise self.exited() from None

    def run(self, msg: Any) -> Any:
        self.send(msg)
        return self.recv()

    def exited(self) -> OSError:
        return OSError(f"index build worker {self.proc.pid} exited ({self.proc.poll()})")

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()

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

    def map_feed(self, source: FeedChunks, raws: Iterable[Any], per_worker: int = FEED_AHEAD) -> Iterator[Any]:
        """Each raw chunk parsed on a worker, decided on here in stream order, its papers made and analysed on
        the same worker; the answers in order. A worker has up to per_worker chunks in its care (sent to be
        parsed, their analysis not yet answered), so that its next message waits in its pipe while it works on
        one: it parses chunks ahead, this process decides on them meanwhile (a worker handled one chunk at a
        time before, idle while this process read its answer and decided; at 1M papers ~15% of its time). Per
        worker one thread writes its messages in order and one reads its answers, so this process always reads
        while it writes and neither side blocks on a full pipe; a thread reads the raw chunks and hands each to
        the worker with the fewest in its care. At most per_worker + 1 chunks per worker between read and
        merged, so memory stays bounded."""
        n = len(self.procs)
        limit = (per_worker + 1) * n
        cond = threading.Condition()
        load = [0] * n  # chunks in each worker's care
        infos: dict[int, tuple[int, Any]] = {}  # chunks parsed, not yet decided on: (worker, what parse said)
        answers: dict[int, Any] = {}
        st: dict[str, Any] = {"read": None, "decided": 0, "merged": 0, "error": None}
        cpu: dict[str, float] = {"read": 0.0, "send": 0.0, "answers": 0.0, "decide": 0.0}  # this process's threads
        outbox: list[queue.SimpleQueue[tuple[int, Any] | None]] = [queue.SimpleQueue() for _ in range(n)]
        expect: list[queue.SimpleQueue[tuple[int, str] | None]] = [queue.SimpleQueue() for _ in range(n)]

        def fail(e: BaseException) -> None:
            with cond:
                if st["error"] is None:
                    st["error"] = e
                cond.notify_all()

        def read() -> None:
            cid = 0

            def room() -> bool:
                return st["error"] is not None or (cid - st["merged"] < limit and min(load) < per_worker)

            try:
                for raw in raws:
                    with cond:
                        cond.wait_for(room)
                        if st["error"] is not None:
                            return
                        i = load.index(min(load))
                        load[i] += 1
                    outbox[i].put((cid, ("parse", source.parse, raw)))
                    cid += 1
            except BaseException as e:  # (a feed that cannot be read: the build fails with its message)
                fail(e)
                return
            finally:
                cpu["read"] += time.thread_time()
            with cond:
                st["read"] = cid
                cond.notify_all()

        def write(i: int) -> None:
            w = self.procs[i]
            try:
                while (item := outbox[i].get()) is not None:
                    cid, msg = item
                    del item
                    expect[i].put((cid, msg[0]))
                    w.send(msg)
                    del msg
            except BaseException as e:
                fail(w.exited() if isinstance(e, OSError) else e)
            finally:
                cpu["send"] += time.thread_time()
                expect[i].put(None)

        def answer(i: int) -> None:
            w = self.procs[i]
            try:
                while (item := expect[i].get()) is not None:
                    cid, kind = item
                    got = w.recv()
                    with cond:
                        if kind == "take":
                            answers[cid] = got
                            load[i] -= 1
                        else:  # (chunks are decided on in stream order, whichever worker parsed them)
                            infos[cid] = (i, got)
                            t0 = time.thread_time()
                            while st["decided"] in infos and st["error"] is None:
                                c = st["decided"]
                                j, info = infos.pop(c)
                                outbox[j].put((c, ("take", source.take, source.decide(info))))
                                st["decided"] = c + 1
                            cpu["decide"] += time.thread_time() - t0
                        cond.notify_all()
                    del got
            except BaseException as e:
                fail(e)
            finally:
                cpu["answers"] += time.thread_time()

        threads = [threading.Thread(target=read, daemon=True, name="index-feed")]
        for i in range(n):
            threads.append(threading.Thread(target=write, args=(i,), daemon=True, name="index-feed-send"))
            threads.append(threading.Thread(target=answer, args=(i,), daemon=True, name="index-feed-answer"))
        for t in threads:
            t.start()
        done = False
        try:
            cid = 0
            while True:
                def ready(c: int = cid) -> bool:
                    return c in answers or st["error"] is not None or st["read"] == c

                with cond:
                    cond.wait_for(ready)
                    if cid in answers:
                        part = answers.pop(cid)
                        st["merged"] = cid + 1
                        cond.notify_all()
                    elif st["error"] is not None:
                        raise st["error"]
                    else:
                        break
                yield part
                del part
                cid += 1
            done = True
        finally:
            if not done:  # (an error, or the build stopped: the workers go, and with them what waits on them)
                fail(EOFError("stopped"))
                for w in self.procs:
                    w.kill()
            for q in outbox:
                q.put(None)
            for t in threads:
                t.join(timeout=None if done else 10)
            if done:
                log.info("index build: this process read the feed's chunks for %.1f CPU-s, sent them for %.1f, read "
                         "the answers for %.1f (of which deciding on duplicates %.1f)", cpu["read"], cpu["send"],
                         cpu["answers"], cpu["decide"])

    def log_idle(self, what: str) -> None:
        """For the build's log: each worker's time waiting for its next message and for its last answer to be
        out (a core left idle, whatever else runs on the machine), of its wall time since its first message, and
        its CPU time."""
        if log.isEnabledFor(logging.INFO):
            got = [w.run(("idle",)) for w in self.procs]
            log.info("index build: the workers waited for their next %s %s s, to send %s s, of %s s; CPU %s s", what,
                     *(" + ".join(f"{i[k]:.1f}" for i in got) for k in (0, 1, 3, 2)))

    def top_terms(self, idf: npt.NDArray[np.float64], df: npt.NDArray[np.int64],
                  parts: Iterable[tuple[Any, ...]]) -> Iterator[tuple[npt.NDArray[Any], ...]]:
        """`build.ranked_part` of each chunk of bags as stored (`HashedTerms.bag_parts`), in order. Each goes
        with its own terms' idf and own-term flags, so that no worker holds the vocabulary's tables (at 1M papers
        ~80 MB each); the worker makes the per-entry arrays (~2.5x the bytes through the pipe, and the gathers
        this process then made while it also makes the other tables)."""
        yield from self.map(("top", ids, tids, w, lens, seq0, idf[ids], df[ids] <= 1)
                            for ids, tids, w, lens, seq0 in parts)
        self.log_idle("bags")

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
    _merge_parts(b, workers, lambda pool: pool.map(chain(head, chunks)))


def add_feed_parallel(b: IndexBuilder, source: FeedChunks, workers: int | None = None,
                      min_chunks: int = MIN_PARALLEL // CHUNK) -> None:
    """`add_all_parallel` of a FeedChunks stream: the workers parse the feed too. Serially (`feed_papers`) for
    fewer than min_chunks raw chunks or a single core."""
    workers = default_workers() if workers is None else workers
    raws = source.raw_chunks()
    head = list(islice(raws, max(1, min_chunks)))
    if workers <= 1 or len(head) < min_chunks:
        b.add_all(feed_papers(source, b.repos, chain(head, raws)))
        return

    def parts(pool: Workers) -> Iterator[Any]:
        yield from pool.map_feed(source, chain(head, raws))
        if rest := source.rest():  # (after every chunk is decided: the small set's papers no feed had)
            yield from pool.map(_chunks(rest, CHUNK))

    _merge_parts(b, workers, parts)


def _merge_parts(b: IndexBuilder, workers: int, parts: Callable[[Workers], Iterator[Any]]) -> None:
    """The workers' chunks (`parts` of the pool) merged into b in stream order; then fresh workers for `finish`."""
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
            for part in parts(pool):
                t0 = time.perf_counter()
                merge_chunk(b, part)
                merging += time.perf_counter() - t0
                merged += 1
                if merged % 16 == 0:
                    return_freed_memory()
            log.info("index build: while the workers ran, this thread merged their chunks for %.1f s (of which merging "
                     "the vocabularies: names %.1f s in %d, words %.1f s in %d, key phrases %.1f s in %d)", merging,
                     b.hnames.merge_s, b.hnames.merges, b.hwords.merge_s, b.hwords.merges, b.hashed.merge_s,
                     b.hashed.merges)
            pool.log_idle("chunks")
        # Fresh processes for the related-paper ranking (`IndexBuilder.finish`): a worker that analysed chunks
        # keeps a heap of ~0.2-0.3 GB (at 1M papers), a new one ~0.06 GB, and the ranking needs no repos.
        pool.close()
        b.workers = Workers({}, workers)
        # The vocabularies are numbered by `IndexBuilder.finish`, each where it is first needed (the key phrases
        # on the thread that ranks them, beside the keys): here one core would wait for the other.
        return_freed_memory()
    except BaseException:
        b.close_workers()
        raise


class _Pipes:
    """A worker's ends of its pipes, each served by a thread of its own, so that the worker goes on with its work
    while this process writes its next message and reads its last answer (~5 and ~11 MB, in 1 MiB pieces, each
    waiting for a thread of the merging process to get its GIL back): one message is read ahead, one answer
    is being written. `waited`: the time the worker waited for a message, and for its last answer to be out."""

    def __init__(self, inp: IO[bytes], out: IO[bytes]) -> None:
        self.out = out
        self.inbox: queue.Queue[tuple[Any] | BaseException] = queue.Queue(maxsize=1)
        self.writer = ThreadPoolExecutor(1, thread_name_prefix="answers")
        self.writing: Future[None] | None = None
        self.waited = [0.0, 0.0]
        threading.Thread(target=self._read, args=(inp,), daemon=True, name="messages").start()

    def _read(self, inp: IO[bytes]) -> None:
        while True:
            try:
                self.inbox.put((_recv(inp),))
            except BaseException as e:  # (EOFError: the pipe closed, the worker's end)
                self.inbox.put(e)
                return

    def recv(self) -> Any:
        t0 = time.perf_counter()
        got = self.inbox.get()
        self.waited[0] += time.perf_counter() - t0
        if isinstance(got, BaseException):
            raise got
        return got[0]

    def send(self, obj: Any) -> None:
        data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
        self.flush()
        self.writing = self.writer.submit(_write, self.out, data)

    def flush(self) -> None:
        if self.writing is not None:
            t0 = time.perf_counter()
            self.writing.result()
            self.waited[1] += time.perf_counter() - t0
            self.writing = None


def _serve() -> None:
    """A worker: repos first, then chunks of papers, each answered with its columns, until the pipe closes."""
    inp = sys.stdin.buffer
    # The pipe gets frames only: whatever a library prints goes to stderr (the server's log), not into a frame.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _init(_recv(inp))
    if words := os.environ.get(WORD_TABLE_ENV):
        semantic.use_cache_dir(Path(words))
    # No automatic garbage collection: a chunk's parse and analysis allocate ~10^6 objects, and each collection
    # walks the young ones and, now and then, the word memo's ~300k tuples (~9% of a chunk's CPU). What the
    # chunks leave is freed by reference counting; a full collection every GC_EVERY messages finds any cycle,
    # and what survives it (the memos) is frozen, not walked again.
    gc.disable()
    # Freed blocks kept for the next chunk's (its bytes, its arrays): fresh pages faulted in and zeroed cost
    # here (1M papers, two alternated pairs: ~1.7M fewer faults, ~5 s less system time, workers ~4% less CPU).
    freed_blocks_kept()
    pipes = _Pipes(inp, out)
    handled = 0
    seen = 0
    ranking = False
    held: deque[list[Paper]] = deque()  # raw chunks' papers, parsed here, until this process decides on them
    start: tuple[float, float] | None = None  # wall and CPU time at the first message (the build's log: `idle`)
    while True:
        try:
            msg = pipes.recv()
        except EOFError:
            pipes.flush()
            return
        if start is None:
            start = time.perf_counter(), time.process_time()
            pipes.waited[0] = 0.0
        if not isinstance(msg, list) and msg[0] == "idle":
            pipes.send((*pipes.waited, time.process_time() - start[1], time.perf_counter() - start[0]))
            continue
        handled += 1
        if handled % GC_EVERY == 0:
            gc.collect()
            gc.freeze()
        if isinstance(msg, list):  # a chunk of papers
            seen += len(msg)
            pipes.send(_analyse(msg, texts=seen <= DENSE_MAX))
        elif msg[0] == "parse":  # ("parse", FeedChunks.parse, a raw chunk): its papers kept, the info sent
            papers, info = msg[1](msg[2])
            held.append(papers)
            del papers
            pipes.send(info)
        elif msg[0] == "take":  # ("take", FeedChunks.take, the decision on the papers held): analysed
            papers = msg[1](held.popleft(), msg[2], _repos)
            seen += len(papers)
            pipes.send(_analyse(papers, texts=seen <= DENSE_MAX))
        else:  # ("top", a chunk's bags as stored, its terms' idf and own flags): the related-paper step
            if not ranking:  # (the chunks' analysis is over: its freed memory back to the system)
                ranking = True
                return_freed_memory()
            pipes.send(ranked_part(*msg[1:]))
        del msg


if __name__ == "__main__":
    try:
        _serve()
    except BaseException:  # (out at once: the interpreter's shutdown could wait on the thread reading the pipe)
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
