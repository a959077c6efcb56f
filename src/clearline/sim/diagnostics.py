"""Checks of a simulated portfolio computed from its frames alone (polars).

Used by the benchmark and the docs to report the 12-month-ahead default rate; it reads
only the contract tables, so it is also an independent check of the simulator's truth.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from clearline.core.portfolio import Portfolio


def instalments(portfolio: Portfolio) -> pl.DataFrame:
    """One row per instalment: account_id, loan_id, k, due (date), paid_on (date or null)."""
    ev = portfolio.events
    loans = ev.filter(pl.col("type") == "drawdown").select(
        "account_id",
        "loan_id",
        pl.col("ts").dt.date().alias("d"),
        "amount",
        pl.col("term_months").alias("n"),
        (pl.col("apr") / 12).alias("r"),
    )
    annuity = pl.col("amount") * pl.col("r") / (1 - (1 + pl.col("r")).pow(-pl.col("n")))
    loans = loans.with_columns(
        pl.when(pl.col("r") > 0)
        .then(annuity)
        .otherwise(pl.col("amount") / pl.col("n"))
        .round(2)
        .alias("inst"),
        pl.int_ranges(1, pl.col("n") + 1).alias("k"),
    ).explode("k")
    inst = loans.with_columns(
        pl.col("d").dt.offset_by(pl.format("{}mo", pl.col("k"))).alias("due"),
        (pl.col("k") * pl.col("inst") - 0.01 * pl.col("k") - 1e-6).alias("need"),
    ).sort("need")
    rep = (
        ev.filter(pl.col("type") == "repayment")
        .sort("loan_id", "ts")
        .with_columns(pl.col("amount").cum_sum().over("loan_id").alias("cum"))
        .select("loan_id", "cum", pl.col("ts").dt.date().alias("paid_on"))
        .sort("cum")
    )
    joined = inst.join_asof(
        rep,
        left_on="need",
        right_on="cum",
        by="loan_id",
        strategy="forward",
        check_sortedness=False,
    )
    return joined.select("account_id", "loan_id", "k", "due", "paid_on")


def reach90(portfolio: Portfolio, as_of: date) -> pl.DataFrame:
    """Per account, the first date an instalment reached 90 dpd by ``as_of`` (or null)."""
    inst = instalments(portfolio)
    day90 = pl.col("due") + pl.duration(days=90)
    bad = pl.col("paid_on").is_null() | ((pl.col("paid_on") - pl.col("due")).dt.total_days() >= 90)
    first = (
        inst.filter(bad & (day90 <= pl.lit(as_of)))
        .group_by("account_id")
        .agg(day90.min().alias("reach90"))
    )
    return portfolio.accounts.select("account_id", "opened_at").join(
        first, on="account_id", how="left"
    )


def default_rate_12m(portfolio: Portfolio, as_of: date) -> tuple[float, int]:
    """Share of accounts open at ``as_of - 12 months`` (not yet 90+ dpd) that reach 90 dpd
    in the following 12 months, and the size of that population."""
    obs = pl.lit(as_of).dt.offset_by("-12mo")
    r = reach90(portfolio, as_of).filter(
        (pl.col("opened_at").dt.date() <= obs)
        & (pl.col("reach90").is_null() | (pl.col("reach90") > obs))
    )
    n = r.height
    rate = r["reach90"].is_not_null().cast(pl.Float64).sum() / n if n else 0.0
    return float(rate), n
