"""Vectorised builders of Arrow columns: ids, numbered codes, money, dates, picklists.

Everything here works on whole numpy arrays; no function loops over rows. Money is handled as
int64 counts of 1/10000 (the catalogue's DECIMAL(18,4) scale) so sums stay exact.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Arr = npt.NDArray[Any]

DECIMAL = pa.decimal128(18, 4)
TIMESTAMP = pa.timestamp("us", tz="UTC")
US_PER_DAY = 86_400_000_000
#: Money amounts are generated in cents; one cent is 100 units of DECIMAL(18,4).
UNITS_PER_CENT = 100
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """An independent generator per (seed, purpose), so objects don't depend on build order."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode("utf-8"))])


def make_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` distinct 32-character lowercase hex ids.

    12 random bytes followed by the 4-byte row number: unique within the object by construction,
    and unrelated across objects because each object has its own generator.
    """
    raw = np.empty((n, 16), dtype=np.uint8)
    raw[:, :12] = rng.integers(0, 256, size=(n, 12), dtype=np.uint8)
    raw[:, 12:] = np.arange(n, dtype=">u4").view(np.uint8).reshape(n, 4)
    chars = np.empty((n, 32), dtype=np.uint8)
    chars[:, 0::2] = _HEX[raw >> 4]
    chars[:, 1::2] = _HEX[raw & 0x0F]
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes()))


def take(values: pa.Array, index: Arr, valid: Arr | None = None) -> pa.Array:
    """``values[index]``; rows where ``valid`` is false (or ``index`` < 0) become null."""
    mask = index < 0 if valid is None else ~valid | (index < 0)
    if not mask.any():
        return values.take(pa.array(index.astype(np.int64, copy=False)))
    safe = np.where(mask, 0, index).astype(np.int64)
    return values.take(pa.array(safe, mask=mask))


def pick(rng: np.random.Generator, n: int, weights: Sequence[float]) -> Arr:
    """``n`` indices into ``weights`` drawn with those (normalised) probabilities."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum())


def options(values: Sequence[str], index: Arr, valid: Arr | None = None) -> pa.Array:
    """Picklist values by index (``-1`` or invalid rows become null)."""
    return take(pa.array(list(values), pa.string()), index, valid)


def numbered(prefix: str, numbers: Arr, width: int, valid: Arr | None = None) -> pa.Array:
    """Codes like ``INV00001234``: ``prefix`` then ``numbers`` zero-padded to ``width``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()), width, "0")
    text = pc.binary_join_element_wise(pa.scalar(prefix), digits, "")
    if valid is not None:
        text = pc.if_else(pa.array(valid), text, pa.scalar(None, pa.string()))
    return text


def join(*parts: pa.Array | str, sep: str = "") -> pa.Array:
    """Element-wise string concatenation of arrays and constant strings."""
    args = [pa.scalar(p) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*args, sep)


def money(cents: Arr, valid: Arr | None = None) -> pa.Array:
    """DECIMAL(18,4) from int64 cents, built straight from the 16-byte little-endian layout."""
    return decimal_units(cents.astype(np.int64) * UNITS_PER_CENT, valid)


def decimal_units(units: Arr, valid: Arr | None = None) -> pa.Array:
    """DECIMAL(18,4) from int64 counts of 1/10000."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    words = np.empty((len(units), 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63  # sign extension into the high word (two's complement)
    validity = None
    null_count = 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid.astype(np.uint8), bitorder="little").tobytes())
        null_count = int((~valid).sum())
    return pa.Array.from_buffers(
        DECIMAL, len(units), [validity, pa.py_buffer(words.tobytes())], null_count=null_count
    )


def integers(values: Arr, valid: Arr | None = None) -> pa.Array:
    """BIGINT values; invalid rows null."""
    return pa.array(values.astype(np.int64), pa.int64(), mask=_mask(valid))


def booleans(values: Arr, valid: Arr | None = None) -> pa.Array:
    """BOOLEAN values; invalid rows null."""
    return pa.array(values.astype(np.bool_), pa.bool_(), mask=_mask(valid))


def dates(days: Arr, valid: Arr | None = None) -> pa.Array:
    """DATE values from days since 1970-01-01."""
    return pa.array(days.astype(np.int32), pa.date32(), mask=_mask(valid))


def stamps(micros: Arr, valid: Arr | None = None) -> pa.Array:
    """UTC TIMESTAMP values from microseconds since the epoch."""
    return pa.array(micros.astype(np.int64), TIMESTAMP, mask=_mask(valid))


def null_text(n: int) -> pa.Array:
    """A text column of ``n`` nulls (fields this data leaves empty)."""
    return pa.nulls(n, pa.string())


def days_of(micros: Arr) -> Arr:
    """The UTC calendar day (days since the epoch) of each instant."""
    return micros // US_PER_DAY


def _mask(valid: Arr | None) -> Arr | None:
    return None if valid is None else ~valid.astype(np.bool_)
