"""Instalment schedules, repayment allocation and days past due.

Everything follows the time conventions of docs/architecture.md:

- a drawdown of ``amount`` over ``n = term_months`` at ``apr`` is repaid in ``n`` equal
  instalments (annuity at the monthly rate ``apr / 12``, ``amount / n`` when the rate is
  0), rounded to cents; instalment ``k`` is due on ``date(ts) + k months`` (clipped to
  the month end);
- repayments of a loan settle its instalments oldest first: instalment ``k`` is paid on
  the date of the first repayment at which the loan's cumulative repaid amount reaches
  ``k * instalment - 0.01 * k``; only repayments with ``ts < cutoff`` count;
- at a date ``D`` an unpaid instalment with ``due < D`` is ``D - due`` days past due; a
  late instalment paid on ``p`` reached ``p - due`` days past due (the day of payment
  counts, as in the default label's ``paid_on - due``).

Money is handled in integer cents inside this module so that cumulative sums and the
cent tolerance are exact; amounts handed back are ``Float64`` in major units.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

__all__ = [
    "as_of_cutoff",
    "check_as_of",
    "delinquency",
    "instalments",
    "loan_balances",
    "loans",
]

_CENTS = 100


def check_as_of(as_of: object) -> date:
    """Return ``as_of`` if it is a plain ``date``; raise ``TypeError`` otherwise.

    A ``datetime`` is refused on purpose: an as-of is a calendar day (its cut-off is the
    next midnight UTC) and silently truncating a timestamp would hide a caller's mistake.
    """
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise TypeError(
            f"as_of must be a datetime.date (a calendar day), got {type(as_of).__name__}: {as_of!r}"
        )
    return as_of


def as_of_cutoff(as_of: date) -> datetime:
    """The first instant not seen as of ``as_of``: ``as_of + 1 day`` at 00:00 UTC."""
    d = check_as_of(as_of) + timedelta(days=1)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _utc(cutoff: datetime) -> datetime:
    if not isinstance(cutoff, datetime):
        raise TypeError(f"cutoff must be a datetime, got {type(cutoff).__name__}")
    # A naive cut-off is read as UTC, like a timestamp without an offset in the contract.
    return cutoff.replace(tzinfo=UTC) if cutoff.tzinfo is None else cutoff.astimezone(UTC)


def _add_months(d: pl.Expr, k: pl.Expr) -> pl.Expr:
    """``d + k months`` clipped to the month end (same as ``offset_by("{k}mo")``).

    Done with integer arithmetic because formatting one offset string per instalment is
    much slower on millions of rows.
    """
    m = d.dt.year().cast(pl.Int64) * 12 + d.dt.month().cast(pl.Int64) - 1 + k
    y, mo = m // 12, m % 12 + 1
    month_days = pl.date(y, mo, 1).dt.month_end().dt.day()
    return pl.date(y, mo, pl.min_horizontal(d.dt.day(), month_days))


def _tie_break(events: pl.DataFrame) -> list[str]:
    # Same-timestamp events are ordered by event_id so results never depend on row order.
    return ["ts", "event_id"] if "event_id" in events.columns else ["ts"]


def loans(events: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """One row per loan drawn before ``cutoff``, with what was repaid before it.

    Parameters
    ----------
    events
        Typed events frame (see ``Portfolio``); at least ``account_id, ts, type, amount,
        loan_id, term_months, apr``.
    cutoff
        Exclusive cut-off instant (UTC; a naive datetime is read as UTC).

    Returns
    -------
    pl.DataFrame
        ``loan_idx (UInt32, position in account_id, loan_id order), account_id, loan_id,
        drawn_at (Datetime UTC), principal, n (Int64), apr, instalment (Float64, cents),
        repaid (Float64)``, sorted by ``account_id, loan_id``. A loan_id drawn twice keeps its
        first drawdown; drawdowns with a missing loan_id/term/apr, a term below 1 or a
        zero amount are not loans. ``repaid`` counts repayments with ``ts < cutoff`` of
        the loan_id, whatever account they were booked on.
    """
    cutoff = _utc(cutoff)
    order = _tie_break(events)
    dd = (
        events.lazy()
        .filter(
            (pl.col("type") == "drawdown")
            & (pl.col("ts") < cutoff)
            & pl.col("loan_id").is_not_null()
            & pl.col("term_months").is_not_null()
            & (pl.col("term_months") >= 1)
            & pl.col("apr").is_not_null()
            & (pl.col("amount") > 0)
        )
        .sort(order)
        .unique("loan_id", keep="first", maintain_order=True)
        # A stable integer key: later sorts and joins on it are much cheaper than on
        # the strings, and the schedule comes out ordered by account and loan.
        .sort("account_id", "loan_id")
        .with_row_index("loan_idx")
        .select(
            "loan_idx",
            "account_id",
            "loan_id",
            pl.col("ts").alias("drawn_at"),
            pl.col("amount").alias("principal"),
            pl.col("term_months").cast(pl.Int64).alias("n"),
            pl.col("apr").cast(pl.Float64),
        )
    )
    r = pl.col("apr") / 12
    annuity = pl.col("principal") * r / (1 - (1 + r).pow(-pl.col("n")))
    payment = pl.when(r > 0).then(annuity).otherwise(pl.col("principal") / pl.col("n"))
    dd = dd.with_columns(
        instalment=payment.round(2, mode="half_away_from_zero"),
    )
    repaid = (
        _repayments(events, cutoff)
        .group_by("loan_id")
        .agg((pl.col("cents").sum() / _CENTS).alias("repaid"))
    )
    return (
        dd.join(repaid, on="loan_id", how="left", maintain_order="left")
        .with_columns(pl.col("repaid").fill_null(0.0))
        .collect()
    )


def _repayments(events: pl.DataFrame, cutoff: datetime) -> pl.LazyFrame:
    """Positive repayments before ``cutoff`` in integer cents, in settlement order."""
    return (
        events.lazy()
        .filter(
            (pl.col("type") == "repayment")
            & (pl.col("ts") < cutoff)
            & pl.col("loan_id").is_not_null()
            & (pl.col("amount") > 0)  # a zero repayment can never settle anything
        )
        # Same-timestamp repayments share a paid_on date, so their order cannot matter.
        .sort("ts")
        .select(
            "loan_id",
            "ts",
            (pl.col("amount") * _CENTS).round(0).cast(pl.Int64).alias("cents"),
        )
    )


def instalments(
    events: pl.DataFrame, cutoff: datetime, *, loans_frame: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per instalment of every loan drawn before ``cutoff``.

    Parameters
    ----------
    events
        Typed events frame (see ``loans``).
    cutoff
        Exclusive cut-off instant; only drawdowns and repayments with ``ts < cutoff``
        count. Repayments of a loan_id without a drawdown are ignored.
    loans_frame
        ``loans(events, cutoff)`` when the caller already has it (saves recomputing).

    Returns
    -------
    pl.DataFrame
        ``account_id, loan_id, k (Int64, 1..n), due (Date), amount (Float64, the
        cents-rounded annuity), paid_on (Date or null)``, then ``n`` (Int64), sorted by
        ``account_id, loan_id, k``.
    """
    cutoff = _utc(cutoff)
    ln = loans(events, cutoff) if loans_frame is None else loans_frame
    sched = (
        ln.lazy()
        .select(
            "loan_idx",
            "account_id",
            "loan_id",
            "n",
            pl.col("drawn_at").dt.date().alias("drawn_on"),
            pl.col("instalment").alias("amount"),
            pl.int_ranges(1, pl.col("n") + 1, dtype=pl.Int64).alias("k"),
        )
        .explode("k")
        .with_columns(
            due=_add_months(pl.col("drawn_on"), pl.col("k")),
            # Cumulative amount (cents) that settles instalment k, with the cent tolerance.
            need=pl.col("k") * (pl.col("amount") * _CENTS).round(0).cast(pl.Int64) - pl.col("k"),
        )
        .sort("need")
    )
    paid = (
        _repayments(events, cutoff)
        # Keep the time order of the repayments: the running sum below depends on it.
        .join(
            ln.lazy().select("loan_id", "loan_idx"),
            on="loan_id",
            how="inner",
            maintain_order="left",
        )
        .with_columns(cum=pl.col("cents").cum_sum().over("loan_idx"))
        .select("loan_idx", "cum", pl.col("ts").dt.date().alias("paid_on"))
        .sort("cum")
    )
    # Cumulative repaid is strictly increasing per loan (only positive repayments), so
    # the forward as-of match is the first repayment at which the loan reaches `need`.
    # Both sides are sorted on the as-of key globally, hence within every loan.
    out = sched.join_asof(
        paid,
        left_on="need",
        right_on="cum",
        by="loan_idx",
        strategy="forward",
        check_sortedness=False,
    )
    return (
        out.sort("loan_idx", "k")
        .select("account_id", "loan_id", "k", "due", "amount", "paid_on", "n")
        .collect()
    )


