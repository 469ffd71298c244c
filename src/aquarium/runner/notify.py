"""notifyUrl: announce a finished job with ``GET`` on the URL the job was submitted with.

Zuora (reference §2.1): ``${JOBID}`` and ``${STATUS}`` in the URL are replaced by the job id and
its status as Zuora names it (``Completed``, ``Aborted``, ``Cancelled``). The call is made when
the job reaches a terminal status, from this module's background sender, never from a worker
thread: the store queues it in the transaction that ends the job (``notifications_repo``), and
:class:`NotificationSender` works through the queue.

Failures (no connection, a timeout, an answer other than 2xx) are retried with exponential
backoff, ``RETRY_DELAYS_S`` apart (five attempts over ten minutes); every attempt is recorded
with its time and HTTP status or error, and logged.

The server must not become a probe into its own network (SSRF): :class:`HostPolicy` checks
each URL, and each redirect, before it is called. With ``notify_allowed_hosts`` empty any host
whose addresses are all public may be called; otherwise only the hosts listed. Private,
loopback, link-local and other non-public addresses (after DNS resolution) are refused unless
the list names that host or a network holding the address. The connection then goes to the
address that was checked (the host name stays in ``Host`` and TLS SNI), so a second DNS answer
cannot redirect it. A refused URL is recorded as a failed attempt with the reason and not
retried.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import httpx
import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import clock as clock_port
from aquarium.domain import jobs
from aquarium.store import database, notifications_repo

#: Seconds to wait after each failed attempt before the next: five attempts over ten minutes.
RETRY_DELAYS_S: tuple[float, ...] = (40.0, 80.0, 160.0, 320.0)
POLL_S = 0.5  # seconds between looks for due notifications
HOLD_S = 120.0  # seconds a claimed notification is reserved for its attempt (> the timeouts)
CLAIM_LIMIT = 32  # notifications claimed per look
SENDER_THREADS = 4  # attempts made at once, so one slow receiver does not hold up the rest
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0
MAX_REDIRECTS = 3
MAX_ERROR_CHARS = 500  # an error recorded for an attempt is cut to this length
#: ``${STATUS}`` as Zuora writes it (its documentation: the status "will be Completed").
STATUS_NAMES: dict[jobs.JobStatus, str] = {
    jobs.JobStatus.COMPLETED: "Completed",
    jobs.JobStatus.ABORTED: "Aborted",
    jobs.JobStatus.CANCELLED: "Cancelled",
    jobs.JobStatus.ERROR: "Error",
}
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOST_NAME = re.compile(rb"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")  # as IDNA encodes it

log = observability.logger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class Refused(Exception):
    """The URL may not be called; ``str()`` says why."""


def substitute(template: str, job_id: str, status: jobs.JobStatus) -> str:
    """The URL to call: ``${JOBID}`` and ``${STATUS}`` replaced, surrounding blanks dropped (the
    rest as submitted)."""
    name = STATUS_NAMES.get(status, status.value.capitalize())
    return template.strip().replace("${JOBID}", job_id).replace("${STATUS}", name)


def template_problem(template: str) -> str | None:
    """Why a notifyUrl as submitted could never be called, or None (checked at submit).

    A control character (a CR or LF would split the request), a scheme other than http or https
    (``file:``, ``javascript:``), no host or not a host name, a port beyond 65535. Whether the
    host may be called (:class:`HostPolicy`) is decided at each attempt: DNS answers change.
    """
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in template):
        return "holds a control character (a line break or a tab, say)"
    try:
        url = httpx.URL(substitute(template, "0" * 32, jobs.JobStatus.COMPLETED))
    except httpx.InvalidURL as exc:
        return f"is not a URL: {exc}"
    if url.scheme not in ("http", "https"):
        return f"must be an http or https URL, not {url.scheme or 'one without a scheme'}"
    if not (_HOST_NAME.fullmatch(url.raw_host) or _address(url.host)):
        return "has no host name" if not url.host else f"has no valid host name ({url.host!r})"
    if url.port is not None and not 0 < url.port < 2**16:
        return f"has no valid port ({url.port})"
    return None


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class HostPolicy:
    """Which hosts notifications may call (module docstring).

    ``allowed`` holds host names (``hooks.example.com``, or ``*.example.com`` for its
    subdomains), addresses (``127.0.0.1``) and networks (``10.0.0.0/8``); empty means any host
    with only public addresses.
    """

    allowed: tuple[str, ...] = ()
    resolver: Resolver = resolve

    def _names(self) -> list[str]:
        return [entry.lower().rstrip(".") for entry in self.allowed if not _network(entry)]

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [net for entry in self.allowed if (net := _network(entry)) is not None]

    def _named(self, host: str) -> bool:
        for name in self._names():
            if name.startswith("*.") and host.endswith(name[1:]):
                return True
            if host == name:
                return True
        return False

    def check(self, url: httpx.URL) -> str:
        """The address to connect to for ``url``; raises :class:`Refused`, or ``OSError`` when
        the host does not resolve (a failure worth retrying)."""
        if url.scheme not in ("http", "https"):
            raise Refused(f"only http and https URLs are called, not {url.scheme or 'none'}")
        host = url.host.lower().rstrip(".")
        if not host:
            raise Refused("the URL has no host")
        named = self._named(host)
        networks = self._networks()
        literal = _address(host)
        addresses = [literal] if literal else [_address_or_fail(a) for a in self._resolve(url)]
        for address in addresses:
            in_list = any(address in net for net in networks)
            if self.allowed and not (named or in_list):
                raise Refused(f"{host} is not in notify_allowed_hosts")
            if not (_public(address) or named or in_list):
                raise Refused(
                    f"{host} resolves to {address}, which is not a public address; "
                    "add it to notify_allowed_hosts to allow it"
                )
        return str(addresses[0])

    def _resolve(self, url: httpx.URL) -> list[str]:
        port = url.port or (443 if url.scheme == "https" else 80)
        found = self.resolver(url.host, port)
        if not found:
            raise OSError(f"{url.host} does not resolve")
        return found


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip().strip("[]"), strict=False)
    except ValueError:
        return None


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%")[0])
    except ValueError:
        return None


def _address_or_fail(text: str) -> Address:
    address = _address(text)
    if address is None:
        raise OSError(f"the resolver answered {text!r}, not an address")
    return address


@dataclass(frozen=True)
class Outcome:
    """One attempt: the HTTP status, or the error (``refused`` when it may not be retried)."""

    status_code: int | None = None
    error: str | None = None
    refused: bool = False

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def call(url: str, policy: HostPolicy, client: httpx.Client) -> Outcome:
    """GET ``url`` (following up to ``MAX_REDIRECTS`` redirects, each checked by ``policy``)."""
    try:
        target = httpx.URL(url)
        for _ in range(MAX_REDIRECTS + 1):
            response = _get(target, policy, client)
            location = response.headers.get("location")
            if response.status_code not in REDIRECTS or not location:
                return Outcome(status_code=response.status_code)
            target = target.join(location)
        return Outcome(status_code=response.status_code, error="too many redirects")
    except Refused as exc:
        return Outcome(error=f"refused: {exc}", refused=True)
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS])


def _get(target: httpx.URL, policy: HostPolicy, client: httpx.Client) -> httpx.Response:
    address = policy.check(target)
    host_header = target.netloc.decode("ascii")
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    pinned = target.copy_with(host=address)
    with client.stream("GET", pinned, headers={"Host": host_header}, extensions=extensions) as r:
        return r  # the body is not needed: the status says it all


def _host(url: str) -> str:
    """The URL's host, for logs (the rest of the URL may hold a receiver's secret)."""
    try:
        return httpx.URL(url).host
    except httpx.InvalidURL:
        return "(invalid URL)"


class NotificationSender:
    """Sends due notifications from a background thread (``start``/``stop``).

    Safe to run in several processes over one metadata store: each attempt is claimed first.
    :meth:`run_once` does one round synchronously (tests, and the thread's loop).
    """

    def __init__(
        self,
        metadata: sa.Engine,
        clock: clock_port.Clock,
        *,
        allowed_hosts: Iterable[str] = (),
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        poll_s: float = POLL_S,
        resolver: Resolver = resolve,
    ) -> None:
        self.metadata = metadata
        self.clock = clock
        self.policy = HostPolicy(tuple(allowed_hosts), resolver)
        self.retry_delays_s = tuple(retry_delays_s)
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            SENDER_THREADS, thread_name_prefix="aquarium-notify"
        )
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        # Redirects are followed by call(), which checks every hop against the policy.
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="aquarium-notify", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 5)
            self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("sending notifications failed")
            self._stop.wait(self.poll_s)

    def run_once(self) -> int:
        """Make every attempt due now; returns how many were made."""
        now = self.clock.now()
        hold = now + dt.timedelta(seconds=HOLD_S)
        # Look first without the write lock (SQLite has one for the whole database).
        with database.read_only(self.metadata) as conn:
            if not notifications_repo.any_due(conn, now=now):
                return 0
        with self.metadata.begin() as conn:
            due = notifications_repo.claim_due(conn, now=now, hold_until=hold, limit=CLAIM_LIMIT)
        for future in [self._pool.submit(self._attempt, item) for item in due]:
            future.result()
        return len(due)

    def _attempt(self, due: notifications_repo.Due) -> None:
        url = substitute(due.notify_url, due.job_id, due.job_status)
        outcome = call(url, self.policy, self._client)
        at = self.clock.now()
        state, next_at = self._after(due, outcome, at)
        with self.metadata.begin() as conn:
            notifications_repo.record_attempt(
                conn, due, at=at, status_code=outcome.status_code, error=outcome.error,
                state=state, next_attempt_at=next_at,
            )  # fmt: skip
        fields = {
            "job_id": due.job_id,
            "tenant": due.tenant,
            "host": _host(url),
            "attempt": due.attempt,
            "status_code": outcome.status_code,
            "error": outcome.error,
            "state": state.value,
        }
        if outcome.delivered:
            log.info("notification delivered", **fields)
        else:
            log.warning("notification attempt failed", **fields, next_attempt_at=next_at)

    def _after(
        self, due: notifications_repo.Due, outcome: Outcome, at: dt.datetime
    ) -> tuple[notifications_repo.State, dt.datetime | None]:
        if outcome.delivered:
            return notifications_repo.State.DELIVERED, None
        if outcome.refused:
            return notifications_repo.State.REFUSED, None
        if due.attempt > len(self.retry_delays_s):
            return notifications_repo.State.FAILED, None
        delay = dt.timedelta(seconds=self.retry_delays_s[due.attempt - 1])
        return notifications_repo.State.PENDING, at + delay
