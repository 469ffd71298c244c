"""The Data Query benchmark's figures (``bench_dataquery.py``): what one run measured, and
its Markdown table, every figure beside its reference from the same run."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field

from benchmarks import bench_aqua

EXPORT_QUERY = "select * from invoiceitem"
GROUP_BY_QUERY = "select accountid, count(*), sum(chargeamount) from invoiceitem group by accountid"
#: A reporting-shaped group by: billed amount per account, charge and month of service. The
#: small one above takes ~65 ms in DuckDB, within reach of a job's fixed cost (~30-60 ms:
#: POST, claim, publish, poll); this one does the work a report does.
MONTHLY_QUERY = (
    "select accountid, rateplanchargeid, date_trunc('month', servicestartdate) as month, "
    "count(*) as items, sum(chargeamount) as amount, min(chargeamount) as low, "
    "max(chargeamount) as high from invoiceitem "
    "group by accountid, rateplanchargeid, date_trunc('month', servicestartdate)"
)
POLL_EVERY_S = 0.02  # seconds between GET job polls while timing a job
CLIENT_POLL_S = bench_aqua.CLIENT_POLL_S
CANCEL_TRIALS = 20
#: Issue 15: a Data Query aggregate within this factor of DuckDB running the same SQL (defaults).
AGGREGATE_TARGET = 1.25


def stamp(text: str) -> dt.datetime:
    """A job document's ``createdOn`` / ``updatedOn`` (``2024-07-09T09:47:49.675Z``)."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class JobTiming:
    """One job: seconds from the POST to ``completed`` (as polls saw it) and to the end of the
    download, the server's ``processingTime``, its rows and the downloaded bytes; when each
    status was first seen (seconds after the POST)."""

    completed_s: float
    downloaded_s: float
    processing_ms: int
    rows: int
    size: int
    seen: dict[str, float] = field(default_factory=dict)
    #: the server's own stamps, ``createdOn`` to ``updatedOn`` of the completed job: no HTTP
    #: round trip, no poll granularity
    stamped_s: float = 0.0

    @property
    def download_s(self) -> float:
        return self.downloaded_s - self.completed_s

    def phase(self, status: str) -> float | None:
        """Seconds the job was seen in ``status``: until the next status seen."""
        return bench_aqua.phase_seconds(self.seen, status, self.completed_s)


@dataclass
class CancelResults:
    stopped: list[tuple[float, float]] = field(default_factory=list)  # (server s, round trip s)
    missed: int = 0  # no statement to stop: not yet begun, or the job already completed


@dataclass
class GzipDownload:
    """Part of an export's file downloaded with ``Accept-Encoding: gzip``."""

    seconds: float
    size: int  # bytes of the file received (decoded)
    answered: str  # the Content-Encoding answered


@dataclass
class Measured:
    exports: list[JobTiming]
    export_refs: list[tuple[float, int]]
    export_default: tuple[float, int]
    groups: list[JobTiming]
    group_refs: list[tuple[float, int]]
    group_default: tuple[float, int]
    monthly: list[JobTiming]
    monthly_refs: list[tuple[float, int]]
    monthly_default: tuple[float, int]
    paced: list[JobTiming]  # the monthly group-by polled every CLIENT_POLL_S
    paced_default: tuple[float, int]
    gzip_download: GzipDownload
    in_process: tuple[float, float]
    window: tuple[float, float]
    cancels: CancelResults
    peak_rss: float


def _phases(jobs: list[JobTiming]) -> str:
    """Median time per phase: accepted, in_progress (polls), the server's processingTime, the
    download."""
    parts = []
    for status in ("accepted", "in_progress"):
        seen = [s for s in (j.phase(status) for j in jobs) if s is not None]
        if seen:
            parts.append(f"{status} {statistics.median(seen) * 1000:,.0f} ms")
    parts.append(f"processingTime {statistics.median(j.processing_ms for j in jobs):,.0f} ms")
    parts.append(f"download {statistics.median(j.download_s for j in jobs) * 1000:,.0f} ms")
    return ", ".join(parts)


def _s(seconds: float) -> str:
    """Seconds with three decimals under 10 s (the group by), two above (the export)."""
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.2f} s"


def _job_row(
    what: str, jobs: list[JobTiming], refs: list[tuple[float, int]], default: tuple[float, int]
) -> list[str]:
    rows = {j.rows for j in jobs}
    if rows != {n for _, n in refs} | {default[1]}:
        raise RuntimeError(f"row counts differ: Data Query {rows}, DuckDB {refs} {default}")
    ours = statistics.median(j.downloaded_s for j in jobs)
    to_completed = statistics.median(j.completed_s for j in jobs)
    ref = statistics.median(s for s, _ in refs)
    count = jobs[0].rows
    return [
        f"| {what}, POST to completed and dataFile downloaded (median of {len(jobs)}) | "
        f"{_s(ours)}, {count / ours:,.0f} rows/s ({_s(to_completed)} to completed; "
        f"{jobs[0].size / 2**20:,.1f} MiB CSV) | DuckDB COPY same SQL to CSV, same settings "
        f"(median of {len(refs)}): {_s(ref)}, {count / ref:,.0f} rows/s | "
        f"{ref / ours:.2f}x (target >= 0.8); to completed only: {ref / to_completed:.2f}x |",
        f"| the same | | DuckDB COPY with DuckDB's defaults (all cores): {_s(default[0])} | "
        f"{default[0] / ours:.2f}x |",
        f"| where the job's time goes (median, polls every {POLL_EVERY_S * 1000:.0f} ms) | "
        f"{_phases(jobs)} | | |",
    ]


