"""Name resolution for one statement: the data source, its joins, fields and functions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, plan

NUMERIC = frozenset({model.FieldType.DECIMAL, model.FieldType.INTEGER})
TEMPORAL = frozenset({model.FieldType.DATE, model.FieldType.DATETIME})


@dataclass
class Scope:
    """What a statement can name. Records which joins the statement uses, in catalogue order."""

    catalog: model.Catalog
    source: model.ObjectDef
    dialect: ast.Dialect
    text: str
    time_zone: dt.tzinfo
    time_zone_name: str
    now: dt.datetime
    used_relations: set[str] = field(default_factory=set)

    # -- errors ---------------------------------------------------------------------------
    def error(self, reason: str, pos: int) -> errors.ZoqlError:
        return errors.ZoqlError(reason, errors.SourcePosition.locate(self.text, pos))

    def export_only(self, feature: str, pos: int) -> errors.ZoqlError:
        return self.error(
            f"{feature} is not supported in ZOQL (type 'zoql'); use type 'zoqlexport'", pos
        )

    # -- objects and joins ----------------------------------------------------------------
    def table(self, qualifier: ast.Name | None) -> tuple[str, model.ObjectDef, str]:
        """(SQL alias, object, header label prefix) named by ``qualifier`` (None: the source)."""
        if qualifier is None or qualifier.text.lower() == self.source.name.lower():
            return self.source.name, self.source, self.source.label
        relation = self.source.relation(qualifier.text)
        if relation is None:
            known = ", ".join(r.name for r in self.source.related) or "no other object"
            raise self.error(
                f"unknown object '{qualifier.text}' in a query on {self.source.name}; "
                f"{self.source.name} can join {known}",
                qualifier.pos,
            )
        if self.dialect is ast.Dialect.ZOQL:
            raise self.export_only(f"joining {relation.name}", qualifier.pos)
        self._use(relation)
        return relation.name, self.catalog.require(relation.object), relation.label

    def _use(self, relation: model.Relation) -> None:
        self.used_relations.add(relation.name)
        if relation.via != self.source.name:
            via = self.source.relation(relation.via)
            if via is not None:
                self._use(via)

    def joins(self) -> tuple[model.Relation, ...]:
        """The joins used so far, in declaration order (so each comes after what it joins via)."""
        return tuple(r for r in self.source.related if r.name in self.used_relations)

    # -- fields ---------------------------------------------------------------------------
    def column(self, column: ast.Column) -> plan.FieldRef:
        table, obj, prefix = self.table(column.qualifier)
        found = obj.field(column.field.text)
        if found is None:
            raise self.error(f"unknown field '{column.field.text}' on {table}", column.field.pos)
        if not found.exportable:
            raise self.error(
                f"field '{found.name}' on {table} cannot be used in export queries",
                column.field.pos,
            )
        return plan.FieldRef(table, found, prefix)

    def star(self, qualifier: ast.Name | None) -> tuple[plan.FieldRef, ...]:
        """The fields of ``select *`` or ``select Object.*``."""
        table, obj, prefix = self.table(qualifier)
        return tuple(plan.FieldRef(table, f, prefix) for f in obj.export_fields)

    # -- function calls -------------------------------------------------------------------
    def call(self, call: ast.Call) -> plan.Aggregate | plan.DatePart:
        func = call.func.text.lower()
        if func in plan.AGGREGATES:
            return self._aggregate(func, call)
        if func in plan.DATE_FUNCTIONS:
            return self._date_part(func, call)
        known = ", ".join(plan.AGGREGATES + plan.DATE_FUNCTIONS)
        raise self.error(f"unknown function '{call.func.text}'; use one of {known}", call.pos)

    def _aggregate(self, func: str, call: ast.Call) -> plan.Aggregate:
        if call.distinct and func != "count":
            raise errors.DistinctWithoutCountError(
                f"distinct can only be used inside count(), not {func}()",
                errors.SourcePosition.locate(self.text, call.pos),
            )
        if call.distinct and self.dialect is ast.Dialect.ZOQL:
            raise self.export_only("count(distinct ...)", call.pos)
        if call.arg is None:
            if self.dialect is ast.Dialect.ZOQL:
                raise self.export_only("count(*)", call.pos)
            if func != "count":
                raise self.error(f"{func}(*) is not allowed; only count(*) takes '*'", call.pos)
            return plan.Aggregate(func, None, False, model.FieldType.INTEGER)
        arg = self.column(call.arg)
        return plan.Aggregate(func, arg, call.distinct, self._aggregate_type(func, arg, call))

    def _aggregate_type(self, func: str, arg: plan.FieldRef, call: ast.Call) -> model.FieldType:
        if func == "count":
            return model.FieldType.INTEGER
        if func in {"sum", "avg"}:
            if arg.type not in NUMERIC:
                raise self.error(
                    f"{func}() needs a number field; {arg.api_name} is {arg.type}", call.pos
                )
            if func == "avg":
                return model.FieldType.DECIMAL
        return arg.type

    def _date_part(self, func: str, call: ast.Call) -> plan.DatePart:
        if self.dialect is ast.Dialect.ZOQL:
            raise self.export_only(f"{func}()", call.pos)
        if call.distinct:
            raise errors.DistinctWithoutCountError(
                f"distinct can only be used inside count(), not {func}()",
                errors.SourcePosition.locate(self.text, call.pos),
            )
        if call.arg is None:
            raise self.error(f"{func}() takes one date or datetime field", call.pos)
        arg = self.column(call.arg)
        if arg.type not in TEMPORAL:
            raise self.error(
                f"{func}() needs a date or datetime field; {arg.api_name} is {arg.type}",
                call.pos,
            )
        result = model.FieldType.DATE if func == "date" else model.FieldType.INTEGER
        return plan.DatePart(func, arg, result)

    def operand(self, node: ast.Column | ast.Call) -> plan.Expr:
        return self.column(node) if isinstance(node, ast.Column) else self.call(node)
