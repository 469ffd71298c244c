"""Waiting for a job or report run: through Aquarium's event stream, else by polling.

``GET /aquarium/api/v1/events?job=ID`` (Server-Sent Events, docs/job-finder-api.md) sends
``retry:`` once the server listens for the job's changes, then ``event: job`` after every
committed change of it (status, batch, rows written) and a ``: keep-alive`` comment every 15 s.
:func:`follow` reads the job again after each of those blocks: after the first, so that a change
made before the stream was open is not missed; after every event, so progress shows as it
happens; after every keep-alive, so that changes the server does not announce (a worker in
another process) are seen at least that often.

Where there is no stream (Zuora, an older Aquarium: 404), it cannot be opened, or it drops or
stays silent for :data:`STREAM_SILENCE_S`, :func:`follow` polls every ``poll_s`` instead, from
where it was.

:func:`poll` waits without a stream, polling ever less often while nothing changes: Data Query
jobs, which Zuora offers no stream for and which may wait in a queue or run for hours.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

import httpx

from aquarium.client import errors, session

EVENTS_PATH = "/aquarium/api/v1/events"
#: Seconds without a byte after which the stream counts as dropped (keep-alives come every 15 s).
STREAM_SILENCE_S = 40.0
BACKOFF_FACTOR = 1.5  # how much longer each wait of :func:`poll` is than the one before


class Followed(Protocol):
    """What a wait follows: a job or a report run as last read."""

    @property
    def status(self) -> str: ...

    @property
    def finished(self) -> bool: ...


State = TypeVar("State", bound=Followed)


def follow(
    http: session.Session,
    job_id: str,
    refresh: Callable[[], State],
    *,
    what: str,
    poll_s: float,
    timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> State:
    """Call ``refresh`` (which reads the job and reports progress) until its result is
    finished, and return that result; see the module docstring for when.

    ``timeout`` (seconds, ``None`` = no limit) raises :class:`~aquarium.client.errors.TimedOut`
    naming ``what`` ("job <id>"); errors of ``refresh`` propagate as they are.
    """
    check = _finished_or_timed_out(what, timeout, clock)
    silence = STREAM_SILENCE_S if timeout is None else min(STREAM_SILENCE_S, max(timeout, 0.1))
    with contextlib.ExitStack() as stack:
        for _ in _stream(stack, http, job_id, silence):
            done = check(refresh())
            if done is not None:
                return done
    while True:
        done = check(refresh())
        if done is not None:
            return done
        sleep(poll_s)


def poll(
    refresh: Callable[[], State],
    *,
    what: str,
    first_s: float,
    max_s: float,
    timeout: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> State:
    """Call ``refresh`` until its result is finished, and return that result.

    The first wait between two reads is ``first_s`` seconds; each next one is
    :data:`BACKOFF_FACTOR` times longer, up to ``max_s``, and back to ``first_s`` whenever the
    status changes (so that a job just started is seen finishing soon). ``timeout`` as in
    :func:`follow`.
    """
    check = _finished_or_timed_out(what, timeout, clock)
    pause, seen = first_s, None
    while True:
        state = refresh()
        done = check(state)
        if done is not None:
            return done
        if state.status != seen:
            pause, seen = first_s, state.status
        sleep(pause)
        pause = min(pause * BACKOFF_FACTOR, max_s)


def _finished_or_timed_out(
    what: str, timeout: float | None, clock: Callable[[], float]
) -> Callable[[State], State | None]:
    """A check of each read: the state once finished, ``None`` while not, and
    :class:`~aquarium.client.errors.TimedOut` once ``timeout`` seconds have passed."""
    deadline = None if timeout is None else clock() + timeout

    def check(state: State) -> State | None:
        if state.finished:
            return state
        if deadline is not None and clock() >= deadline:
            raise errors.TimedOut(f"{what} is still {state.status} after {timeout} s")
        return None

    return check


def _stream(
    stack: contextlib.ExitStack, http: session.Session, job_id: str, silence_s: float
) -> Iterator[None]:
    """One item per block of the job's event stream as it arrives, open until ``stack``
    closes; nothing at all where there is no stream."""
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "identity"}
    timeout = httpx.Timeout(session.DEFAULT_TIMEOUT_S, read=silence_s)
    try:
        response = stack.enter_context(
            http.stream(EVENTS_PATH, params={"job": job_id}, headers=headers, timeout=timeout)
        )
    except errors.ClientError:  # not there (404), refused, unreachable: the polls will tell
        return iter(())
    if not response.headers.get("content-type", "").startswith("text/event-stream"):
        return iter(())
    return _blocks(response)


def _blocks(response: httpx.Response) -> Iterator[None]:
    """One item per block of the stream (an event, a comment, a ``retry:``), until it drops."""
    pending = False
    try:
        for line in response.iter_lines():
            if line:
                pending = True
            elif pending:
                pending = False
                yield None
    except httpx.HTTPError:  # dropped, or silent for too long
        return
