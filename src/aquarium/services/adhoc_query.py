"""Run one ZOQL statement on a tenant's data and write Zuora-format CSV (``aquarium query``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors
from aquarium.engines import base, naming
from aquarium.zoql import ast, check, lower, translate


@dataclass(frozen=True)
class AdhocQuery:
    """One statement and how its CSV should look (the AQuA submit options that apply)."""

    text: str
    tenant: str
    time_zone: str
    use_labels: bool = False
    utc: bool = False
    dialect: ast.Dialect = ast.Dialect.EXPORT
    csv: base.CsvOptions = field(default_factory=base.CsvOptions)


def lowered_for(
    query: AdhocQuery,
    engine: base.QueryEngine,
    catalog: model.Catalog,
    clock: clock_port.Clock,
) -> lower.LoweredQuery:
    """The SQL ``engine`` runs for ``query``. Raises ZoqlError for a bad statement."""
    context = check.Context(catalog=catalog, time_zone=query.time_zone, now=clock.now())
    options = lower.Options(
        dialect=engine.dialect,
        schema=naming.schema_name(query.tenant),
        use_labels=query.use_labels,
        utc=query.utc,
    )
    return translate.translate(query.text, context=context, options=options, dialect=query.dialect)


def run_to_file(
    query: AdhocQuery,
    engine: base.QueryEngine,
    catalog: model.Catalog,
    clock: clock_port.Clock,
    path: Path,
) -> int:
    """Write the result CSV to ``path``; return the number of data rows.

    MalformedRequest for a null replacement the CSV cannot hold (``base.null_problem``).
    """
    problem = base.null_problem(query.csv.null)
    if problem is not None:
        raise errors.MalformedRequest(f"the null replacement {problem}")
    lowered = lowered_for(query, engine, catalog, clock)
    with engine.snapshot(query.tenant) as snapshot:
        return snapshot.copy_csv(lowered, path, query.csv)
