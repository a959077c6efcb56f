"""Inputs of the overlay layers that come from data rather than the policy."""

from __future__ import annotations

from datetime import date

import polars as pl


def stress_for(macro: pl.DataFrame | None, as_of: date) -> float | None:
    """The portfolio's ``macro`` stress index for the month of ``as_of``.

    ``macro`` has ``month`` (YYYY-MM) and ``stress_index``. Returns ``None`` when there
    is no table or no row for that month (``decide`` then applies the policy's overlay
    as written); pass a number by hand to ``decide(stress_index=...)`` to override.
    """
    if macro is None or macro.height == 0:
        return None
    month = f"{as_of.year:04d}-{as_of.month:02d}"
    rows = macro.filter(pl.col("month").cast(pl.String) == month)
    if rows.height == 0:
        return None
    return float(rows.get_column("stress_index").max())  # type: ignore[arg-type]
