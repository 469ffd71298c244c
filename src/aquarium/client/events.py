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
    deadline = None if timeout is None else clock() + timeout

    def check(state: State) -> State | None:
        if state.finished:
            return state
        if deadline is not None and clock() >= deadline:
            raise errors.TimedOut(f"{what} is still {state.status} after {timeout} s")
        return None

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
