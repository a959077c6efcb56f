"""Portfolio + as-of date -> one feature row per account.

The columns and their meanings are the Features table of docs/architecture.md (an
interface: policy rules and the scorecard are written against these names). Everything
is computed from what was recorded before the cut-off ``as_of + 1 day 00:00 UTC``; the
events are filtered once, up front, so no later value can leak into any column.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from clearline.core import features_behaviour as fb
from clearline.core.ledger import (
    as_of_cutoff,
    check_as_of,
    delinquency,
    instalments,
    loan_balances,
    loans,
)
from clearline.core.portfolio import Portfolio

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_SCHEMA",
    "build_features",
    "linked_arrears",
    "with_line_state",
]

# Output schema in order: the architecture's Features table.
FEATURE_SCHEMA: dict[str, pl.DataType] = {
    "account_id": pl.String(),
    "borrower_id": pl.String(),
    "household_id": pl.String(),
    "product": pl.String(),
    "status": pl.String(),
    "credit_limit": pl.Float64(),
    "account_age_days": pl.Int64(),
    "dpd_now": pl.Int64(),
    "dpd_worst": pl.Int64(),
    "instalments_due": pl.Int64(),
    "on_time_ratio": pl.Float64(),
    "good_standing": pl.Boolean(),
    "outstanding": pl.Float64(),
    "utilisation": pl.Float64(),
    "monthly_income": pl.Float64(),
    "income_verified": pl.Boolean(),
    "employment": pl.String(),
    "age": pl.Int64(),
    "instalment_burden": pl.Float64(),
    "debt_to_income": pl.Float64(),
    "drawdowns_90d": pl.Int64(),
    "repayments_90d": pl.Int64(),
    "days_since_drawdown": pl.Int64(),
    "transfer_out_share_7d": pl.Float64(),
    "hours_to_transfer_out": pl.Float64(),
    "new_counterparties_30d": pl.Int64(),
    "inquiries_30d": pl.Int64(),
    "inquiries_90d": pl.Int64(),
    "city_changes_180d": pl.Int64(),
    "linked_arrears_share": pl.Float64(),
    "n_links": pl.Int64(),
}
FEATURE_COLUMNS: tuple[str, ...] = tuple(FEATURE_SCHEMA)

# Counts and amounts that are 0 (not null) for an account with no matching events.
_ZERO_FILL = (
    "dpd_now",
    "dpd_worst",
    "instalments_due",
    "drawdowns_90d",
    "repayments_90d",
    "new_counterparties_30d",
    "inquiries_30d",
    "inquiries_90d",
    "city_changes_180d",
    "n_links",
    "outstanding",
    "instalment_burden",
)


def build_features(portfolio: Portfolio, as_of: date) -> pl.DataFrame:
    """One feature row per account as of the end of day ``as_of`` (UTC).

    Parameters
    ----------
    portfolio
        A validated ``Portfolio``.
    as_of
        The calendar day; events with ``ts < as_of + 1 day 00:00 UTC`` are seen.

    Returns
    -------
    pl.DataFrame
        Exactly ``FEATURE_COLUMNS`` with ``FEATURE_SCHEMA`` types, sorted by
        ``account_id``. One row per account opened before the cut-off, whatever its
        status; accounts opened after ``as_of`` did not exist yet and have no row.
        ``status`` and ``credit_limit`` are the accounts table's (a snapshot, not
        history). Counts are 0 when nothing matches; ratios are null when their
        denominator is 0 or absent (see the architecture table).

    Raises
    ------
    TypeError
        If ``as_of`` is not a ``datetime.date`` (a ``datetime`` is refused too).
    """
    as_of = check_as_of(as_of)
    cutoff = as_of_cutoff(as_of)
    d = pl.lit(as_of, dtype=pl.Date)

    # The only place the event stream is read: cut once, no look-ahead downstream.
    events = portfolio.events.filter(pl.col("ts") < cutoff)
    ev = events.lazy()
    accounts = portfolio.accounts.filter(pl.col("opened_at") < cutoff)

    ln = loans(events, cutoff)
    inst = instalments(events, cutoff, loans_frame=ln)
    arrears = delinquency(inst, as_of)
    balances = (
        loan_balances(ln, inst)
        .group_by("account_id")
        .agg(
            # Sums in integer cents: the same total whatever the row order or batching.
            ((pl.col("outstanding") * 100).round(0).cast(pl.Int64).sum() / 100).alias(
                "outstanding"
            ),
            (
                (pl.col("instalment") * 100).round(0).cast(pl.Int64).filter(pl.col("open")).sum()
                / 100
            ).alias("instalment_burden"),
        )
    )
    links = linked_arrears(portfolio.links, accounts, arrears)

    borrowers = portfolio.borrowers.lazy().select(
        "borrower_id",
        pl.when(pl.col("household_id").is_null() | (pl.col("household_id").str.strip_chars() == ""))
        .then(pl.col("borrower_id"))
        .otherwise(pl.col("household_id"))
        .alias("household_id"),
        pl.col("declared_monthly_income").alias("monthly_income"),
        "income_verified",
        "employment",
        (pl.lit(as_of.year, dtype=pl.Int64) - pl.col("birth_year")).alias("age"),
    )

    frame = (
        accounts.lazy()
        .select(
            "account_id",
            "borrower_id",
            "product",
            "status",
            "credit_limit",
            (d - pl.col("opened_at").dt.date()).dt.total_days().alias("account_age_days"),
        )
        .join(borrowers, on="borrower_id", how="left")
        .join(arrears.lazy(), on="account_id", how="left")
        .join(balances.lazy(), on="account_id", how="left")
        .join(fb.cadence(ev, cutoff, as_of), on="account_id", how="left")
        .join(fb.transfers_after_drawdowns(ev, cutoff), on="account_id", how="left")
        .join(fb.new_counterparties(ev, cutoff), on="account_id", how="left")
        .join(fb.city_changes(ev, cutoff), on="account_id", how="left")
        .join(links.lazy(), on="borrower_id", how="left")
        .with_columns(
            *(pl.col(c).fill_null(0) for c in _ZERO_FILL),
            # An account with no instalment due has never been late.
            pl.col("good_standing").fill_null(True),
        )
        .with_columns(
            utilisation=_utilisation(),
            debt_to_income=pl.when(pl.col("monthly_income") > 0).then(
                pl.col("instalment_burden") / pl.col("monthly_income")
            ),
        )
        .select(pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items())
        .sort("account_id")
    )
    return frame.collect()


def _utilisation() -> pl.Expr:
    return pl.when(pl.col("credit_limit") > 0).then(pl.col("outstanding") / pl.col("credit_limit"))


def with_line_state(features: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """``features`` with each account's current line (``lines``: ``account_id,
    credit_limit, status``) and the utilisation it implies.

    The line is the only input of a feature row that a decision changes; everything
    else comes from events and borrower records. So rows built before a line changed
    are made current without reading any event again.
    """
    ids = features.get_column("account_id")
    if lines.get_column("account_id").equals(ids):
        line = lines  # the usual case, the same accounts in the same order: no join
    else:
        line = ids.to_frame().join(
            lines.select("account_id", "credit_limit", "status"),
            on="account_id",
            how="left",
            maintain_order="left",
        )
    # Series operations, not a query: a review makes one household's rows current and
    # would pay a query's fixed cost several times over. Same as ``_utilisation()``: the
    # ratio where the limit is above 0, else null (a null mask picks the null).
    limit = line.get_column("credit_limit").cast(pl.Float64)
    ratio = features.get_column("outstanding").cast(pl.Float64) / limit
    none = (
        pl.Series([None], dtype=pl.Float64).new_from_index(0, len(ratio)) if len(ratio) else ratio
    )
    utilisation = ratio.zip_with(limit > 0, none)
    current = {
        "credit_limit": limit,
        "status": line.get_column("status"),
        "utilisation": utilisation,
    }
    columns = []
    for name, dtype in FEATURE_SCHEMA.items():
        col = current[name] if name in current else features.get_column(name)
        columns.append((col if col.dtype == dtype else col.cast(dtype)).alias(name))
    return pl.DataFrame(columns)


def linked_arrears(
    links: pl.DataFrame, accounts: pl.DataFrame, arrears: pl.DataFrame
) -> pl.DataFrame:
    """``n_links, linked_arrears_share`` per borrower.

    Links are undirected and de-duplicated across kinds (two borrowers linked by device
    and by address count once); a self-link is ignored. A linked borrower is in arrears
    when any of its accounts has ``dpd_now > 0``; one without accounts is not.

    Returns
    -------
    pl.DataFrame
        ``borrower_id, n_links (Int64), linked_arrears_share (Float64)`` for borrowers
        with at least one link.
    """
    pairs = (
        pl.concat(
            [
                links.lazy().select("borrower_id", pl.col("other_borrower_id").alias("other")),
                links.lazy().select(
                    pl.col("other_borrower_id").alias("borrower_id"),
                    pl.col("borrower_id").alias("other"),
                ),
            ]
        )
        .filter(pl.col("borrower_id") != pl.col("other"))
        .unique()
    )
    in_arrears = (
        accounts.lazy()
        .select("account_id", "borrower_id")
        .join(arrears.lazy().select("account_id", "dpd_now"), on="account_id", how="inner")
        .group_by("borrower_id")
        .agg((pl.col("dpd_now") > 0).any().alias("_late"))
        .rename({"borrower_id": "other"})
    )
    return (
        pairs.join(in_arrears, on="other", how="left")
        .group_by("borrower_id")
        .agg(
            pl.len().cast(pl.Int64).alias("n_links"),
            (pl.col("_late").fill_null(False).sum() / pl.len())
            .cast(pl.Float64)
            .alias("linked_arrears_share"),
        )
        .collect()
    )
