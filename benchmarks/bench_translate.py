"""ZOQL -> SQL translation time over the fixture queries, beside sqlglot's own transpile.

The reference is sqlglot parsing and regenerating the SQL we emit (``sqlglot.transpile``): the
cost of a bare SQL round trip of the same size, measured in the same run.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import time

import sqlglot
from tests import zoql_fixtures

from aquarium.catalog import model
from aquarium.zoql import check, lower, translate

ROUNDS = 20


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]  # nearest rank


def run() -> str:
    context = check.Context(
        catalog=model.default(), now=dt.datetime(2024, 3, 31, 12, tzinfo=dt.UTC)
    )
    options = lower.Options(dialect="duckdb", schema="tenant_demo")
    queries = zoql_fixtures.valid_queries()
    ours: list[float] = []
    reference: list[float] = []
    for dialect, text in queries:  # warm caches (grammar, catalogue) once
        emitted = translate.translate(text, context=context, options=options, dialect=dialect)
    for _ in range(ROUNDS):
        for dialect, text in queries:
            start = time.perf_counter()
            emitted = translate.translate(text, context=context, options=options, dialect=dialect)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            sqlglot.transpile(emitted.sql, read="duckdb", write="duckdb")
            reference.append(time.perf_counter() - start)
    ms = 1000.0
    p50, p95 = _percentile(ours, 0.5) * ms, _percentile(ours, 0.95) * ms
    r50 = statistics.median(reference) * ms
    return "\n".join(
        [
            f"### Translator ({len(queries)} fixture queries x {ROUNDS} rounds)",
            "",
            "| measure | Aquarium ZOQL -> SQL | sqlglot SQL round trip (reference) | ratio |",
            "|---|---|---|---|",
            f"| p50 | {p50:.3f} ms | {r50:.3f} ms | {p50 / r50:.2f} |",
            f"| p95 | {p95:.3f} ms | {_percentile(reference, 0.95) * ms:.3f} ms | |",
        ]
    )
