"""core.priority: a loader's pause() waits while a request is open and goes on once it is answered; it never
waits in the thread that serves requests, and a request that is never answered stops no loader."""

from __future__ import annotations

import threading
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
