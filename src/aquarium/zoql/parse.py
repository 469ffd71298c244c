"""Stage 1: statement text -> :class:`ast.Query`, or a :class:`ZoqlError` with line and column.

Guards run before the parser so that hostile input stays cheap: statements over
``MAX_STATEMENT_CHARS`` are refused outright, and parentheses nested deeper than
``MAX_NESTING`` are refused at the offending parenthesis (the tree stages are recursive).
"""

from __future__ import annotations

import dataclasses
import functools
from decimal import Decimal
from importlib import resources
from typing import Any

import lark
from lark.parsers import lalr_parser_state

from aquarium.domain import errors
from aquarium.zoql import ast

MAX_STATEMENT_CHARS = 20_000  # Zuora's documented Export ZOQL limit (reference §2.2)
MAX_NESTING = 64  # parentheses; real queries use a handful
MAX_LIMIT = 2**63 - 1  # the engines' LIMIT is a signed 64-bit integer

# The string terminal is the one lexical difference between the dialects (reference §8.1).
STRING_PATTERNS = {
    ast.Dialect.EXPORT: r"/'(?:[^']|'')*'/",
    ast.Dialect.ZOQL: r"/'(?:[^'\\]|\\.)*'/s",
}
BACKSLASH_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}

# How parser terminals are named in error messages.
TERMINAL_WORDS = {
    "_SELECT": "'select'",
    "_FROM": "'from'",
    "_WHERE": "'where'",
    "_GROUP": "'group by'",
    "_HAVING": "'having'",
    "_ORDER": "'order by'",
    "_BY": "'by'",
    "_LIMIT": "'limit'",
    "_AS": "'as'",
    "_AND": "'and'",
    "_OR": "'or'",
    "_IS": "'is'",
    "NULL": "'null'",
    "_LIKE": "'like'",
    "NOT": "'not'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "DISTINCT": "'distinct'",
    "DIRECTION": "'asc' or 'desc'",
    "STAR": "'*'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "DOT": "'.'",
    "SEMICOLON": "';'",
    "COMP_OP": "a comparison operator",
    "NAME": "a name",
    "QUOTED_NAME": "a quoted alias",
    "NUMBER": "a number",
    "INT": "a whole number",
    "STRING": "a quoted string",
    "$END": "the end of the statement",
}


class _PositionedError(Exception):
    """Raised inside the tree builder, which does not see the text; turned into a ZoqlError."""

    def __init__(
        self, reason: str, pos: int, kind: type[errors.ZoqlError] = errors.ZoqlError
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.pos = pos
        self.kind = kind


@functools.cache
def _parser(dialect: ast.Dialect) -> lark.Lark:
    grammar = resources.files("aquarium.zoql").joinpath("grammar.lark").read_text("utf-8")
    grammar = grammar.replace("__STRING__", STRING_PATTERNS[dialect])
    # The builder runs inside the LALR parser (no intermediate tree): half the parse time.
    # The contextual lexer reads a keyword as a name where the parser expects a name and not
    # that keyword (grammar.lark header): 'select * from Order' is a query, not an error.
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
        transformer=_Builder(dialect),
    )


def parse(text: str, dialect: ast.Dialect = ast.Dialect.EXPORT) -> ast.Query:
    """Parse one statement. Raises :class:`errors.ZoqlError`; never any other exception."""
    if not isinstance(text, str):
        raise errors.ZoqlError("the query must be a string")
    if len(text) > MAX_STATEMENT_CHARS:
        raise errors.ZoqlError(
            f"the statement is {len(text):,} characters long; "
            f"the limit is {MAX_STATEMENT_CHARS:,} characters"
        )
    if not text.strip():
        raise errors.ZoqlError("the query is empty")
    _check_nesting(text)
    try:
        query = _parser(dialect).parse(text)
    except _PositionedError as exc:
        raise exc.kind(exc.reason, errors.SourcePosition.locate(text, exc.pos)) from None
    except lark.exceptions.UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise errors.ZoqlError("the query nests too deeply") from None
    assert isinstance(query, ast.Query)  # the builder turns the whole tree into a Query
    return dataclasses.replace(query, text=text)


def _check_nesting(text: str) -> None:
    depth = 0
    in_string = False
    for offset, char in enumerate(text):
        if char == "'":
            in_string = not in_string
        elif in_string:
            continue
        elif char == "(":
            depth += 1
            if depth > MAX_NESTING:
                raise errors.ZoqlError(
                    f"parentheses nest more than {MAX_NESTING} levels deep",
                    errors.SourcePosition.locate(text, offset),
                )
        elif char == ")":
            depth = max(0, depth - 1)