def _aggregate_rows(jobs: list[JobTiming], default: tuple[float, int]) -> list[str]:
    """An aggregate's time against DuckDB's defaults running the same SQL (issue 15's target),
    as polls saw it and by the server's own stamps."""
    to_completed = statistics.median(j.completed_s for j in jobs)
    stamped = statistics.median(j.stamped_s for j in jobs)
    target = f"(target <= {AGGREGATE_TARGET})"
    return [
        f"| the same, POST to completed (median) | {_s(to_completed)} | DuckDB's defaults right "
        f"after each job (median): "
        f"{_s(default[0])} | {to_completed / default[0]:.2f}x {target} |",
        f"| the same by the server's stamps, createdOn to updatedOn (median) | {_s(stamped)} | "
        f"DuckDB's defaults: {_s(default[0])} | {stamped / default[0]:.2f}x {target} |",
    ]


def _paced_row(m: Measured) -> str:
    stamped = statistics.median(j.stamped_s for j in m.paced)
    default = m.paced_default[0]
    return (
        f"| the same polled every {CLIENT_POLL_S:g} s (a client's pace), by the server's stamps "
        f"(median of {len(m.paced)}) | {_s(stamped)} | DuckDB's defaults right after each job: "
        f"{_s(default)} | {stamped / default:.2f}x (target <= {AGGREGATE_TARGET}) |"
    )


def _gzip_row(m: Measured) -> str:
    g = m.gzip_download
    mib = 2**20
    stored_rate = statistics.median(j.size / j.download_s for j in m.exports) / mib
    whole_s = m.exports[0].size / (g.size / g.seconds)
    return (
        f"| the export's dataFile with `Accept-Encoding: gzip` (httpx's and requests' default), "
        f"first {g.size / mib:,.0f} MiB, one round | {g.size / mib / g.seconds:,.1f} MiB/s "
        f"(`Content-Encoding: {g.answered}`; the whole file at that rate: {whole_s:,.0f} s) | "
        f"the same file as stored (above): {stored_rate:,.1f} MiB/s | |"
    )


def _in_process_row(m: Measured) -> str:
    copy_s, write_s = m.in_process
    ref = statistics.median(s for s, _ in m.export_refs)
    return (
        "| the export's writer in process, no server (one round each) | the engine's COPY of "
        f"the values rendered as Zuora writes them (`copy_rows`): {_s(copy_s)}; with the file "
        f"hashed as it grows (`output.write_query`): {_s(write_s)} | DuckDB COPY same SQL "
        f"(above): {_s(ref)} | {ref / copy_s:.2f}x, {ref / write_s:.2f}x |"
    )


def report(m: Measured) -> str:
    stopped = [c[0] * 1000 for c in m.cancels.stopped]
    trips = [c[1] * 1000 for c in m.cancels.stopped]
    pct = bench_aqua._percentile
    return "\n".join(
        [
            f"### Data Query, scale {bench_aqua.SCALE:g} ({m.exports[0].rows:,} InvoiceItem rows)",
            "",
            "| measure | Aquarium | reference | ratio / target |",
            "|---|---|---|---|",
            *_job_row(f"export `{EXPORT_QUERY}`", m.exports, m.export_refs, m.export_default),
            _gzip_row(m),
            _in_process_row(m),
            *_job_row(
                f"`{GROUP_BY_QUERY}` ({m.groups[0].rows:,} rows)",
                m.groups,
                m.group_refs,
                m.group_default,
            ),
            *_aggregate_rows(m.groups, m.group_default),
            *_job_row(
                f"`{MONTHLY_QUERY}` ({m.monthly[0].rows:,} rows)",
                m.monthly,
                m.monthly_refs,
                m.monthly_default,
            ),
            *_aggregate_rows(m.monthly, m.monthly_default),
            _paced_row(m),
            f"| cancel during in_progress, DELETE to statement stopped ({CANCEL_TRIALS} trials, "
            f"DELETE {m.window[0] * 1000:.0f}-{m.window[1] * 1000:.0f} ms into in_progress) | "
            f"p50 {pct(stopped, 0.5):.1f} ms, p95 {pct(stopped, 0.95):.1f} ms, "
            f"max {max(stopped):.1f} ms ({m.cancels.missed} more trials found no statement "
            "to stop) | "
            f"DELETE round trip p95 {pct(trips, 0.95):.1f} ms; every cancel answered cancelled | "
            "target p95 <= 250 ms |",
            f"| server peak RSS over the whole run | {m.peak_rss:,.0f} MiB | | |",
        ]
    )
