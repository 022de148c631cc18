"""Requests before background work. The server marks each request from its arrival to its answer (`begin`,
`end`); a loader in a worker thread calls `pause()` between short pieces of its work and waits there while a
request is open, so that the request has the interpreter (the GIL) to itself instead of sharing it with the
loader a switch interval at a time (a 2 ms hover took ~4-5 ms while a 72k .bib loaded).

Call `pause()` only where the caller holds no lock a request may take (the index's lock): the request would
wait for the lock, the loader for the request.

A worker process (the one that reads a large .bib) follows the same marks: the server shares them through a small
memory file (`shared_fd`, passed to the worker, which calls `follow`), and the worker's `pause()` waits as a
thread's would. On a machine with few cores, its parsing otherwise runs beside every request.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import threading
import time
from collections.abc import Iterator

from paperlens.core.threadflag import ThreadFlag

MAX_WAIT = 0.05  # at most this long per pause: a loader always moves on, even under a stream of requests
# Requests come in bursts (a keystroke: didChange, completion, then maybe a hover or a code action, each sent as
# the last is answered): a loader goes on only once none came for this long, not between two of a burst. Had it
# gone on, the next request would share the GIL with it a switch interval at a time until its next pause.
QUIET = 0.005
STALE = 2.0  # a request open this long is forgotten (one that was never answered must not stop loaders)

_open: dict[object, float] = {}  # request id -> when it arrived (the event loop's thread writes it)
_idle = threading.Event()
_idle.set()
_server = [0]  # the thread that serves requests (a pause there would wait for its own request)
_last = [0.0]  # when the last request was answered (time.monotonic)
_urgent = ThreadFlag()  # this thread's work is what the user waits for (see `urgent`)
# Shared with worker processes: (since when a request is open, 0.0 when none is; when the last one was answered),
# on the system-wide monotonic clock.
_LAYOUT = struct.Struct("=dd")
_shared: list[mmap.mmap | None] = [None]  # the server's (written at begin/end), or the one a worker follows
_fd = [-1]
_parent = [0]  # a worker: the server's pid (when it is gone, nothing is followed any more)
# A worker waits this long in all at most: then it goes on whatever the server does (a client that sends requests
# back to back without a break would otherwise hold its work back for minutes).
FOLLOW_BUDGET = 20.0
_waited = [0.0]


def begin(key: object) -> None:
    _server[0] = threading.get_ident()
    if not _open:
        _publish(time.monotonic())
    _open[key] = time.monotonic()
    _idle.clear()


def end(key: object) -> None:
    _open.pop(key, None)
    if not _open:
        _last[0] = time.monotonic()
        _publish(0.0)
        _idle.set()


def _publish(busy_since: float) -> None:
    m = _shared[0]
    if m is not None and not _parent[0]:
        _LAYOUT.pack_into(m, 0, busy_since, _last[0])


def shared_fd() -> int | None:
    """A file descriptor of the marks for a worker process (pass it on, e.g. Popen's pass_fds, and have the
    worker call `follow`); None where it cannot be made (no memfd_create)."""
    if _fd[0] < 0:
        try:
            fd = os.memfd_create("paperlens-requests")
            os.ftruncate(fd, _LAYOUT.size)
            _shared[0] = mmap.mmap(fd, _LAYOUT.size)
        except (AttributeError, OSError, ValueError):
            return None
        _fd[0] = fd
        _publish(time.monotonic() if _open else 0.0)
    return _fd[0]


def follow(fd: int) -> bool:
    """In a worker process: pause() waits for the server's requests (the fd from its `shared_fd`); False when
    the fd cannot be read (then pause() returns at once, as in a process without requests)."""
    try:
        _shared[0] = mmap.mmap(fd, _LAYOUT.size, prot=mmap.PROT_READ)
    except (OSError, ValueError):
        return False
    _parent[0] = os.getppid()
    return True


def _wait_for_server(m: mmap.mmap) -> None:
    """A worker's pause(): the same rule, from the server's marks, polled every millisecond."""
    t0 = now = time.monotonic()
    try:
        while True:
            busy_since, last = _LAYOUT.unpack_from(m)
            now = time.monotonic()
            if not (0.0 < busy_since and now - busy_since < STALE) and now - last >= QUIET:
                return
            if now - t0 >= MAX_WAIT or _waited[0] + now - t0 >= FOLLOW_BUDGET or os.getppid() != _parent[0]:
                return  # (waited long enough; or the server is gone and its marks with it)
            time.sleep(0.001)
    finally:
        _waited[0] += now - t0


def busy() -> bool:
    return not _idle.is_set()


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Work the user is waiting for (a file's keys, before they answer): meanwhile this thread's pause() waits
    only while a request is open, not for a quiet moment after it (the requests then are mostly ones asking
    whether the keys are there yet)."""
    with _urgent.within():
        yield


def pause() -> None:
    """Wait while a request is open or one was answered less than QUIET ago (at most MAX_WAIT in all); return
    at once when none was, or in the serving thread."""
    quiet = 0.0 if _urgent.is_set() else QUIET
    if _idle.is_set() and time.monotonic() - _last[0] >= quiet or threading.get_ident() == _server[0]:
        if _parent[0] and (m := _shared[0]) is not None:
            _wait_for_server(m)
        return
    t0 = time.monotonic()
    while True:
        now = time.monotonic()
        left = t0 + MAX_WAIT - now
        if left <= 0:
            break
        if not _idle.is_set():
            _idle.wait(left)
            continue
        rest = _last[0] + quiet - now
        if rest <= 0:
            return
        time.sleep(min(rest, left))
    now = time.monotonic()
    for key, t in list(_open.items()):
        if now - t > STALE:
            end(key)
