"""The trace's JSON text written in Python equals polars' ``struct.json_encode``."""

from __future__ import annotations

import math

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearline.core.policy import json_text

EDGES = [
    0.0,
    -0.0,
    1.0,
    15000.0,
    1e-7,
    2.5e-5,
    1e-5,
    9.99e-5,
    1e-4,
    0.001234,
    1e15,
    9999999999999998.0,
    1e16,
    1.5e16,
    1e21,
    1.7976931348623157e308,
    5e-324,
    -3.25e-9,
    0.1 + 0.2,
    math.nan,
    math.inf,
    -math.inf,
]


def polars_text(column: pl.Series) -> list[str]:
    frame = pl.DataFrame([column])
    return frame.select(pl.struct(column.name).struct.json_encode()).to_series().to_list()


def python_text(column: pl.Series) -> list[str]:
    return [json_text.dumps({column.name: v}) for v in column.to_list()]


def test_edge_floats_match_polars() -> None:
    column = pl.Series("x", EDGES, dtype=pl.Float64)
    assert python_text(column) == polars_text(column)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=20))
def test_any_float_matches_polars(values: list[float]) -> None:
    column = pl.Series("x", values, dtype=pl.Float64)
    assert python_text(column) == polars_text(column)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=10))
def test_any_string_matches_polars(values: list[str | None]) -> None:
    column = pl.Series("s", values, dtype=pl.String)
    assert python_text(column) == polars_text(column)


def test_ints_bools_nulls_and_nesting_match_polars() -> None:
    frame = pl.DataFrame(
        {
            "i": pl.Series([3, None, -7], dtype=pl.Int32),
            "u": pl.Series([0, 255, None], dtype=pl.UInt8),
            "b": [True, None, False],
            "f": [1.5, None, 2e-5],
        }
    )
    nested = frame.select(pl.struct(pl.all(), inner=pl.struct("i", "f")).struct.json_encode())
    rows = [{**r, "inner": {"i": r["i"], "f": r["f"]}} for r in frame.to_dicts()]
    assert [json_text.dumps(r) for r in rows] == nested.to_series().to_list()


def test_the_widest_integers_match_polars() -> None:
    column = pl.Series("i", [-(2**63), 2**63 - 1], dtype=pl.Int64)
    assert python_text(column) == polars_text(column)
    column = pl.Series("u", [2**64 - 1], dtype=pl.UInt64)
    assert python_text(column) == polars_text(column)
