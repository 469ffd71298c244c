"""Properties of services/json_input.py over any input (issue 11: "any input gives the documented
error shape, never an exception").

Whatever bytes or text arrive, :func:`json_input.loads` returns a value within the limits of its
docstring or raises exactly MalformedRequest (not JSON) or UnacceptableJson (JSON beyond a limit)
with a reason saying what and where. A document with one hostile value planted anywhere (a lone
surrogate or NUL, as a value or a key, an integer past 64 bits, ``1e400``, ``NaN``, nesting past
the limit) is refused for that value and, for text, at its path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquarium.domain import errors
from aquarium.services import json_input

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the working tree
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
#: The words of each refusal :func:`json_input.loads` may give (its docstring's limits).
REFUSALS = (
    "is not valid JSON",
    "is not UTF-8 text",
    "holds a NUL character",
    "holds text that is not valid Unicode",
    "levels deep",
    "holds an integer beyond 64 bits",
    "holds a number out of range",
    "which is not a JSON number",
)


def _within_limits(value: object) -> None:
    """Fails unless ``value`` is what the docstring says ``loads`` returns."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            assert depth < json_input.MAX_DEPTH
            items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
            for key, item in items:
                stack.append((key, depth + 1))
                stack.append((item, depth + 1))
        elif isinstance(node, str):
            assert "\x00" not in node
            node.encode("utf-8")  # no lone surrogate
        elif isinstance(node, bool) or node is None:
            pass
        elif isinstance(node, int):
            assert json_input.INT64_MIN <= node <= json_input.INT64_MAX
        else:
            assert isinstance(node, float) and math.isfinite(node), node


def read_or_refuse(raw: bytes | str) -> object | errors.MalformedRequest:
    """The value ``loads`` reads, checked against its limits, or its refusal, checked to be one
    of the two documented classes with a reason in words; any other exception fails the test."""
    try:
        value = json_input.loads(raw)
    except errors.MalformedRequest as refused:  # UnacceptableJson included
        assert refused.reason.startswith("the body "), refused.reason
        assert any(words in refused.reason for words in REFUSALS), refused.reason
        assert isinstance(refused.reason, str) and len(refused.reason) < 300
        return refused
    _within_limits(value)
    return value


# -- any input -------------------------------------------------------------------------------------

ANY_CHARACTER = st.characters(exclude_categories=())  # lone surrogates and NUL included
#: Pieces of JSON and of what breaks it, joined at random.
SOUP = r'[ ] { } , : " \ \u \ud800 \udc00 \u0000 d83d true null NaN -Infinity 1e400 -0 5e-3'
JSON_BITS = st.sampled_from(
    [*SOUP.split(), "9" * 40, " ", "\n", "'", '"a"', "\x00", "\ud800", "\u00e9", "\ufeff"]
)


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_in_words(raw: bytes) -> None:
    read_or_refuse(raw)


@SETTINGS
@given(st.text(ANY_CHARACTER, max_size=200))
def test_any_text_is_read_or_refused_in_words(raw: str) -> None:
    read_or_refuse(raw)
    if raw.isascii():  # the bytes of the same text read the same
        assert repr(read_or_refuse(raw)) == repr(read_or_refuse(raw.encode("ascii")))


@SETTINGS
@given(st.lists(JSON_BITS, max_size=40), st.booleans())
def test_json_token_soup_is_read_or_refused_in_words(bits: list[str], as_bytes: bool) -> None:
    text = "".join(bits)
    read_or_refuse(text.encode("utf-8", "surrogatepass") if as_bytes else text)


# -- one hostile value planted in a valid document -------------------------------------------------

KEYS = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(json_input.INT64_MIN, json_input.INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | KEYS
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)
MARK = "\x01planted\x01"  # json.dumps spells it "\u0001planted\u0001"; no generated key is it


@dataclass(frozen=True)
class Hostile:
    """JSON text refused wherever it stands, the words of its refusal, and whether the refusal
    names the path (text does; a number is refused while parsing, before any path is known)."""

    raw: str
    words: str
    at_path: bool = False


def _nested(levels: int) -> Hostile:
    return Hostile("[" * levels + "]" * levels, "levels deep")


HOSTILE = st.one_of(
    st.sampled_from(
        [
            Hostile('"\\ud800"', "not valid Unicode", at_path=True),
            Hostile('"a\\udfffb"', "not valid Unicode", at_path=True),
            Hostile('"\\ude00\\ud83d"', "not valid Unicode", at_path=True),  # a pair reversed
            Hostile('"a\\u0000"', "NUL character", at_path=True),
            Hostile("1e400", "out of range"),
            Hostile("-1e400", "out of range"),
            Hostile("NaN", "not a JSON number"),
            Hostile("Infinity", "not a JSON number"),
            Hostile("-Infinity", "not a JSON number"),
            Hostile(str(2**63), "beyond 64 bits"),
            Hostile(str(-(2**63) - 1), "beyond 64 bits"),
        ]
    ),
    st.integers(20, 5_000).map(lambda n: Hostile("9" * n, "beyond 64 bits")),
    st.integers(json_input.MAX_DEPTH + 1, 2_000).map(_nested),
)


@st.composite
def planted(draw: st.DrawFn) -> tuple[str, Hostile, json_input.Path]:
    """A valid document with one value replaced by a hostile one: its text, what was planted,
    and the path of the planted value."""
    document = draw(DOCUMENTS)
    hostile = draw(HOSTILE)
    path: list[str | int] = []
    node: object = document
    holder: list[object] = [document]
    parent: object = holder
    slot: str | int = 0
    while isinstance(node, dict | list) and node and draw(st.booleans()):
        slot = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        parent, node = node, node[slot]  # type: ignore[index]
        path.append(slot)
    parent[slot] = MARK  # type: ignore[index]
    text = json.dumps(holder[0]).replace(json.dumps(MARK), hostile.raw)
    return text, hostile, tuple(path)


@SETTINGS
@given(planted())
def test_a_hostile_value_anywhere_is_refused_for_what_it_is_and_where(
    case: tuple[str, Hostile, json_input.Path],
) -> None:
    text, hostile, path = case
    for raw in (text, text.encode("utf-8")):
        with pytest.raises(errors.UnacceptableJson) as caught:
            json_input.loads(raw)
        reason = caught.value.reason
        assert hostile.words in reason, (reason, hostile)
        if hostile.at_path:
            assert reason.endswith(f" at {json_input._where(path)}"), (reason, path)


@SETTINGS
@given(DOCUMENTS, st.sampled_from(['"\\ud800"', '"\\u0000"']), KEYS)
def test_a_hostile_key_is_refused_at_its_path(document: object, key: str, sibling: str) -> None:
    text = "{" + key + ": " + json.dumps(document) + ", " + json.dumps(sibling) + ": 1}"
    with pytest.raises(errors.UnacceptableJson) as caught:
        json_input.loads(text)
    assert caught.value.reason.endswith(f" at {json_input._where((json.loads(key),))}")


@SETTINGS
@given(DOCUMENTS)
def test_a_document_within_the_limits_reads_whole(document: object) -> None:
    text = json.dumps(document)
    assert json_input.loads(text) == json.loads(text)
    _within_limits(json_input.loads(text))
