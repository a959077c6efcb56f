"""Behavioural features from the event stream (cadence, transfers, inquiries, cities).

Helpers of ``clearline.core.features``. Every function takes events already cut at the
as-of cut-off ``C = as_of + 1 day 00:00 UTC`` and returns one row per account that has
any matching event (the caller fills the others). A window of ``W`` days is
``C - W days <= ts < C``: the as-of day and the ``W - 1`` days before it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

TRANSFER_WINDOW = timedelta(days=7)
_US_PER_HOUR = 3_600_000_000


def _cents_sum(column: str) -> pl.Expr:
    """Money summed in integer cents: the total does not depend on row order or batching."""
    return (pl.col(column) * 100).round(0).cast(pl.Int64).sum() / 100


def _since(cutoff: datetime, days: int) -> datetime:
    return cutoff - timedelta(days=days)


def cadence(ev: pl.LazyFrame, cutoff: datetime, as_of: date) -> pl.LazyFrame:
    """``drawdowns_90d, repayments_90d, days_since_drawdown, inquiries_30d,
    inquiries_90d`` per account."""
    t, ts = pl.col("type"), pl.col("ts")
    in90, in30 = ts >= _since(cutoff, 90), ts >= _since(cutoff, 30)
    return ev.group_by("account_id").agg(
        ((t == "drawdown") & in90).sum().cast(pl.Int64).alias("drawdowns_90d"),
        ((t == "repayment") & in90).sum().cast(pl.Int64).alias("repayments_90d"),
        (pl.lit(as_of, dtype=pl.Date) - ts.filter(t == "drawdown").max().dt.date())
        .dt.total_days()
        .cast(pl.Int64)
        .alias("days_since_drawdown"),
        ((t == "external_inquiry") & in30).sum().cast(pl.Int64).alias("inquiries_30d"),
        ((t == "external_inquiry") & in90).sum().cast(pl.Int64).alias("inquiries_90d"),
    )


def transfers_after_drawdowns(ev: pl.LazyFrame, cutoff: datetime) -> pl.LazyFrame:
    """``transfer_out_share_7d, hours_to_transfer_out`` per account.

    Drawdowns are those of the last 90 days. A transfer out counts toward the share when
    it happens in ``[t, t + 7 days)`` of such a drawdown at ``t`` -- once, even if it
    follows several drawdowns -- and the share divides by the drawdowns' total amount
    (it may exceed 1 when the borrower also moves own money). The hours are, per
    drawdown, to its first transfer out in that window; the feature is their median.
    """
    dd = (
        ev.filter((pl.col("type") == "drawdown") & (pl.col("ts") >= _since(cutoff, 90)))
        .select("account_id", pl.col("ts").alias("dd_ts"), pl.col("amount").alias("dd_amount"))
        .sort("dd_ts")
    )
    tr = (
        ev.filter(pl.col("type") == "transfer_out")
        .select("account_id", pl.col("ts").alias("tr_ts"), pl.col("amount").alias("tr_amount"))
        .sort("tr_ts")
    )
    window = pl.lit(TRANSFER_WINDOW)
    # The latest drawdown at or before a transfer is the nearest one, so "within 7 days
    # of some drawdown" reduces to one backward as-of match per transfer.
    moved = (
        tr.join_asof(
            dd.select("account_id", "dd_ts"),
            left_on="tr_ts",
            right_on="dd_ts",
            by="account_id",
            strategy="backward",
            check_sortedness=False,
        )
        .filter((pl.col("tr_ts") - pl.col("dd_ts")) < window)
        .group_by("account_id")
        .agg(_cents_sum("tr_amount").alias("_moved"))
    )
    drawn = dd.group_by("account_id").agg(_cents_sum("dd_amount").alias("_drawn"))
    first_out = (
        dd.join_asof(
            tr.select("account_id", "tr_ts"),
            left_on="dd_ts",
            right_on="tr_ts",
            by="account_id",
            strategy="forward",
            check_sortedness=False,
        )
        .filter((pl.col("tr_ts") - pl.col("dd_ts")) < window)
        .group_by("account_id")
        .agg(
            ((pl.col("tr_ts") - pl.col("dd_ts")).dt.total_microseconds() / _US_PER_HOUR)
            .median()
            .cast(pl.Float64)
            .alias("hours_to_transfer_out")
        )
    )
    return (
        drawn.join(moved, on="account_id", how="left")
        .join(first_out, on="account_id", how="left")
        .select(
            "account_id",
            pl.when(pl.col("_drawn") > 0)
            .then(pl.col("_moved").fill_null(0.0) / pl.col("_drawn"))
            .cast(pl.Float64)
            .alias("transfer_out_share_7d"),
            "hours_to_transfer_out",
        )
    )


def new_counterparties(ev: pl.LazyFrame, cutoff: datetime) -> pl.LazyFrame:
    """``new_counterparties_30d``: transfer-out counterparties of the account whose first
    transfer out (ever, before the cut-off) falls in the last 30 days."""
    cp = pl.col("counterparty")
    return (
        ev.filter((pl.col("type") == "transfer_out") & cp.is_not_null() & (cp != ""))
        .group_by("account_id", "counterparty")
        .agg(pl.col("ts").min().alias("_first"))
        .group_by("account_id")
        .agg(
            (pl.col("_first") >= _since(cutoff, 30))
            .sum()
            .cast(pl.Int64)
            .alias("new_counterparties_30d")
        )
    )


def city_changes(ev: pl.LazyFrame, cutoff: datetime) -> pl.LazyFrame:
    """``city_changes_180d``: events with a city, in time order per account; a change is
    an event whose city differs from the previous such event, counted when the later
    event is in the last 180 days (the earlier one may be older)."""
    city = pl.col("city")
    prev = city.shift(1).over("account_id")
    return (
        ev.filter(city.is_not_null() & (city != ""))
        # Time order is enough: a window function keeps each account's rows in frame order.
        .sort("ts", "event_id")
        .with_columns(_changed=prev.is_not_null() & (city != prev))
        .group_by("account_id")
        .agg(
            (pl.col("_changed") & (pl.col("ts") >= _since(cutoff, 180)))
            .sum()
            .cast(pl.Int64)
            .alias("city_changes_180d")
        )
    )
