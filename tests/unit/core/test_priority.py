"""core.priority: a loader's pause() waits while a request is open and goes on once it is answered; it never
waits in the thread that serves requests, and a request that is never answered stops no loader."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from paperlens.core import priority


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    for key in (1, "r", "lost"):  # (a failed test leaves no request open for the next ones)
        priority.end(key)


def test_a_loader_waits_while_a_request_is_open() -> None:
    order: list[str] = []
    started = threading.Event()

    def loader() -> None:
        started.set()
        priority.pause()
        order.append("loader")

    priority.begin(1)
    assert priority.busy()
    t = threading.Thread(target=loader)
    t.start()
    started.wait()
    t.join(0.02)  # (less than MAX_WAIT: still paused)
    assert t.is_alive() and order == []
    order.append("request")
    priority.end(1)
    t.join(5)
    assert order == ["request", "loader"]
    assert not priority.busy()


def test_no_wait_when_idle_or_in_the_serving_thread() -> None:
    priority.pause()  # idle: returns at once
    priority.begin("r")
    priority.pause()  # the thread that began the request is the one serving it: no wait for itself
    priority.end("r")
    assert not priority.busy()


def test_a_request_never_answered_is_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "MAX_WAIT", 0.001)
    monkeypatch.setattr(priority, "STALE", 0.0)
    priority.begin("lost")
    done = threading.Event()

    def loader() -> None:
        priority.pause()
        done.set()

    t = threading.Thread(target=loader)
    t.start()
    assert done.wait(5)
    assert not priority.busy()  # (the loader after it does not wait either)


def test_a_loader_waits_for_a_quiet_moment_after_a_burst_of_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "QUIET", 0.2)  # (long: a busy machine's late wake-ups stay well inside it)
    monkeypatch.setattr(priority, "MAX_WAIT", 5.0)
    went: list[float] = []

    def loader() -> None:
        priority.pause()
        went.append(time.monotonic())

    priority.begin(1)
    t = threading.Thread(target=loader)
    t.start()
    priority.end(1)
    answered = time.monotonic()
    for _ in range(3):  # the burst's next requests, each sent as the one before is answered
        time.sleep(priority.QUIET / 20)
        assert not went  # (the loader has not gone on between two of them)
        priority.begin(1)
        priority.end(1)
        answered = time.monotonic()
    t.join(5)
    assert went and went[0] - answered >= priority.QUIET * 0.9
    time.sleep(priority.QUIET)
    t0 = time.monotonic()
    priority.pause()  # no request for QUIET: at once
    assert time.monotonic() - t0 < priority.QUIET


def test_urgent_work_waits_for_an_open_request_but_not_for_a_quiet_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "QUIET", 0.5)
    monkeypatch.setattr(priority, "MAX_WAIT", 5.0)
    took: dict[str, float] = {}

    def loader(name: str, hurry: bool) -> None:
        t0 = time.monotonic()
        if hurry:
            with priority.urgent():
                priority.pause()
        else:
            priority.pause()
        took[name] = time.monotonic() - t0

    priority.begin(1)
    threads = [threading.Thread(target=loader, args=(n, n == "keys")) for n in ("keys", "records")]
    for t in threads:
        t.start()
    time.sleep(0.1)
    assert not took  # both wait while the request is open
    priority.end(1)
    for t in threads:
        t.join(5)
    assert took["keys"] < 0.3 < took["records"]  # the keys go on once it is answered; the rest after a quiet 0.5 s
    t0 = time.monotonic()
    with priority.urgent():
        priority.pause()  # (no request open: at once, quiet or not)
    assert time.monotonic() - t0 < 0.1


def test_a_stream_of_requests_does_not_stop_a_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(priority, "MAX_WAIT", 0.02)
    done = threading.Event()
    t = threading.Thread(target=lambda: (priority.pause(), done.set()))
    t0 = time.monotonic()
    t.start()
    while not done.is_set() and time.monotonic() - t0 < 5:  # a request every millisecond, never a quiet moment
        priority.begin(1)
        priority.end(1)
        time.sleep(0.001)
    assert done.is_set() and time.monotonic() - t0 < 1


def _follower(fd: int, budget: float = 20.0) -> subprocess.Popen[str]:
    """A worker process following the server's marks: each line it reads, it pauses once and says how long."""
    child = (
        "import sys, time\n"
        "from paperlens.core import priority\n"
        "assert priority.follow(int(sys.argv[1]))\n"
        "priority.MAX_WAIT = 5.0\n"
        "priority.FOLLOW_BUDGET = float(sys.argv[2])\n"
        "for line in sys.stdin:\n"
        "    t0 = time.monotonic()\n"
        "    priority.pause()\n"
        "    print(f'{time.monotonic() - t0:.4f}', flush=True)\n")
    return subprocess.Popen([sys.executable, "-c", child, str(fd), str(budget)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, pass_fds=(fd,))


def test_a_worker_process_pauses_while_the_server_answers_a_request() -> None:
    fd = priority.shared_fd()
    assert fd is not None
    p = _follower(fd)
    assert p.stdin is not None and p.stdout is not None

    def ask() -> float:
        assert p.stdin is not None and p.stdout is not None
        p.stdin.write("\n")
        p.stdin.flush()
        return float(p.stdout.readline())

    try:
        time.sleep(0.05)  # (no request for a while)
        assert ask() < 0.05  # none open: the worker goes on at once
        priority.begin(1)
        threading.Timer(0.3, priority.end, (1,)).start()  # answered 0.3 s later
        assert 0.25 < ask() < 2.0  # the worker waited for it (and for a quiet moment after)
        time.sleep(0.05)
        assert ask() < 0.05
    finally:
        p.stdin.close()
        p.wait(10)


def test_a_worker_process_waits_no_longer_than_its_budget_in_all() -> None:
    fd = priority.shared_fd()
    assert fd is not None
    p = _follower(fd, budget=0.3)
    assert p.stdin is not None and p.stdout is not None
    try:
        priority.begin(1)  # open throughout (less than STALE)
        got = []
        for _ in range(3):
            p.stdin.write("\n")
            p.stdin.flush()
            got.append(float(p.stdout.readline()))
        assert 0.25 < got[0] < 1.0 and got[1] < 0.1 and got[2] < 0.1  # then it goes on whatever the server does
    finally:
        priority.end(1)
        p.stdin.close()
        p.wait(10)
