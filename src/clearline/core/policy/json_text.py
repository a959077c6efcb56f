"""JSON text exactly as polars' ``struct.json_encode`` writes it, for a handful of rows.

A review's full trace is a few rows; polars builds them as one query whose fixed cost
(about a millisecond) is most of a one-household decision. Python writes the same rows
in microseconds, but its float text differs from polars' (``1e-07`` against ``1e-7``,
``2.5e-05`` against ``0.000025``), and a decision's trace must not depend on how many
accounts were decided with it. :func:`number` therefore lays out Python's shortest
round-trip digits the way polars does (decimal for 1e-5 <= |x| < 1e16, else ``d.ddde+N``
/ ``d.ddde-N``; NaN and infinities as null); ``tests/test_json_text.py`` checks both
against polars itself.
"""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl

#: Column types whose Python values :func:`dumps` writes as polars does.
PLAIN_TYPES = (
    pl.Float64,
    pl.Int8,
    pl.Int16,
    pl.Int32,
    pl.Int64,
    pl.UInt8,
    pl.UInt16,
    pl.UInt32,
    pl.UInt64,
    pl.Boolean,
    pl.String,
)

_string = json.JSONEncoder(ensure_ascii=False).encode


def number(x: float) -> str:
    """A float as polars writes it in JSON."""
    if not math.isfinite(x):
        return "null"
    text = repr(x)
    if "e" not in text:
        return text  # Python and polars agree on 1e-4 <= |x| < 1e16
    mantissa, exp = text.split("e")
    e = int(exp)
    if e == -5:  # 1e-5 <= |x| < 1e-4: Python writes an exponent, polars decimals
        sign = "-" if mantissa.startswith("-") else ""
        digits = mantissa.lstrip("-").replace(".", "")
        return f"{sign}0.{'0' * (-e - 1)}{digits}"
    return f"{mantissa}e{'+' if e > 0 else '-'}{abs(e)}"


def dumps(value: Any) -> str:
    """``value`` (dicts, lists, str, int, float, bool, None) as compact JSON text."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    raise TypeError(f"no JSON text for {type(value).__name__}")
