"""Metrics (Prometheus) and structured logs, shared by the API and the runner."""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

JOBS = Counter(
    "aquarium_jobs_total", "Jobs that reached a status.", ["kind", "status"], registry=REGISTRY
)
JOBS_BY_STATUS = Gauge(
    "aquarium_jobs_stored",
    "Stored jobs per status (read at each scrape).",
    ["kind", "status"],
    registry=REGISTRY,
)
QUEUE_DEPTH = Gauge(
    "aquarium_queue_depth", "Jobs submitted and not yet claimed by a worker.", registry=REGISTRY
)
RUNNING = Gauge("aquarium_jobs_running", "Jobs a worker is executing now.", registry=REGISTRY)
ROWS_EXPORTED = Counter(
    "aquarium_rows_exported_total", "Rows written to result files.", registry=REGISTRY
)
EXPORT_SECONDS = Histogram(
    "aquarium_export_duration_seconds",
    "Time to write one batch's result file.",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 10800),
    registry=REGISTRY,
)
CANCEL_LATENCY = Histogram(
    "aquarium_cancel_latency_seconds",
    "From a DELETE to the running statement being stopped.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)


def configure_logging(level: str = "info") -> None:
    """JSON-ish key=value logs on stderr, with tenant and job ids bound where known."""
    logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(message)s")
    # The job queue's own lines ("Starting job ...") say what the runner logs already, once per
    # delivery: only its warnings, unless everything is asked for.
    logging.getLogger("procrastinate").setLevel(
        logging.DEBUG if level.lower() == "debug" else logging.WARNING
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.KeyValueRenderer(
                key_order=["timestamp", "level", "event", "tenant", "job_id"], drop_missing=True
            ),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


def logger(name: str) -> structlog.typing.FilteringBoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
