"""JSON a client sent, read with the limits every endpoint shares.

Python's ``json`` reads more than any endpoint can use, and what it let through used to fail far
from the request, as a 500: a lone surrogate (``"\\ud800"``) is no text SQLite, PostgreSQL or
DuckDB can store; arrays nested a thousand deep exhaust the recursion of the parser and of every
stage that walks the value; an integer of thousands of digits cannot even be converted, and one
of thirty overflows every integer column; ``1e400`` and ``NaN`` are no numbers at all.

:func:`loads` refuses each of these with :class:`errors.UnacceptableJson`, saying what is wrong
and where (``queries[0].name``), and a text that is not JSON with :class:`errors.MalformedRequest`.
What is accepted:

- text: valid Unicode without NUL characters (PostgreSQL text cannot hold NUL), keys included;
- nesting: at most :data:`MAX_DEPTH` arrays and objects inside one another;
- integers: within 64 bits, signed (what every store and engine holds); other numbers finite.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from aquarium.domain import errors

MAX_DEPTH = 64  # arrays and objects inside one another; real bodies use fewer than ten
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT64_DIGITS = len(str(INT64_MAX))

Path = tuple[str | int, ...]


class _Refused(ValueError):
    """A number the reader refuses while parsing; turned into UnacceptableJson."""


def _shown(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text):,} characters)"


def _integer(text: str) -> int:
    # Checked by length first: int() of a long digit string is slow, and Python refuses
    # strings of more than 4,300 digits with a ValueError of its own.
    if len(text.lstrip("-")) <= _INT64_DIGITS:
        value = int(text)
        if INT64_MIN <= value <= INT64_MAX:
            return value
    raise _Refused(f"an integer beyond 64 bits: {_shown(text)}")


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"a number out of range: {_shown(text)}")
    return value


def _constant(text: str) -> float:
    raise _Refused(f"{text}, which is not a JSON number")


def loads(raw: bytes | str, *, what: str = "the body") -> object:
    """``raw`` as a JSON value; ``what`` names it in the reasons of the errors raised.

    :class:`errors.MalformedRequest` when ``raw`` is not JSON, :class:`errors.UnacceptableJson`
    when it is but breaks a limit of the module docstring.
    """
    try:
        value = json.loads(raw, parse_int=_integer, parse_float=_number, parse_constant=_constant)
    except _Refused as exc:
        raise errors.UnacceptableJson(f"{what} holds {exc}") from None
    except RecursionError:
        raise errors.UnacceptableJson(_too_deep(what)) from None
    except UnicodeDecodeError:
        raise errors.UnacceptableJson(f"{what} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise errors.MalformedRequest(f"{what} is not valid JSON: {exc}") from None
    _check(value, what)
    return value


def _too_deep(what: str) -> str:
    return f"{what} nests arrays and objects more than {MAX_DEPTH} levels deep"


def _check(value: object, what: str) -> None:
    """Depth and text of a parsed value, walked without recursion."""
    for node, depth, path in _walk(value):
        if depth >= MAX_DEPTH and isinstance(node, dict | list):
            raise errors.UnacceptableJson(_too_deep(what))
        problem = _text_problem(node) if isinstance(node, str) else None
        if problem is not None:
            raise errors.UnacceptableJson(f"{what} {problem} at {_where(path)}")


def _walk(value: object) -> Iterator[tuple[object, int, Path]]:
    """Every value and key of ``value`` with the number of arrays and objects around it and its
    path, depth first."""
    stack: list[tuple[object, int, Path]] = [(value, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        yield node, depth, path
        if isinstance(node, dict):
            for key, item in node.items():
                yield key, depth + 1, (*path, key)
                stack.append((item, depth + 1, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, depth + 1, (*path, index)) for index, item in enumerate(node))


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "holds a NUL character (\\u0000)"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "holds text that is not valid Unicode (a lone surrogate such as \\ud800)"
    return None


def _where(path: Path) -> str:
    """``queries[0].name``; keys that are not plain words JSON-quoted, ``the top level`` for ()."""
    if not path:
        return "the top level"
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif step.isidentifier() and step.isascii():
            parts.append(f".{step}" if parts else step)
        else:
            parts.append(f"[{json.dumps(step)}]")
    return "".join(parts)
