"""Hypothesis strategies: valid Export ZOQL statements built from the catalogue."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from aquarium.catalog import model

Column = tuple[str | None, model.Field]
NUMERIC = {model.FieldType.DECIMAL, model.FieldType.INTEGER}


def _name(column: Column) -> str:
    qualifier, field = column
    return f"{qualifier}.{field.name}" if qualifier else field.name


def _columns(catalog: model.Catalog, obj: model.ObjectDef) -> list[Column]:
    columns: list[Column] = [(None, f) for f in obj.export_fields]
    for relation in obj.related:
        target = catalog.require(relation.object)
        columns.extend((relation.name, f) for f in target.export_fields[:8])
    return columns


@st.composite
def _literal_condition(draw: st.DrawFn, column: Column) -> str:
    name = _name(column)
    field = column[1]
    day = draw(st.dates(dt.date(2020, 1, 1), dt.date(2027, 1, 1))).isoformat()
    if draw(st.integers(0, 9)) == 0:
        return f"{name} is {draw(st.sampled_from(['', 'not ']))}null"
    if field.type is model.FieldType.PICKLIST:
        return (
            f"{name} {draw(st.sampled_from(['=', '!=']))} '{draw(st.sampled_from(field.options))}'"
        )
    if field.type is model.FieldType.TEXT:
        letter = draw(st.sampled_from("ABCDEFGHIJKLMNOPRSTW0123456789abcdef"))
        return draw(st.sampled_from([f"{name} like '{letter}%'", f"{name} > '{letter}'"]))
    if field.type in NUMERIC:
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        return f"{name} {op} {draw(st.integers(-50, 2000))}"
    if field.type is model.FieldType.BOOLEAN:
        return f"{name} = {draw(st.sampled_from(['true', 'false']))}"
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
    if field.type is model.FieldType.DATE:
        value = draw(st.sampled_from([day, f"today - {draw(st.integers(0, 2000))} days"]))
        return f"{name} {op} '{value}'"
    value = draw(
        st.sampled_from(
            [day, f"{day}T10:30:00Z", f"{day}T23:00:00-05:00", "now - 400 days", "today - 2 years"]
        )
    )
    return f"{name} {op} '{value}'"


@st.composite
def _where(draw: st.DrawFn, columns: list[Column]) -> str:
    parts = [
        draw(_literal_condition(draw(st.sampled_from(columns))))
        for _ in range(draw(st.integers(1, 3)))
    ]
    text = parts[0]
    for part in parts[1:]:
        connective = draw(st.sampled_from(["and", "or", "and not"]))
        text = (
            f"({text}) {connective} {part}"
            if draw(st.booleans())
            else f"{text} {connective} {part}"
        )
    return text


@st.composite
def _query(draw: st.DrawFn, catalog: model.Catalog) -> str:
    obj = draw(st.sampled_from(sorted(catalog, key=lambda o: o.name)))
    columns = _columns(catalog, obj)
    picked = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=4, unique_by=_name))
    where = f" where {draw(_where(columns))}" if draw(st.booleans()) else ""
    if draw(st.integers(0, 3)) == 0:
        keys = picked[:3]
        numeric = [c for c in columns if c[1].type in NUMERIC]
        aggregates = ["count(*)"]
        if numeric:
            target = _name(draw(st.sampled_from(numeric)))
            # avg is left out: DuckDB averages decimals as doubles, so a mean that is an exact
            # rounding tie at the 6th decimal may round differently from PostgreSQL.
            aggregates.append(f"{draw(st.sampled_from(['sum', 'min', 'max']))}({target})")
        select = ", ".join([_name(c) for c in keys] + aggregates)
        group = ", ".join(_name(c) for c in keys)
        return f"select {select} from {obj.name}{where} group by {group} order by count(*) desc"
    select = ", ".join(_name(c) for c in picked)
    order = f" order by {_name(picked[0])} desc" if draw(st.booleans()) else ""
    return f"select {select} from {obj.name}{where}{order}"


def zoql_queries(catalog: model.Catalog) -> st.SearchStrategy[str]:
    """Valid Export ZOQL over ``catalog``: joins, where, group by with aggregates, order by."""
    return _query(catalog)