def loan_balances(loans_frame: pl.DataFrame, inst: pl.DataFrame) -> pl.DataFrame:
    """Per-loan principal outstanding and whether instalments remain to be paid.

    ``outstanding = max(0, principal - repaid * principal / (n * instalment))``: a
    repayment retires principal in proportion to the scheduled total it covers, so a
    loan repaid on schedule reaches zero with its last instalment.

    Returns
    -------
    pl.DataFrame
        ``account_id, loan_id, outstanding, instalment, open`` where ``open`` is true
        while at least one instalment of the loan is unpaid.
    """
    open_loans = inst.group_by("loan_id").agg(pl.col("paid_on").null_count().gt(0).alias("open"))
    total = pl.col("n") * pl.col("instalment")
    retired = pl.col("repaid") * pl.col("principal") / total
    return loans_frame.join(open_loans, on="loan_id", how="left", maintain_order="left").select(
        "account_id",
        "loan_id",
        pl.when(total > 0)
        .then(pl.max_horizontal(0.0, pl.col("principal") - retired))
        .otherwise(0.0)
        .alias("outstanding"),
        "instalment",
        pl.col("open").fill_null(False),
    )


def delinquency(inst: pl.DataFrame, at: date) -> pl.DataFrame:
    """Per-account arrears measures at date ``at`` from an instalment frame.

    ``inst`` must come from ``instalments(events, as_of_cutoff(at))`` (or an earlier
    cut-off) so that ``paid_on <= at`` always holds.

    Returns
    -------
    pl.DataFrame
        One row per account having instalments: ``account_id, dpd_now, dpd_worst,
        instalments_due`` (Int64), ``on_time_ratio`` (Float64, null when none due),
        ``good_standing`` (Boolean).
    """
    at = check_as_of(at)
    d = pl.lit(at, dtype=pl.Date)
    past = pl.col("due") < d
    unpaid = pl.col("paid_on").is_null()
    days = lambda a, b: (a - b).dt.total_days().cast(pl.Int64)  # noqa: E731
    late_days = (
        pl.when(~unpaid)
        .then(pl.max_horizontal(days(pl.col("paid_on"), pl.col("due")), 0))
        .when(past)
        .then(days(d, pl.col("due")))
        .otherwise(0)
    )
    return (
        inst.lazy()
        .group_by("account_id")
        .agg(
            pl.when(past & unpaid).then(days(d, pl.col("due"))).otherwise(0).max().alias("dpd_now"),
            late_days.max().alias("dpd_worst"),
            past.sum().cast(pl.Int64).alias("instalments_due"),
            (past & ~unpaid & (pl.col("paid_on") <= pl.col("due"))).sum().alias("_on_time"),
            (past & (unpaid | (pl.col("paid_on") > pl.col("due")))).any().alias("_ever_late"),
        )
        .select(
            "account_id",
            pl.col("dpd_now").cast(pl.Int64),
            pl.col("dpd_worst").cast(pl.Int64),
            "instalments_due",
            pl.when(pl.col("instalments_due") > 0)
            .then(pl.col("_on_time") / pl.col("instalments_due"))
            .cast(pl.Float64)
            .alias("on_time_ratio"),
            (~pl.col("_ever_late")).alias("good_standing"),
        )
        .collect()
    )
