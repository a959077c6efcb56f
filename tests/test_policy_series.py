"""The small-cost column helpers give exactly what the polars operations they replace
give, on short columns (their list path) and long ones (the polars path)."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearline.core.policy import series

WORDS = ["keep", "close", "freeze", "decrease", "", "Close"]
LENGTHS = st.sampled_from([0, 1, 3, series.SMALL, series.SMALL + 1, 500])


@settings(max_examples=60, deadline=None)
@given(n=LENGTHS, seed=st.integers(0, 2**31))
def test_known_true_and_false_equal_fill_null_on_booleans_with_nulls(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = [None if r < 0.2 else bool(r < 0.6) for r in rng.random(n)]
    s = pl.Series(values, dtype=pl.Boolean)
    assert np.array_equal(series.known_true(s), s.fill_null(False).to_numpy())
    assert np.array_equal(series.known_false(s), (~s).fill_null(False).to_numpy())


@settings(max_examples=60, deadline=None)
@given(n=LENGTHS, seed=st.integers(0, 2**31), k=st.integers(0, 4))
def test_is_in_equals_polars_is_in_with_nulls_as_false(n: int, seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    values = [None if r < 0.15 else WORDS[int(r * 100) % len(WORDS)] for r in rng.random(n)]
    s = pl.Series(values, dtype=pl.String)
    wanted = WORDS[:k]
    got = series.is_in(s, wanted)
    assert got.dtype == bool
    assert np.array_equal(got, s.is_in(wanted).fill_null(False).to_numpy())


@settings(max_examples=60, deadline=None)
@given(n=LENGTHS, seed=st.integers(0, 2**31))
def test_take_equals_a_gather_from_the_value_table(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    table = ["increase", "keep", None, "close"]
    ids = rng.integers(0, len(table), n).astype(np.int8)
    got = series.take(table, ids, pl.String, "action")
    want = pl.Series("action", table, dtype=pl.String).gather(ids.astype(np.int64))
    assert got.name == "action" and got.dtype == pl.String
    assert got.equals(want)