def _describe_expected(expected: set[str]) -> str:
    words = sorted({TERMINAL_WORDS.get(name, name.lower()) for name in expected})
    if not words:
        return ""
    if len(words) > 6:
        return ", expected one of " + ", ".join(words[:6]) + ", ..."
    return ", expected " + (words[0] if len(words) == 1 else "one of " + ", ".join(words))


def _expected(exc: lark.exceptions.UnexpectedToken) -> set[str]:
    # A token the contextual lexer could not place comes with its lexer state's terminals,
    # which never include the end of the statement; the parser state's actions (what the basic
    # lexer reported) say whether the statement could end there.
    expected = set(exc.expected) - {"<END-OF-FILE>"}
    state = exc.state
    if isinstance(state, lalr_parser_state.ParserState):
        actions: dict[str, Any] = state.parse_conf.parse_table.states[state.position]
        expected |= {"$END"} & actions.keys()
    return expected


def _syntax_error(text: str, exc: lark.exceptions.UnexpectedInput) -> errors.ZoqlError:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    position = errors.SourcePosition.locate(text, offset)
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = text[offset] if offset < len(text) else ""
        if char == "'":
            return errors.ZoqlError("unterminated string literal", position)
        if char == '"':
            return errors.ZoqlError("unterminated quoted alias", position)
        return errors.ZoqlError(f"unexpected character {char!r}", position)
    if isinstance(exc, lark.exceptions.UnexpectedToken):
        token = exc.token
        expected = _describe_expected(_expected(exc))
        if token.type == "$END":
            end = errors.SourcePosition.locate(text, len(text.rstrip()))
            return errors.ZoqlError(f"the statement ends too early{expected}", end)
        return errors.ZoqlError(f"unexpected {str(token.value)!r}{expected}", position)
    return errors.ZoqlError("the statement ends too early", position)


def _decode_string(raw: str, dialect: ast.Dialect) -> str:
    body = raw[1:-1]
    if dialect is ast.Dialect.EXPORT:
        return body.replace("''", "'")
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "\\")
            out.append(BACKSLASH_ESCAPES.get(escaped, escaped))
        else:
            out.append(char)
    return "".join(out)


