"""services/json_input.py: the limits every JSON endpoint shares (issue 11, defects 1, 3, 4).

JSON within the limits reads as ``json`` reads it; a lone surrogate, a NUL, nesting past the
limit, an integer past 64 bits or a number that is not finite is refused with UnacceptableJson
saying what and where; text that is not JSON stays a plain MalformedRequest.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aquarium.domain import errors
from aquarium.services import json_input

SETTINGS = settings(max_examples=200, deadline=None, database=None)

# Text without surrogates or NUL, and JSON values built of it within the limits.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(json_input.INT64_MIN, json_input.INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=20,
)


def _refusal(raw: str | bytes) -> str:
    with pytest.raises(errors.UnacceptableJson) as caught:
        json_input.loads(raw)
    return caught.value.reason


@SETTINGS
@given(VALUES)
def test_json_within_the_limits_reads_as_json_does(value: object) -> None:
    raw = json.dumps(value)
    assert json_input.loads(raw) == json.loads(raw)
    assert json_input.loads(raw.encode("utf-8")) == json.loads(raw)


@SETTINGS
@given(VALUES, st.integers(0xD800, 0xDFFF), st.booleans())
def test_a_lone_surrogate_anywhere_is_refused(value: object, code: int, as_key: bool) -> None:
    escape = f"\\u{code:04x}"
    raw = json.dumps({escape: value} if as_key else [value, escape]).replace("\\\\u", "\\u")
    assert "not valid Unicode" in _refusal(raw)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('{"name": "\\ud800"}', "at name"),
        ('{"queries": [{"query": "select \\udfff"}]}', "at queries[0].query"),
        ('{"a b": ["x", "\\ud800"]}', 'at ["a b"][1]'),
        ('["\\ud800"]', "at [0]"),
        ('"\\ud800"', "at the top level"),
        ('{"\\ud800": 1}', 'at ["\\ud800"]'),
    ],
)
def test_the_refusal_says_where_the_bad_text_is(raw: str, where: str) -> None:
    assert _refusal(raw).endswith(where)


def test_a_surrogate_pair_is_one_character_and_welcome() -> None:
    assert json_input.loads('{"name": "\\ud83d\\ude00"}') == {"name": "\U0001f600"}


def test_nul_is_refused_for_postgresql_cannot_store_it() -> None:
    assert "NUL character" in _refusal('{"name": "a\\u0000b"}')


def test_bytes_that_are_not_utf8_are_refused() -> None:
    assert _refusal(b'{"name": "\xff"}') == "the body is not UTF-8 text"
    # json decodes bytes with 'surrogatepass': an encoded surrogate arrives as one.
    assert "not valid Unicode" in _refusal(b'{"name": "\xed\xa0\x80"}')


@pytest.mark.parametrize("depth", [json_input.MAX_DEPTH + 1, 1_000, 100_000])
def test_nesting_past_the_limit_is_refused_without_recursion(depth: int) -> None:
    assert "levels deep" in _refusal("[" * depth + "]" * depth)
    assert "levels deep" in _refusal('{"a":' * depth + "1" + "}" * depth)


def test_nesting_up_to_the_limit_is_read() -> None:
    depth = json_input.MAX_DEPTH
    assert json_input.loads("[" * depth + '"x"' + "]" * depth) is not None


@pytest.mark.parametrize(
    "number",
    [
        "9" * 5_000,  # beyond Python's own int() limit (4,300 digits)
        "9" * 31,
        str(2**63),
        str(-(2**63) - 1),
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-Infinity",
    ],
)
def test_numbers_beyond_what_any_store_holds_are_refused(number: str) -> None:
    assert "holds" in _refusal(f'{{"offset": {number}}}')


def test_the_64_bit_range_is_read_whole() -> None:
    raw = f"[{2**63 - 1}, {-(2**63)}, 1.5e300, -0.0]"
    assert json_input.loads(raw) == [2**63 - 1, -(2**63), 1.5e300, -0.0]


def test_a_long_number_is_shown_cut() -> None:
    reason = _refusal("[" + "9" * 5_000 + "]")
    assert "(5,000 characters)" in reason
    assert len(reason) < 100


@pytest.mark.parametrize("raw", ["", "{", "[1,]", "nope", '{"a": 1} x'])
def test_text_that_is_not_json_stays_malformed(raw: str) -> None:
    with pytest.raises(errors.MalformedRequest) as caught:
        json_input.loads(raw)
    assert not isinstance(caught.value, errors.UnacceptableJson)
    assert caught.value.reason.startswith("the body is not valid JSON")


def test_what_names_the_value_read() -> None:
    with pytest.raises(errors.UnacceptableJson, match="The report definition nests"):
        json_input.loads("[" * 100 + "]" * 100, what="the report definition")
