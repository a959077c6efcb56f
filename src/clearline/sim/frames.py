"""Numpy arrays -> the contract's typed polars frames (ids, strings, timestamps)."""

from __future__ import annotations

import numpy as np
import polars as pl

from clearline.core.portfolio import polars_schema
from clearline.core.schema import EVENT_TYPES
from clearline.sim.buffer import CP_PREFIX
from clearline.sim.clock import Clock
from clearline.sim.population import CITIES, EMPLOYMENT, LINK_KINDS, PRODUCTS, Population

UTC = pl.Datetime("us", "UTC")


def ident(prefix: str, number: pl.Expr, width: int) -> pl.Expr:
    """``prefix`` + zero-padded 1-based number, e.g. B000001 (wider past 10**width)."""
    return pl.lit(prefix) + (number + 1).cast(pl.String).str.zfill(width)


def _ts(clock: Clock, sec: np.ndarray) -> pl.Series:
    base = int(clock.start.astype("datetime64[us]").astype(np.int64))
    return pl.Series(base + np.asarray(sec, np.int64) * 1_000_000).cast(pl.Datetime("us"))


def _lookup(values: np.ndarray, codes: np.ndarray) -> pl.Series:
    """String lookup of integer codes; negative codes become null."""
    codes = np.asarray(codes)
    s = pl.Series(values.tolist(), dtype=pl.String).gather(np.maximum(codes, 0))
    return s.scatter(np.flatnonzero(codes < 0), None) if (codes < 0).any() else s


def _typed(df: pl.DataFrame, table: str) -> pl.DataFrame:
    schema = polars_schema(table)
    return df.select([pl.col(c).cast(t) for c, t in schema.items()])


def borrowers_frame(pop: Population, clock: Clock) -> pl.DataFrame:
    n = pop.z.size
    df = pl.DataFrame(
        {
            "i": np.arange(n),
            "hh": pop.household,
            "birth_year": pop.birth_year,
            "city": _lookup(CITIES, pop.city),
            "declared_monthly_income": pop.income,
            "income_verified": pop.verified,
            "employment": _lookup(EMPLOYMENT, pop.employment),
            "registered_at": _ts(clock, pop.registered_sec).dt.replace_time_zone("UTC"),
        }
    )
    df = df.with_columns(
        ident("B", pl.col("i"), 6).alias("borrower_id"),
        pl.when(pl.col("hh") >= 0).then(ident("H", pl.col("hh"), 6)).alias("household_id"),
    )
    return _typed(df, "borrowers")


def accounts_frame(pop: Population, clock: Clock, status: np.ndarray) -> pl.DataFrame:
    df = pl.DataFrame(
        {
            "i": np.arange(pop.acc_borrower.size),
            "b": pop.acc_borrower,
            "product": _lookup(PRODUCTS, pop.acc_product),
            "opened_at": _ts(clock, pop.acc_open_sec).dt.replace_time_zone("UTC"),
            "credit_limit": pop.acc_limit.astype(float),
            "status": pl.Series(status.tolist(), dtype=pl.String),
        }
    )
    df = df.with_columns(
        ident("A", pl.col("i"), 6).alias("account_id"),
        ident("B", pl.col("b"), 6).alias("borrower_id"),
    )
    return _typed(df, "accounts")


def events_frame(ev: dict[str, np.ndarray], clock: Clock) -> pl.DataFrame:
    """Events inside the window, in time order, with sequential ids (E00000001 first)."""
    df = pl.DataFrame(
        {
            "acc": ev["acc"],
            "sec": ev["sec"],
            "etype": ev["etype"],
            "cents": ev["cents"],
            "loan": ev["loan"],
            "term": ev["term"],
            "apr": ev["apr"],
            "kind": ev["cp_kind"],
            "cp": ev["cp_num"],
            "city": ev["city"],
        }
    )
    # Sorting and filtering in polars (multi-threaded) is much faster than numpy here.
    df = df.filter((pl.col("sec") >= 0) & (pl.col("sec") < clock.end_sec))
    df = df.sort("sec", "acc", "etype").with_row_index("i")
    base = int(clock.start.astype("datetime64[us]").astype(np.int64))
    prefix = pl.col("kind").replace_strict(CP_PREFIX, default=None, return_dtype=pl.String)
    df = df.select(
        ident("E", pl.col("i").cast(pl.Int64), 8).alias("event_id"),
        ident("A", pl.col("acc"), 6).alias("account_id"),
        (pl.col("sec") * 1_000_000 + base).cast(pl.Datetime("us", "UTC")).alias("ts"),
        pl.col("etype")
        .replace_strict(dict(enumerate(EVENT_TYPES)), return_dtype=pl.String)
        .alias("type"),
        (pl.col("cents") / 100.0).alias("amount"),
        pl.when(pl.col("loan") >= 0).then(ident("L", pl.col("loan"), 7)).alias("loan_id"),
        pl.when(pl.col("term") > 0).then(pl.col("term")).alias("term_months"),
        pl.col("apr").fill_nan(None),
        (prefix + pl.col("cp").cast(pl.String).str.zfill(6)).alias("counterparty"),
        pl.when(pl.col("city") >= 0)
        .then(
            pl.col("city").replace_strict(
                dict(enumerate(CITIES.tolist())), default=None, return_dtype=pl.String
            )
        )
        .alias("city"),
    )
    return _typed(df, "events")


def links_frame(pop: Population) -> pl.DataFrame:
    ln = pop.links
    df = pl.DataFrame({"a": ln[:, 0], "b": ln[:, 1], "kind": _lookup(LINK_KINDS, ln[:, 2])})
    df = df.with_columns(
        ident("B", pl.col("a"), 6).alias("borrower_id"),
        ident("B", pl.col("b"), 6).alias("other_borrower_id"),
    )
    return _typed(df, "links")


def macro_frame(clock: Clock, stress: np.ndarray) -> pl.DataFrame:
    df = pl.DataFrame({"month": clock.month_labels(), "stress_index": stress.astype(float)})
    return _typed(df, "macro")
