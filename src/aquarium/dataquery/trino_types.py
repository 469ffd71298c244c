"""Where Trino's result type differs from what both engines answer, the translation casts back.

``date_trunc(unit, d)`` of a DATE is a DATE in Trino (dataquery.md: Trino's functions); DuckDB
answers a TIMESTAMP and PostgreSQL a TIMESTAMP WITH TIME ZONE, so a monthly summary showed
``2024-11-01T00:00:00`` where Zuora shows ``2024-11-01``. Casting the truncation back to a
date gives Trino's value and type on both engines, and it is cheaper to group and to write
(the monthly group-by of InvoiceItem at scale 50: its 3M rows written in 1.37 s rather than
1.56 s, docs/benchmarks.md).

A truncated value is known to be a date when it is a cast to DATE, or a column of a catalogue
object whose field is a date: qualified by the table's name or alias, or unqualified in a SELECT
that reads only catalogue tables, each field of that name being a date. A column of a
subquery or a common table expression is left as the engines type it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from aquarium.catalog import model
from aquarium.dataquery import naming

TRUNCATIONS = (exp.TimestampTrunc, exp.DateTrunc)
CteReference = Callable[[exp.Table], bool]


def keep_dates(tree: exp.Query, catalog: model.Catalog, *, is_cte: CteReference) -> None:
    """Cast every truncation of a date in ``tree`` (identifiers lower-cased, tables not yet
    replaced) back to a date, in place. ``is_cte`` says whether a table names a common table
    expression in scope."""
    for node in list(tree.find_all(*TRUNCATIONS)):
        if _is_date(node.this, node, catalog, is_cte):
            node.replace(exp.cast(node.copy(), exp.DataType.Type.DATE))


def _is_date(value: exp.Expr, at: exp.Expr, catalog: model.Catalog, is_cte: CteReference) -> bool:
    if isinstance(value, exp.Cast):
        return value.to.is_type(exp.DataType.Type.DATE)
    if not isinstance(value, exp.Column):
        return False
    sources = _sources(at, catalog, is_cte)
    if sources is None:
        return False
    if value.table:
        obj = sources.get(value.table.lower())
        return obj is not None and _field_type(obj, value.name) is model.FieldType.DATE
    typed = [_field_type(obj, value.name) for obj in sources.values()]
    known = [field_type for field_type in typed if field_type is not None]
    return bool(known) and all(field_type is model.FieldType.DATE for field_type in known)


def _sources(
    at: exp.Expr, catalog: model.Catalog, is_cte: CteReference
) -> dict[str, model.ObjectDef] | None:
    """The catalogue objects the SELECT around ``at`` reads, by alias or name; None when it
    reads anything else (a subquery, a common table expression, nothing)."""
    select = at.find_ancestor(exp.Select)
    if select is None:
        return None
    found: dict[str, model.ObjectDef] = {}
    joins = select.args.get("joins") or []
    from_ = select.args.get("from_") or select.args.get("from")
    for source in [from_.this if from_ else None, *(join.this for join in joins)]:
        if not isinstance(source, exp.Table) or is_cte(source):
            return None
        obj = naming.table_object(source.name, catalog)
        if obj is None:
            return None
        found[source.alias_or_name.lower()] = obj
    return found or None


def _field_type(obj: model.ObjectDef, name: str) -> model.FieldType | None:
    lowered = name.lower()
    for field in obj.fields:
        if field.name.lower() == lowered:
            return field.type
    return None
