"""An in-memory, validated portfolio: one polars frame per contract table."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass(frozen=True)
class Portfolio:
    """Typed tables after validation.

    Types: strings are ``pl.String``; ints ``pl.Int64``; decimals ``pl.Float64``;
    bools ``pl.Boolean``; timestamps ``pl.Datetime("us", "UTC")``; month ``pl.String``
    (``YYYY-MM``). Optional columns that a file lacked are added as nulls, and unknown
    extra columns are dropped here (the loader keeps them out of the engine). ``links``
    and ``macro`` are empty frames with the right schema when absent.
    """

    borrowers: pl.DataFrame
    accounts: pl.DataFrame
    events: pl.DataFrame
    links: pl.DataFrame
    macro: pl.DataFrame
    source: str = field(default="")

    def counts(self) -> dict[str, int]:
        return {
            "borrowers": self.borrowers.height,
            "accounts": self.accounts.height,
            "events": self.events.height,
        }


from clearline.core.schema import TABLES_BY_NAME, Kind, Table  # noqa: E402

UTC_TS = pl.Datetime("us", "UTC")

POLARS_TYPES: dict[Kind, pl.DataType] = {
    Kind.STRING: pl.String(),
    Kind.INT: pl.Int64(),
    Kind.DECIMAL: pl.Float64(),
    Kind.BOOL: pl.Boolean(),
    Kind.TIMESTAMP: UTC_TS,
    Kind.ENUM: pl.String(),
    Kind.MONTH: pl.String(),
}


def polars_schema(table: Table | str) -> dict[str, pl.DataType]:
    """The polars schema a validated table has."""
    t = TABLES_BY_NAME[table] if isinstance(table, str) else table
    return {c.name: POLARS_TYPES[c.kind] for c in t.columns}


def empty_table(table: Table | str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table))


_NAMES = ("borrowers", "accounts", "events", "links", "macro")


def portfolio_of(source: str = "", **tables: pl.DataFrame) -> Portfolio:
    """A portfolio of just these tables' rows, made in code (a day's events, say):
    absent tables are empty, absent columns null, every column of its contract type.

    Raises
    ------
    TypeError
        If a name is not one of the contract's tables.
    """
    unknown = sorted(set(tables) - set(_NAMES))
    if unknown:
        raise TypeError(f"not a portfolio table: {', '.join(unknown)}")

    def typed(name: str) -> pl.DataFrame:
        frame, schema = tables.get(name), polars_schema(name)
        if frame is None:
            return empty_table(name)
        return frame.select(
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in schema.items()
        )

    return Portfolio(**{n: typed(n) for n in _NAMES}, source=source)
