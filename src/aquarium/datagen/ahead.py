"""Generate the next table while the engine loads the current one.

Generating (NumPy, pyarrow) and loading (DuckDB, PostgreSQL's COPY) each spend most of their
time outside the GIL, so with a thread each they overlap: :func:`ahead` runs an iterator in a
thread of its own, at most :data:`DEPTH` items ahead of its consumer (memory: that many more
tables, each at most one slice of ``generate.CHUNK_ROWS`` rows or one small object).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")

#: Items made before the consumer asks for them.
DEPTH = 1
#: How often a producer blocked on a full queue checks whether the consumer left (seconds).
PUT_POLL_S = 0.1


class _Done:
    """The end of the items, with the producer's error if it failed."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def ahead(items: Iterator[T], depth: int = DEPTH) -> Iterator[T]:
    """``items``, in order, made by a thread of their own up to ``depth`` items in advance.

    An error raised by ``items`` is raised here, at the item it replaced. A consumer that stops
    early (an error of its own, ``close()``) stops the producer after the item it is making, and
    waits for it: no thread outlives the iteration.
    """
    handoff: queue.Queue[T | _Done] = queue.Queue(maxsize=depth)
    left = threading.Event()

    def put(item: T | _Done) -> bool:
        while not left.is_set():
            try:
                handoff.put(item, timeout=PUT_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(_Done(error))
        else:
            put(_Done(None))

    producer = threading.Thread(target=produce, name="datagen-ahead", daemon=True)
    producer.start()
    try:
        while True:
            item = handoff.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        left.set()
        producer.join()
