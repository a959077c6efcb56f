"""Column operations with a small fixed cost.

A review decides one household: a few rows, through the same code as a million. Polars
runs many Series methods (``fill_null``, ``is_in``, ``gather``, ``hash``) as a one-column
query, which costs 30-300 us whatever the length; a review pays that dozens of times.
These helpers give the same results through direct conversions (numpy, Arrow) or, for a
handful of rows, a Python list, and keep the polars operation where a column is long.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import polars as pl

#: Up to this many rows a gather or a membership test is a Python list comprehension.
SMALL = 64


def known_true(s: pl.Series) -> np.ndarray:
    """``s.fill_null(False).to_numpy()`` for a Boolean column (True where s is True)."""
    if s.null_count() == 0:
        return s.to_numpy()
    return s.cast(pl.Int8).to_numpy() == 1  # nulls come out as NaN: never equal to 1


def known_false(s: pl.Series) -> np.ndarray:
    """``(~s).fill_null(False).to_numpy()`` for a Boolean column (True where s is False)."""
    if s.null_count() == 0:
        return ~s.to_numpy()
    return s.cast(pl.Int8).to_numpy() == 0


def is_in(s: pl.Series, values: Iterable[str]) -> np.ndarray:
    """``s.is_in(values).fill_null(False).to_numpy()`` for a String column."""
    wanted = list(values)
    if len(s) <= SMALL:
        members = set(wanted)
        return np.array([v in members for v in s.to_list()], dtype=bool)
    return s.is_in(wanted).fill_null(False).to_numpy()


def group_codes(s: pl.Series) -> tuple[np.ndarray, bool]:
    """One uint64 per row, equal where the values are equal, and whether they are exact:
    for a long column their 64-bit hashes (which may collide; callers check equality
    where it matters), for a short one the index of each value's first appearance
    (exact)."""
    if len(s) <= SMALL:
        first: dict[Any, int] = {}
        codes = [first.setdefault(v, len(first)) for v in s.to_list()]
        return np.array(codes, dtype=np.uint64), True
    return s.hash().to_numpy(), False


def take(
    values: Sequence[Any], ids: np.ndarray, dtype: pl.DataType | type[pl.DataType], name: str = ""
) -> pl.Series:
    """``pl.Series(name, values, dtype).gather(ids)``: row ``i`` gets ``values[ids[i]]``."""
    if len(ids) <= SMALL:
        return pl.Series(name, [values[i] for i in ids.tolist()], dtype=dtype)
    return pl.Series(name, values, dtype=dtype).gather(ids)
