"""Tables generated ahead of the load: same items, same order, errors where they happened, and
no thread left behind."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from aquarium.datagen import ahead


def _threads() -> set[str]:
    return {thread.name for thread in threading.enumerate()}


def test_same_items_in_order() -> None:
    assert list(ahead.ahead(iter(range(100)))) == list(range(100))
    assert list(ahead.ahead(iter([]))) == []
    assert "datagen-ahead" not in _threads()


def test_stays_at_most_depth_ahead() -> None:
    made: list[int] = []

    def items() -> Iterator[int]:
        for i in range(10):
            made.append(i)
            yield i

    out = ahead.ahead(items(), depth=2)
    assert next(out) == 0
    threading.Event().wait(0.3)  # let the producer run as far as it may
    assert len(made) <= 4  # the one handed over, two queued, one waiting to be queued
    assert list(out) == list(range(1, 10))


def test_error_raised_after_the_items_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("generation failed")

    got: list[int] = []
    with pytest.raises(ValueError, match="generation failed"):
        for item in ahead.ahead(items()):
            got.append(item)
    assert got == [1, 2]
    assert "datagen-ahead" not in _threads()


def test_consumer_leaving_stops_the_producer() -> None:
    made: list[int] = []

    def endless() -> Iterator[int]:
        i = 0
        while True:
            made.append(i)
            yield i
            i += 1

    out = ahead.ahead(endless())
    assert next(out) == 0
    out.close()
    assert "datagen-ahead" not in _threads()
    stopped_at = len(made)
    threading.Event().wait(0.2)
    assert len(made) == stopped_at
