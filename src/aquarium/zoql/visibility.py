"""Which rows a query sees: live rows, an incremental window, deleted rows and their flag.

Billing tables delete softly (``engines.naming.DELETED_COLUMN``); a plain query sees live rows
only, in the data source and in every join. A stateful job bounds the data source by a window
on ``UpdatedDate``, half-open ``[start, end)``, so consecutive windows neither overlap nor leave
gaps (deleting a row stamps its ``UpdatedDate`` too). With a ``deleted`` section that includes
deleted rows (incremental loads, stateless ``forceExport``) the flag column comes first and a
deleted row shows no joined values, as Zuora's example does (reference §5.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlglot import exp

from aquarium.catalog import model
from aquarium.engines import naming
from aquarium.zoql import types


@dataclass(frozen=True)
class Window:
    """Rows of the data source whose ``UpdatedDate`` is in ``[start, end)``; no start: all."""

    start: dt.datetime | None
    end: dt.datetime


@dataclass(frozen=True)
class DeletedFlag:
    """The ``deleted`` section: the flag column's name and format, and whether deleted rows
    are returned (full loads never return them)."""

    column: str
    numeric: bool
    include_deleted: bool


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _deleted_at(alias: str) -> exp.Column:
    return exp.Column(this=_quoted(naming.DELETED_COLUMN), table=_quoted(alias))


def live(alias: str) -> exp.Expr:
    """``<alias>._DeletedDate IS NULL``."""
    return exp.Is(this=_deleted_at(alias), expression=exp.Null())


def _instant(value: dt.datetime) -> exp.Expr:
    text = exp.Literal.string(value.astimezone(dt.UTC).isoformat())
    return exp.Cast(this=text, to=types.build("TIMESTAMPTZ"))


def source_filter(
    source: str, window: Window | None, deleted: DeletedFlag | None
) -> list[exp.Expr]:
    """Conditions on the data source's rows, to AND with the query's own where."""
    conditions: list[exp.Expr] = []
    if deleted is None or not deleted.include_deleted:
        conditions.append(live(source))
    if window is not None:
        updated = exp.Column(this=_quoted("UpdatedDate"), table=_quoted(source))
        if window.start is not None:
            conditions.append(exp.GTE(this=updated.copy(), expression=_instant(window.start)))
        conditions.append(exp.LT(this=updated, expression=_instant(window.end)))
    return conditions


def join_conditions(
    relation: model.Relation, source: str, deleted: DeletedFlag | None
) -> list[exp.Expr]:
    """Extra ON conditions of a join: the joined row is live; a deleted source row joins none."""
    conditions = [live(relation.name)]
    if deleted is not None and deleted.include_deleted:
        conditions.append(live(source))
    return conditions


def flag(source: str, deleted: DeletedFlag) -> tuple[exp.Expr, str]:
    """The flag column's value (text, as the CSV shows it) and its header ``Object.column``."""
    yes, no = ("1", "0") if deleted.numeric else ("true", "false")
    value = exp.Case(
        ifs=[exp.If(this=live(source), true=exp.Literal.string(no))],
        default=exp.Literal.string(yes),
    )
    return value, f"{source}.{deleted.column}"
