"""The rows of ``SHOW FUNCTIONS``: the functions a Data Query may call, in Trino's terms.

Columns as Zuora documents them (dataquery.md 8.2): ``Function``, ``Return Type``, ``Argument
Types``, ``Function Type`` (``scalar``, ``aggregate``, ``window``), ``Deterministic``
(``true``/``false``), ``Description``. Types are Trino's, lower case and unparameterised; ``E``
and ``T`` stand for any type, as Trino writes them (``min,E,E,aggregate,true,...``). Every row is
a function the translation accepts (``portable.py``; a test calls each with its argument types).
"""

from __future__ import annotations

COLUMNS = (
    *("Function", "Return Type", "Argument Types", "Function Type", "Deterministic"),
    "Description",
)
TS = "timestamp with time zone"

#: (function, return type, argument types, description) per kind; all deterministic except
#: :data:`NOT_DETERMINISTIC`.
AGGREGATE = (
    ("array_agg", "array(T)", "T", "Returns an array of the input values"),
    ("avg", "double", "double", "Average (arithmetic mean) of the input values"),
    ("bool_and", "boolean", "boolean", "True when every input value is true"),
    ("bool_or", "boolean", "boolean", "True when any input value is true"),
    ("count", "bigint", "", "Number of input rows"),
    ("count", "bigint", "T", "Number of non-null input values"),
    ("count_if", "bigint", "boolean", "Number of true input values"),
    ("max", "E", "E", "Largest input value"),
    ("min", "E", "E", "Smallest input value"),
    ("stddev", "double", "double", "Sample standard deviation"),
    ("stddev_pop", "double", "double", "Population standard deviation"),
    ("stddev_samp", "double", "double", "Sample standard deviation"),
    ("sum", "T", "T", "Sum of the input values"),
    ("var_pop", "double", "double", "Population variance"),
    ("variance", "double", "double", "Sample variance"),
)
WINDOW = (
    ("cume_dist", "double", "", "Cumulative distribution of the row in its partition"),
    ("dense_rank", "bigint", "", "Rank of the row, without gaps"),
    ("first_value", "T", "T", "Value at the first row of the window frame"),
    ("lag", "T", "T, bigint", "Value at the given offset before the current row"),
    ("last_value", "T", "T", "Value at the last row of the window frame"),
    ("lead", "T", "T, bigint", "Value at the given offset after the current row"),
    ("nth_value", "T", "T, bigint", "Value at the given position of the window frame"),
    ("ntile", "bigint", "bigint", "Bucket number of the row, buckets numbered from 1"),
    ("percent_rank", "double", "", "Percentage rank of the row"),
    ("rank", "bigint", "", "Rank of the row, with gaps"),
    ("row_number", "bigint", "", "Number of the row in its partition, from 1"),
)
SCALAR = (
    ("abs", "T", "T", "Absolute value"),
    ("at_timezone", TS, f"{TS}, varchar", "The same instant in the given time zone"),
    ("ceil", "T", "T", "Rounds up to the nearest integer"),
    ("coalesce", "T", "T, T", "First non-null argument"),
    ("concat", "varchar", "varchar, varchar", "Concatenation of the arguments"),
    ("current_date", "date", "", "Date at the start of the query"),
    ("current_timestamp", TS, "", "Timestamp at the start of the query"),
    ("date", "date", TS, "Date part of a timestamp"),
    ("date_add", TS, f"varchar, bigint, {TS}", "Adds an interval of the given unit"),
    ("date_diff", "bigint", f"varchar, {TS}, {TS}", "Difference in the given unit"),
    ("date_format", "varchar", f"{TS}, varchar", "Formats with a MySQL-style format"),
    ("date_parse", "timestamp", "varchar, varchar", "Parses with a MySQL-style format"),
    ("date_trunc", TS, f"varchar, {TS}", "Truncates to the given unit"),
    ("day", "bigint", TS, "Day of the month"),
    ("day_of_month", "bigint", TS, "Day of the month"),
    ("day_of_week", "bigint", TS, "ISO day of the week, Monday 1 to Sunday 7"),
    ("day_of_year", "bigint", TS, "Day of the year, from 1"),
    ("floor", "T", "T", "Rounds down to the nearest integer"),
    ("from_iso8601_timestamp", TS, "varchar", "Parses an ISO 8601 timestamp"),
    ("from_unixtime", TS, "double", "Timestamp of a UNIX time in seconds"),
    ("greatest", "T", "T, T", "Largest argument"),
    ("hour", "bigint", TS, "Hour of the day"),
    ("if", "T", "boolean, T, T", "Second argument when the first is true, else the third"),
    ("last_day_of_month", "date", TS, "Last day of the month"),
    ("least", "T", "T, T", "Smallest argument"),
    ("length", "bigint", "varchar", "Length in characters"),
    ("ln", "double", "double", "Natural logarithm"),
    ("lower", "varchar", "varchar", "Converts to lower case"),
    ("lpad", "varchar", "varchar, bigint, varchar", "Pads on the left to the given size"),
    ("minute", "bigint", TS, "Minute of the hour"),
    ("mod", "T", "T, T", "Remainder of the division"),
    ("month", "bigint", TS, "Month of the year"),
    ("now", TS, "", "Timestamp at the start of the query"),
    ("nullif", "T", "T, T", "Null when the arguments are equal, else the first"),
    ("power", "double", "double, double", "First argument raised to the second"),
    ("quarter", "bigint", TS, "Quarter of the year"),
    ("regexp_like", "boolean", "varchar, varchar", "Whether the pattern matches"),
    ("regexp_replace", "varchar", "varchar, varchar, varchar", "Replaces pattern matches"),
    ("replace", "varchar", "varchar, varchar, varchar", "Replaces every occurrence"),
    ("reverse", "varchar", "varchar", "Characters in reverse order"),
    ("round", "T", "T, bigint", "Rounds to the given number of decimals"),
    ("rpad", "varchar", "varchar, bigint, varchar", "Pads on the right to the given size"),
    ("second", "bigint", TS, "Second of the minute"),
    ("sign", "T", "T", "Sign: -1, 0 or 1"),
    ("split_part", "varchar", "varchar, varchar, bigint", "Field of a split string, from 1"),
    ("sqrt", "double", "double", "Square root"),
    ("strpos", "bigint", "varchar, varchar", "Position of a substring, from 1 (0: absent)"),
    ("substr", "varchar", "varchar, bigint, bigint", "Substring from a position, of a length"),
    ("to_unixtime", "double", TS, "UNIX time in seconds"),
    ("to_uuid32", "varchar", "varchar", "A 36-character id without its dashes"),
    ("to_uuid36", "varchar", "varchar", "A 32-character id with dashes (8-4-4-4-12)"),
    ("trim", "varchar", "varchar", "Removes leading and trailing spaces"),
    ("upper", "varchar", "varchar", "Converts to upper case"),
    ("week", "bigint", TS, "ISO week of the year"),
    ("year", "bigint", TS, "Year"),
    ("year_of_week", "bigint", TS, "Year of the ISO week"),
)
NOT_DETERMINISTIC = frozenset(("current_date", "current_timestamp", "now"))

Row = tuple[str, str, str, str, str, str]


def rows() -> tuple[Row, ...]:
    """Every function, sorted by name then argument types (as Trino lists them)."""
    found: list[Row] = []
    for kind, table in (("aggregate", AGGREGATE), ("window", WINDOW), ("scalar", SCALAR)):
        for name, returns, arguments, description in table:
            deterministic = "false" if name in NOT_DETERMINISTIC else "true"
            found.append((name, returns, arguments, kind, deterministic, description))
    return tuple(sorted(found, key=lambda row: (row[0], row[2])))
