"""JSON text exactly as polars' ``struct.json_encode`` writes it, for a handful of rows.

A review's full trace is a few rows; polars builds them as one query whose fixed cost
(about a millisecond) is most of a one-household decision. orjson writes the same rows
in about a microsecond each: like polars, it writes a float's shortest round-trip digits
(decimal for 1e-5 <= |x| < 1e16, else ``d.ddde+N`` / ``d.ddde-N``; Python's own
``json`` writes ``1e-07`` where polars writes ``1e-7``) and NaN and infinities as null.
A decision's trace must not depend on how many accounts were decided with it, so
``tests/test_json_text.py`` checks this text against polars itself.
"""

from __future__ import annotations

from typing import Any

import orjson
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


def dumps(value: Any) -> str:
    """``value`` (dicts, lists, str, int, float, bool, None) as compact JSON text."""
    return orjson.dumps(value).decode()
