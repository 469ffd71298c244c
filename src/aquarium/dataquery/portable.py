"""The functions a Data Query may call, and the rewrites that make them run on both engines.

The allow-list holds ordinary scalar, aggregate and window functions whose sqlglot output runs on
DuckDB and PostgreSQL alike (each is run on DuckDB by the tests); anything else, file readers and
system functions included, is refused before any engine sees the query. Where sqlglot writes a
function one engine lacks (``HOUR``, ``DAY_OF_YEAR``... on PostgreSQL), :func:`rewrite` turns it
into a form both know (``EXTRACT``), and Zuora's own functions (``to_uuid32``, ``at_timezone``,
dataquery.md 8.5 and 8.7) into plain SQL.
"""

from __future__ import annotations

from sqlglot import exp

#: sqlglot function classes (by key) a query may call.
FUNCTIONS = frozenset(
    (
        # aggregates
        *("count", "sum", "avg", "min", "max", "stddev", "stddevpop", "stddevsamp", "variance"),
        *("variancepop", "countif", "arrayagg", "booland", "boolor", "logicaland", "logicalor"),
        # window
        *("rownumber", "rank", "denserank", "percentrank", "cumedist", "ntile", "lag", "lead"),
        *("firstvalue", "lastvalue", "nthvalue"),
        # logic: sqlglot models AND / OR as functions
        *("and", "or"),
        # conditional and casts
        *("case", "if", "exists", "coalesce", "nullif", "greatest", "least", "cast", "trycast"),
        # strings
        *("lower", "upper", "length", "trim", "substring", "concat", "concatws", "dpipe"),
        *("replace", "strposition", "left", "right", "pad", "reverse", "splitpart", "regexplike"),
        *("regexpreplace", "initcap"),
        # numbers
        *("abs", "round", "floor", "ceil", "sign", "mod", "pow", "sqrt", "ln", "log", "exp"),
        # dates and times
        *("currentdate", "currenttimestamp", "localtimestamp", "date", "extract", "lastday"),
        *("timestamptrunc", "datetrunc", "datediff", "timestampdiff", "dateadd", "timestampadd"),
        *("datesub", "timestampsub", "timetostr", "strtotime", "strtodate", "todate"),
        *("unixtotime", "timetounix", "fromiso8601timestamp"),
    )
)
#: Date-part functions, written as ``EXTRACT(<unit> FROM x)``, which both engines have (sqlglot
#: writes ``HOUR(x)``, ``DAY_OF_YEAR(x)``... for PostgreSQL, which has none of them).
EXTRACT_UNITS: dict[type[exp.Func], str] = {
    exp.Year: "YEAR",
    exp.Quarter: "QUARTER",
    exp.Month: "MONTH",
    exp.Week: "WEEK",
    exp.WeekOfYear: "WEEK",
    exp.Day: "DAY",
    exp.DayOfMonth: "DAY",
    exp.DayOfYear: "DOY",
    exp.DayOfWeekIso: "ISODOW",  # Trino's day_of_week: Monday 1 .. Sunday 7
    exp.YearOfWeek: "ISOYEAR",
    exp.Hour: "HOUR",
    exp.Minute: "MINUTE",
    exp.Second: "SECOND",
}
#: Plain names (sqlglot ``Anonymous`` calls) a query may call; each is rewritten.
ANONYMOUS_FUNCTIONS = frozenset({"to_uuid32", "to_uuid36", "at_timezone"})


def function_name(node: exp.Func) -> str:
    """The name of a function call as the query wrote it (lower case)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def allowed(node: exp.Func) -> bool:
    """Whether a query may call ``node``."""
    if isinstance(node, exp.Anonymous):
        return function_name(node) in ANONYMOUS_FUNCTIONS
    return node.key in FUNCTIONS or type(node) in EXTRACT_UNITS


def _uuid36(value: exp.Expr) -> exp.Expr:
    # 8-4-4-4-12 hex digits, dashes between.
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    pieces: list[exp.Expr] = []
    for start, length in parts:
        if pieces:
            pieces.append(exp.Literal.string("-"))
        pieces.append(
            exp.Substring(
                this=value.copy(),
                start=exp.Literal.number(start),
                length=exp.Literal.number(length),
            )
        )
    result = pieces[0]
    for piece in pieces[1:]:
        result = exp.DPipe(this=result, expression=piece)
    return result


def _anonymous(node: exp.Anonymous) -> exp.Expr:
    name = function_name(node)
    args = node.expressions
    if name == "to_uuid32" and len(args) == 1:
        return exp.Replace(
            this=args[0], expression=exp.Literal.string("-"), replacement=exp.Literal.string("")
        )
    if name == "to_uuid36" and len(args) == 1:
        plain = exp.Replace(
            this=args[0], expression=exp.Literal.string("-"), replacement=exp.Literal.string("")
        )
        return _uuid36(plain)
    if name == "at_timezone" and len(args) == 2:
        return exp.AtTimeZone(this=args[0], zone=args[1])
    return node


def arity_error(node: exp.Anonymous) -> str | None:
    """A message when one of Zuora's own functions is called with the wrong number of arguments."""
    wanted = {"to_uuid32": 1, "to_uuid36": 1, "at_timezone": 2}.get(function_name(node))
    if wanted is not None and len(node.expressions) != wanted:
        return f"Function '{function_name(node)}' takes {wanted} argument(s)"
    return None


#: Arguments Trino takes as ``bigint`` that DuckDB or PostgreSQL want as ``integer`` (a ``bigint``
#: column there is "no function matches"): sizes, offsets, positions, decimals.
INTEGER_ARGUMENTS: dict[type[exp.Func], tuple[str, ...]] = {
    exp.Pad: ("expression",),
    exp.Round: ("decimals",),
    exp.Lag: ("offset",),
    exp.Lead: ("offset",),
    exp.NthValue: ("offset",),
    exp.Ntile: ("this",),
    exp.Substring: ("start", "length"),
    exp.SplitPart: ("part_index",),
}


def _integer_arguments(node: exp.Func) -> None:
    for name in INTEGER_ARGUMENTS.get(type(node), ()):
        argument = node.args.get(name)
        if isinstance(argument, exp.Expr) and not isinstance(argument, exp.Literal):
            argument.replace(exp.cast(argument.copy(), exp.DataType.Type.INT))


def rewrite(tree: exp.Query) -> exp.Query:
    """``tree`` with every function in a form both engines run (changed in place)."""
    for node in list(tree.find_all(exp.Func)):
        _integer_arguments(node)
        unit = EXTRACT_UNITS.get(type(node))
        if unit is not None:
            node.replace(exp.Extract(this=exp.var(unit), expression=node.this))
        elif isinstance(node, exp.Anonymous):
            node.replace(_anonymous(node))
    return tree
