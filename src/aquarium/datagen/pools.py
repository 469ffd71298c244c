"""Small text pools (names, companies, places, words) made once with mimesis, then indexed.

The pools are a few hundred entries each; rows pick from them with numpy indices, so the cost of
mimesis does not grow with the scale. Seeded, so the same seed gives the same pools.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from mimesis import Address, Finance, Locale, Person, Text

POOL_SIZE = 400


@dataclass(frozen=True)
class Pools:
    """Arrow string arrays to draw text from (no entry contains a newline)."""

    first_names: pa.Array
    last_names: pa.Array
    companies: pa.Array
    cities: pa.Array
    states: pa.Array
    countries: pa.Array
    postal_codes: pa.Array
    streets: pa.Array
    banks: pa.Array
    words: pa.Array
    sentences: pa.Array


def _pool(make: Callable[[], str], size: int = POOL_SIZE) -> pa.Array:
    # Newlines and carriage returns never reach the data: exports must stay one row per line.
    values = [" ".join(make().split()) for _ in range(size)]
    return pa.array(values, pa.string())


def build(seed: int) -> Pools:
    """The pools for ``seed`` (English locale)."""
    person = Person(locale=Locale.EN, seed=seed)
    address = Address(locale=Locale.EN, seed=seed + 1)
    finance = Finance(locale=Locale.EN, seed=seed + 2)
    text = Text(locale=Locale.EN, seed=seed + 3)
    return Pools(
        first_names=_pool(person.first_name),
        last_names=_pool(person.last_name),
        companies=_pool(finance.company),
        cities=_pool(address.city),
        states=_pool(address.state),
        countries=_pool(address.country, 60),
        postal_codes=_pool(address.postal_code),
        streets=_pool(lambda: f"{address.street_number()} {address.street_name()}"),
        banks=_pool(finance.bank, 60),
        words=_pool(text.word),
        sentences=_pool(text.sentence, 200),
    )
