"""notifyUrl deliveries against a local HTTP receiver: substitution, retries, the allow-list.

The receiver listens on 127.0.0.1, which the sender refuses unless it is allowed explicitly;
the retry schedule is shrunk to milliseconds.
"""

from __future__ import annotations

import http.server
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from aquarium import datagen
from aquarium.domain import clock as clock_port
from aquarium.domain import jobs
from aquarium.engines import naming
from aquarium.runner import notify
from aquarium.store import notifications_repo
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS, PRINCIPAL, TENANT, ServerFactory

make_server = support.make_server
QUERY = support.FAST_QUERIES[0]
FAST_RETRIES = (0.02, 0.04, 0.08, 0.16)  # seconds: the real schedule, shrunk
State = notifications_repo.State


@pytest.fixture(scope="module")
def billing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("billing-notify")
    datagen.generate_into(data_dir, TENANT, scale=0.05, seed=support.SEED)
    return data_dir / naming.DUCKDB_FILE


@dataclass
class Receiver:
    """Answers each GET with the next status of ``answers`` (the last one repeats)."""

    server: http.server.ThreadingHTTPServer
    answers: list[int] = field(default_factory=lambda: [200])
    redirect_to: str = ""
    paths: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = state["receiver"]
            found.paths.append(self.path)
            status = found.answer()
            self.send_response(status)
            if status in notify.REDIRECTS:
                self.send_header("Location", found.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()
    thread.join()


def _server(make_server: ServerFactory, allowed: tuple[str, ...]) -> support.Harness:
    """A server (not started) whose sender allows ``allowed`` and retries quickly."""
    h = make_server(start=False)
    assert h.srv.notifications is not None
    h.srv.notifications.stop()  # the default one was never started: free its pool and client
    h.srv.notifications = notify.NotificationSender(
        h.srv.metadata,
        clock_port.SystemClock(),
        allowed_hosts=allowed,
        retry_delays_s=FAST_RETRIES,
        poll_s=0.01,
    )
    return h


def _finished(h: support.Harness, job_id: str) -> notifications_repo.Notification:
    def done() -> notifications_repo.Notification | None:
        with h.srv.metadata.connect() as conn:
            found = notifications_repo.get(conn, job_id)
        return found if found is not None and found.state != State.PENDING else None

    result: notifications_repo.Notification = support.wait_for(done, "the notification")
    return result


def _attempts(h: support.Harness, job_id: str) -> list[notifications_repo.Attempt]:
    with h.srv.metadata.connect() as conn:
        return notifications_repo.attempts_of(conn, job_id)


def test_a_completed_job_calls_its_url_with_id_and_status(
    make_server: ServerFactory, receiver: Receiver
) -> None:
    h = _server(make_server, ("127.0.0.1",))
    h.srv.start()
    url = receiver.base + "/done?job=${JOBID}&status=${STATUS}"
    job_id = h.submit(QUERY, notifyUrl=url)
    assert h.wait_terminal(job_id).status == JS.COMPLETED

    notification = _finished(h, job_id)

    assert notification.state == State.DELIVERED
    assert receiver.paths == [f"/done?job={job_id}&status=Completed"]
    [attempt] = _attempts(h, job_id)
    assert (attempt.attempt, attempt.status_code, attempt.error) == (1, 200, None)
    # The job document echoes the URL as submitted.
    assert h.aqua.get(PRINCIPAL, job_id)["notifyUrl"] == url


def test_a_cancelled_job_is_announced_as_cancelled(
    make_server: ServerFactory, receiver: Receiver
) -> None:
    h = _server(make_server, ("127.0.0.1",))
    job_id = h.submit(QUERY, notifyUrl=receiver.base + "/${STATUS}/${JOBID}")
    h.aqua.cancel(PRINCIPAL, job_id)
    h.srv.start()

    assert _finished(h, job_id).state == State.DELIVERED
    assert receiver.paths == [f"/Cancelled/{job_id}"]


def test_failures_are_retried_with_backoff_until_delivered(
    make_server: ServerFactory, receiver: Receiver
) -> None:
    receiver.answers = [500, 503, 200]
    h = _server(make_server, ("127.0.0.1",))
    h.srv.start()
    job_id = h.submit(QUERY, notifyUrl=receiver.base + "/cb")

    notification = _finished(h, job_id)

    assert notification.state == State.DELIVERED
    attempts = _attempts(h, job_id)
    assert [a.status_code for a in attempts] == [500, 503, 200]
    assert [a.attempt for a in attempts] == [1, 2, 3]
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert all(gap >= delay for gap, delay in zip(gaps, FAST_RETRIES, strict=False)), gaps
    assert len(receiver.paths) == 3


def test_attempts_stop_after_the_schedule(make_server: ServerFactory, receiver: Receiver) -> None:
    receiver.answers = [500]
    h = _server(make_server, ("127.0.0.1",))
    h.srv.start()
    job_id = h.submit(QUERY, notifyUrl=receiver.base + "/cb")

    notification = _finished(h, job_id)

    assert notification.state == State.FAILED
    assert notification.attempts == len(FAST_RETRIES) + 1 == 5
    assert [a.status_code for a in _attempts(h, job_id)] == [500] * 5


@pytest.mark.parametrize("allowed", [(), ("hooks.example.com",)])
def test_loopback_is_refused_unless_allowed(
    make_server: ServerFactory, receiver: Receiver, allowed: tuple[str, ...]
) -> None:
    h = _server(make_server, allowed)
    h.srv.start()
    job_id = h.submit(QUERY, notifyUrl=receiver.base + "/cb")

    notification = _finished(h, job_id)

    assert notification.state == State.REFUSED
    [attempt] = _attempts(h, job_id)
    assert attempt.status_code is None
    assert attempt.error is not None and attempt.error.startswith("refused: ")
    assert receiver.paths == [], "nothing was called"


def test_a_redirect_to_a_disallowed_host_is_not_followed(
    make_server: ServerFactory, receiver: Receiver
) -> None:
    receiver.answers = [302]
    receiver.redirect_to = "http://169.254.169.254/latest/meta-data/"
    h = _server(make_server, ("127.0.0.1",))
    h.srv.start()
    job_id = h.submit(QUERY, notifyUrl=receiver.base + "/cb")

    assert _finished(h, job_id).state == State.REFUSED
    [attempt] = _attempts(h, job_id)
    assert attempt.error is not None and "169.254.169.254" in attempt.error
    assert receiver.paths == ["/cb"]


def test_jobs_without_notify_url_queue_nothing(make_server: ServerFactory) -> None:
    h = _server(make_server, ("127.0.0.1",))
    h.srv.start()
    job_id = h.submit(QUERY)
    h.wait_terminal(job_id)
    with h.srv.metadata.connect() as conn:
        assert notifications_repo.get(conn, job_id) is None


# -- the host policy alone (a fake resolver) ---------------------------------------------------
RESOLVED = {
    "public.example": ["93.184.216.34"],
    "inside.example": ["10.1.2.3"],
    "mixed.example": ["93.184.216.34", "192.168.0.9"],
    "mapped.example": ["::ffff:127.0.0.1"],
}


def _policy(*allowed: str) -> notify.HostPolicy:
    return notify.HostPolicy(allowed, lambda host, port: RESOLVED.get(host, []))


@pytest.mark.parametrize(
    ("url", "allowed", "refused"),
    [
        ("http://public.example/x", (), False),
        ("https://public.example/x", (), False),
        ("http://inside.example/x", (), True),
        ("http://mixed.example/x", (), True),
        ("http://mapped.example/x", (), True),
        ("http://169.254.169.254/", (), True),
        ("http://[::1]:8080/", (), True),
        ("http://127.0.0.1/", ("127.0.0.1",), False),
        ("http://inside.example/x", ("inside.example",), False),
        ("http://inside.example/x", ("10.0.0.0/8",), False),
        ("http://inside.example/x", ("*.example",), False),
        ("http://public.example/x", ("inside.example",), True),
        ("ftp://public.example/x", (), True),
    ],
)
def test_host_policy(url: str, allowed: tuple[str, ...], refused: bool) -> None:
    policy = _policy(*allowed)
    if refused:
        with pytest.raises(notify.Refused):
            policy.check(httpx.URL(url))
    else:
        assert policy.check(httpx.URL(url))


def test_an_unknown_host_is_a_failure_to_retry_not_a_refusal() -> None:
    with pytest.raises(OSError):
        _policy().check(httpx.URL("http://nowhere.example/"))


def test_status_names_are_zuoras() -> None:
    template = "https://h.example/?id=${JOBID}&s=${STATUS}"
    assert notify.substitute(template, "ab" * 16, jobs.JobStatus.ABORTED) == (
        "https://h.example/?id=" + "ab" * 16 + "&s=Aborted"
    )
    assert {notify.STATUS_NAMES[s] for s in jobs.TERMINAL} == {
        "Completed",
        "Aborted",
        "Cancelled",
        "Error",
    }
