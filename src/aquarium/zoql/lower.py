"""Stage 3: :class:`plan.Plan` -> a sqlglot SELECT -> SQL text for DuckDB or PostgreSQL.

Literals become sqlglot literals (escaped by sqlglot for the dialect), never concatenated text.
Joins are LEFT JOINs on the catalogue keys, so a data source's rows never multiply or vanish.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from aquarium.catalog import model
from aquarium.zoql import formatting, plan, temporal, types, visibility

LIKE_ESCAPE = "!"  # Zuora has no escape character; '!' only protects against engine defaults
COMPARISONS: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}
AGGREGATE_NODES: dict[str, type[exp.Func]] = {
    "avg": exp.Avg,
    "count": exp.Count,
    "max": exp.Max,
    "min": exp.Min,
    "sum": exp.Sum,
}
EXTRACT_PARTS = {
    "year": "YEAR",
    "month": "MONTH",
    "quarter": "QUARTER",
    "week": "WEEK",
    "weekofyear": "WEEK",
}
BUCKET_UNITS = {
    "day_start": "DAY",
    "week_start": "WEEK",
    "month_start": "MONTH",
    "quarter_start": "QUARTER",
    "year_start": "YEAR",
}
TEXT_MATCHES = {"contains": ("%", "%"), "starts": ("", "%"), "ends": ("%", "")}
AVG_TYPE = "DECIMAL(38, 6)"  # avg is exact to 6 places on both engines


@dataclass(frozen=True)
class Options:
    """How results are presented: header style, zone of datetimes, target dialect."""

    dialect: str = formatting.DUCKDB
    schema: str = "main"
    use_labels: bool = False
    utc: bool = False
    #: stateful jobs: the data source's UpdatedDate window
    window: visibility.Window | None = None
    #: the query's ``deleted`` section
    deleted: visibility.DeletedFlag | None = None
    #: typed values (for a report run's Parquet) instead of Zuora's CSV text; columns are then
    #: always named ``c1..cN``
    raw: bool = False


@dataclass(frozen=True)
class LoweredQuery:
    """SQL ready for an engine.

    ``headers`` are the CSV header cells. When ``header_in_sql`` is true the SQL's column
    aliases are those headers (DuckDB); otherwise aliases are ``c1..cN`` and the engine writes the
    header line itself (PostgreSQL truncates identifiers at 63 bytes).
    """

    sql: str
    headers: tuple[str, ...]
    header_in_sql: bool
    session_time_zone: str


def _quoted(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


class _Lowerer:
    def __init__(self, query_plan: plan.Plan, options: Options) -> None:
        self.plan = query_plan
        self.options = options

    def table(self, obj: str, alias: str) -> exp.Table:
        return exp.Table(
            this=_quoted(obj),
            db=_quoted(self.options.schema),
            alias=exp.TableAlias(this=_quoted(alias)),
        )

    # -- expressions ----------------------------------------------------------------------
    def field(self, ref: plan.FieldRef) -> exp.Expr:
        return exp.Column(this=_quoted(ref.field.name), table=_quoted(ref.table))

    def expr(self, node: plan.Expr) -> exp.Expr:
        if isinstance(node, plan.FieldRef):
            return self.field(node)
        if isinstance(node, plan.Aggregate):
            return self.aggregate(node)
        return self.date_part(node)

    def aggregate(self, node: plan.Aggregate) -> exp.Expr:
        if node.arg is None:
            return exp.Count(this=exp.Star())
        arg = self.field(node.arg)
        if node.distinct:
            return exp.Count(this=exp.Distinct(expressions=[arg]))
        call = AGGREGATE_NODES[node.func](this=arg)
        if node.func == "avg":
            # One exact type on both engines (DuckDB averages decimals as doubles).
            return exp.Cast(this=call, to=types.build(AVG_TYPE))
        return call

    def local_time(self, ref: plan.FieldRef) -> exp.Expr:
        value = self.field(ref)
        if ref.type is model.FieldType.DATETIME:
            return exp.AtTimeZone(this=value, zone=exp.Literal.string(self.plan.time_zone))
        return value

    def date_part(self, node: plan.DatePart) -> exp.Expr:
        local = self.local_time(node.arg)
        if node.func == "date":
            return exp.Cast(this=local, to=types.build("DATE"))
        if node.func in BUCKET_UNITS:
            # date_trunc('month', x) is spelt the same on DuckDB and PostgreSQL.
            unit = exp.Literal.string(BUCKET_UNITS[node.func].lower())
            bucket = exp.Anonymous(this="date_trunc", expressions=[unit, local])
            return exp.Cast(this=bucket, to=types.build("DATE"))
        part = exp.Extract(this=exp.var(EXTRACT_PARTS[node.func]), expression=local)
        return exp.Cast(this=part, to=types.build("BIGINT"))

    def constant(self, constant: plan.Constant) -> exp.Expr:
        value = constant.value
        if isinstance(value, bool):
            return exp.Boolean(this=value)
        if isinstance(value, Decimal):
            return exp.Literal.number(format(value, "f"))
        if isinstance(value, temporal.Beyond):
            # 'infinity' and '-infinity' are timestamps on both engines, after (before) all others.
            return exp.Cast(this=exp.Literal.string(value.value), to=types.build("TIMESTAMPTZ"))
        if isinstance(value, dt.datetime):
            return exp.Cast(
                this=exp.Literal.string(value.isoformat()), to=types.build("TIMESTAMPTZ")
            )
        if isinstance(value, dt.date):
            return exp.Cast(this=exp.Literal.string(value.isoformat()), to=types.build("DATE"))
        return exp.Literal.string(value)

    # -- conditions -----------------------------------------------------------------------
    def condition(self, node: plan.Condition) -> exp.Expr:
        if isinstance(node, plan.Comparison):
            right = node.right
            rhs = self.constant(right) if isinstance(right, plan.Constant) else self.expr(right)
            return COMPARISONS[node.op](this=self.expr(node.left), expression=rhs)
        if isinstance(node, plan.NullCheck):
            test: exp.Expr = exp.Is(this=self.expr(node.expr), expression=exp.Null())
            return exp.Not(this=test) if node.negated else test
        if isinstance(node, plan.Pattern):
            escaped = node.pattern.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            like = exp.Escape(
                this=exp.Like(this=self.expr(node.expr), expression=exp.Literal.string(escaped)),
                expression=exp.Literal.string(LIKE_ESCAPE),
            )
            return exp.Not(this=exp.Paren(this=like)) if node.negated else like
        if isinstance(node, plan.TextMatch):
            return self.text_match(node)
        if isinstance(node, plan.Negation):
            return exp.Not(this=exp.Paren(this=self.condition(node.item)))
        connective: type[exp.Connector] = exp.And if isinstance(node, plan.AllOf) else exp.Or
        parts: list[exp.Expr] = [exp.Paren(this=self.condition(item)) for item in node.items]
        return functools.reduce(lambda a, b: connective(this=a, expression=b), parts)

    def text_match(self, node: plan.TextMatch) -> exp.Expr:
        text = node.text
        for special in (LIKE_ESCAPE, "%", "_"):
            text = text.replace(special, LIKE_ESCAPE + special)
        before, after = TEXT_MATCHES[node.mode]
        match = exp.Escape(
            this=exp.ILike(
                this=self.expr(node.expr), expression=exp.Literal.string(before + text + after)
            ),
            expression=exp.Literal.string(LIKE_ESCAPE),
        )
        return exp.Not(this=exp.Paren(this=match)) if node.negated else match

    # -- the statement --------------------------------------------------------------------
    def headers(self) -> tuple[str, ...]:
        # The deleted flag comes first, headed Object.column in both styles (reference §5.4).
        flag = self._flag()
        first = (flag[1],) if flag else ()
        if self.options.use_labels:
            return first + tuple(column.label_header for column in self.plan.columns)
        return first + tuple(column.api_header for column in self.plan.columns)

    def _flag(self) -> tuple[exp.Expr, str] | None:
        deleted = self.options.deleted
        return None if deleted is None else visibility.flag(self.plan.source.name, deleted)

    def select(self, headers: tuple[str, ...], header_in_sql: bool) -> exp.Select:
        flag = self._flag()
        values = [flag[0]] if flag else []
        if self.options.raw:
            values += [self.expr(column.expr) for column in self.plan.columns]
        else:
            values += [
                formatting.render(self.options.dialect, column.type, self.expr(column.expr))
                for column in self.plan.columns
            ]
        projections = [
            exp.Alias(this=value, alias=_quoted(headers[i] if header_in_sql else f"c{i + 1}"))
            for i, value in enumerate(values)
        ]
        source = self.plan.source
        where = visibility.source_filter(source.name, self.options.window, self.options.deleted)
        if self.plan.where is not None:
            where.append(exp.Paren(this=self.condition(self.plan.where)))
        # Built from nodes directly: sqlglot's fluent builders copy the tree at every step.
        args: dict[str, object] = {
            "expressions": projections,
            "from_": exp.From(this=self.table(source.name, source.name)),
            "joins": [self.join(relation) for relation in self.plan.joins],
        }
        if where:
            args["where"] = exp.Where(this=_all(where))
        if self.plan.group_by:
            args["group"] = exp.Group(expressions=[self.expr(e) for e in self.plan.group_by])
        if self.plan.having is not None:
            args["having"] = exp.Having(this=self.condition(self.plan.having))
        if self.plan.order_by:
            args["order"] = exp.Order(
                expressions=[
                    exp.Ordered(this=self.expr(o.expr), desc=o.descending, nulls_first=False)
                    for o in self.plan.order_by
                ]
            )
        if self.plan.limit is not None:
            args["limit"] = exp.Limit(expression=exp.Literal.number(self.plan.limit))
        if self.plan.offset is not None:
            args["offset"] = exp.Offset(expression=exp.Literal.number(self.plan.offset))
        return exp.Select(**args)

    def join(self, relation: model.Relation) -> exp.Join:
        key = exp.EQ(
            this=exp.Column(this=_quoted("Id"), table=_quoted(relation.name)),
            expression=exp.Column(this=_quoted(relation.key), table=_quoted(relation.via)),
        )
        extra = visibility.join_conditions(relation, self.plan.source.name, self.options.deleted)
        on = _all([key, *extra])
        return exp.Join(this=self.table(relation.object, relation.name), on=on, side="LEFT")


def _all(conditions: list[exp.Expr]) -> exp.Expr:
    return functools.reduce(lambda a, b: exp.And(this=a, expression=b), conditions)


def lower(query_plan: plan.Plan, options: Options) -> LoweredQuery:
    """SQL text for ``options.dialect``, with headers and the session time zone to use."""
    if options.dialect not in formatting.DIALECTS:
        raise ValueError(f"unknown SQL dialect {options.dialect!r}")
    lowerer = _Lowerer(query_plan, options)
    headers = lowerer.headers()
    header_in_sql = options.dialect == formatting.DUCKDB and not options.raw
    # The tree is built for this call only, so the generator may consume it without a copy.
    generator = Dialect.get_or_raise(options.dialect).generator(comments=False)
    sql = generator.generate(lowerer.select(headers, header_in_sql), copy=False)
    return LoweredQuery(
        sql=sql,
        headers=headers,
        header_in_sql=header_in_sql,
        session_time_zone="UTC" if options.utc else query_plan.time_zone,
    )