class _Builder(lark.Transformer[lark.Token, Any]):
    """Turns the lark tree into :mod:`ast` nodes."""

    def __init__(self, dialect: ast.Dialect) -> None:
        super().__init__()
        self.dialect = dialect

    # -- names and expressions ------------------------------------------------------------
    def name(self, children: list[lark.Token]) -> ast.Name:
        return ast.Name(str(children[0]), children[0].start_pos or 0)

    def column(self, children: list[ast.Name]) -> ast.Column:
        if len(children) == 1:
            return ast.Column(None, children[0], children[0].pos)
        return ast.Column(children[0], children[1], children[0].pos)

    def object_star(self, children: list[Any]) -> ast.ObjectStar:
        return ast.ObjectStar(children[0], children[0].pos)

    def star_arg(self, children: list[Any]) -> tuple[ast.Column | None, bool]:
        return (None, False)

    def column_arg(self, children: list[Any]) -> tuple[ast.Column | None, bool]:
        return (children[-1], len(children) == 2)

    def call(self, children: list[Any]) -> ast.Call:
        func: ast.Name = children[0]
        arg, distinct = children[1]
        return ast.Call(func, arg, distinct, func.pos)

    # -- literals -------------------------------------------------------------------------
    def _string_value(self, token: lark.Token) -> str:
        value = _decode_string(str(token), self.dialect)
        if "\0" in value:
            raise _PositionedError("strings cannot contain NUL characters", token.start_pos or 0)
        return value

    def string(self, children: list[lark.Token]) -> ast.Literal:
        token = children[0]
        value = self._string_value(token)
        return ast.Literal(ast.LiteralKind.STRING, value, token.start_pos or 0)

    def number(self, children: list[lark.Token]) -> ast.Literal:
        token = children[0]
        return ast.Literal(ast.LiteralKind.NUMBER, Decimal(str(token)), token.start_pos or 0)

    def true(self, children: list[lark.Token]) -> ast.Literal:
        return ast.Literal(ast.LiteralKind.BOOLEAN, True, children[0].start_pos or 0)

    def false(self, children: list[lark.Token]) -> ast.Literal:
        return ast.Literal(ast.LiteralKind.BOOLEAN, False, children[0].start_pos or 0)

    def null(self, children: list[lark.Token]) -> ast.Literal:
        return ast.Literal(ast.LiteralKind.NULL, None, children[0].start_pos or 0)

    # -- select list ----------------------------------------------------------------------
    def alias(self, children: list[lark.Token]) -> ast.Name:
        token = children[0]
        text = str(token)
        if token.type == "QUOTED_NAME":
            text = text[1:-1]
        elif token.type == "STRING":
            text = _decode_string(text, self.dialect)
        return ast.Name(text, token.start_pos or 0)

    def select_item(self, children: list[Any]) -> ast.SelectItem:
        alias = children[1] if len(children) > 1 else None
        return ast.SelectItem(children[0], alias, children[0].pos)

    def select_all(self, children: list[lark.Token]) -> tuple[tuple[()], int]:
        return ((), children[0].start_pos or 0)

    def select_items(
        self, children: list[ast.SelectItem]
    ) -> tuple[tuple[ast.SelectItem, ...], None]:
        return (tuple(children), None)

    # -- conditions -----------------------------------------------------------------------
    def compare(self, children: list[Any]) -> ast.Compare:
        op = "!=" if str(children[1]) == "<>" else str(children[1])
        return ast.Compare(op, children[0], children[2], children[0].pos)

    def is_null(self, children: list[Any]) -> ast.IsNull:
        return ast.IsNull(children[0], len(children) == 3, children[0].pos)

    def like(self, children: list[Any]) -> ast.Like:
        token: lark.Token = children[-1]
        pattern = ast.Literal(
            ast.LiteralKind.STRING, self._string_value(token), token.start_pos or 0
        )
        return ast.Like(children[0], pattern, len(children) == 3, children[0].pos)

    def disjunction(self, children: list[ast.Condition]) -> ast.Or:
        return ast.Or(tuple(children), children[0].pos)

    def conjunction(self, children: list[ast.Condition]) -> ast.And:
        return ast.And(tuple(children), children[0].pos)

    def nots(self, children: list[lark.Token]) -> list[lark.Token]:
        return children

    def negate(self, children: list[Any]) -> ast.Condition:
        # A run of 'not's is flattened: recursion depth must not grow with hostile input.
        nots: list[lark.Token] = children[0]
        item: ast.Condition = children[1]
        if len(nots) % 2 == 0:
            return item
        return ast.Not(item, nots[-1].start_pos or 0)

    def paren(self, children: list[Any]) -> ast.Paren:
        return ast.Paren(children[1], children[0].start_pos or 0)

    # -- clauses --------------------------------------------------------------------------
    def where_clause(self, children: list[ast.Condition]) -> tuple[str, Any]:
        return ("where", children[0])

    def having_clause(self, children: list[ast.Condition]) -> tuple[str, Any]:
        return ("having", children[0])

    def group_clause(self, children: list[Any]) -> tuple[str, Any]:
        return ("group_by", tuple(children))

    def order_item(self, children: list[Any]) -> ast.OrderItem:
        descending = len(children) == 2 and str(children[1]).lower() == "desc"
        return ast.OrderItem(children[0], descending, children[0].pos)

    def _whole_number(self, token: lark.Token) -> int:
        text = str(token)
        if not text.isdigit():
            raise _PositionedError(f"limit takes whole numbers, not {text!r}", token.start_pos or 0)
        if int(text) > MAX_LIMIT:
            raise _PositionedError(f"limit takes numbers up to {MAX_LIMIT:,}", token.start_pos or 0)
        return int(text)

    def order_clause(self, children: list[ast.OrderItem]) -> tuple[str, Any]:
        return ("order_by", tuple(children))

    def limit_clause(self, children: list[lark.Token]) -> tuple[str, Any]:
        numbers = [self._whole_number(token) for token in children]
        offset, count = (None, numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
        return ("limit", ast.Limit(offset, count, children[0].start_pos or 0))

    def query(self, children: list[Any]) -> ast.Query:
        if isinstance(children[0], lark.Token):
            # 'select distinct': Zuora allows distinct only inside count() (90020).
            raise _PositionedError(
                "distinct can only be used inside count(), as in count(distinct Id)",
                children[0].start_pos or 0,
                errors.DistinctWithoutCountError,
            )
        select, star_pos = children[0]
        clauses = dict(children[2:])
        return ast.Query(
            select=select,
            star_pos=star_pos,
            source=children[1],
            where=clauses.get("where"),
            group_by=clauses.get("group_by", ()),
            having=clauses.get("having"),
            order_by=clauses.get("order_by", ()),
            limit=clauses.get("limit"),
            text="",
        )

    def start(self, children: list[ast.Query]) -> ast.Query:
        return children[0]
