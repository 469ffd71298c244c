"""The ZOQL fixture files, read once for tests and benchmarks alike."""

from __future__ import annotations

from pathlib import Path

from aquarium.zoql import ast

DIRECTORY = Path(__file__).resolve().parent / "fixtures" / "zoql"
ZOQL_PREFIX = "zoql: "


def valid_queries() -> list[tuple[ast.Dialect, str]]:
    """Every statement of ``valid.zoql`` with its dialect (``zoql: `` lines are type zoql)."""
    queries = []
    for line in (DIRECTORY / "valid.zoql").read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("--"):
            continue
        if line.startswith(ZOQL_PREFIX):
            queries.append((ast.Dialect.ZOQL, line.removeprefix(ZOQL_PREFIX)))
        else:
            queries.append((ast.Dialect.EXPORT, line))
    return queries
