"""The training label: 90+ days past due within the horizon after the observation date.

Per docs/architecture.md, with ``O = as_of - horizon_months months`` (clipped to the
month end): an account defaults if some instalment has ``paid_on - due >= 90`` days (an
unpaid one counts as never paid) and ``O < due + 90 days <= as_of``, using drawdowns and
repayments seen by ``as_of``. The population is the accounts opened on or before ``O``
(``opened_at < O + 1 day 00:00 UTC``) that were not already 90+ days past due at ``O``
(``dpd_now >= 90`` as of ``O``).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import polars as pl

from clearline.core.ledger import as_of_cutoff, check_as_of, delinquency, instalments
from clearline.core.portfolio import Portfolio

__all__ = ["DEFAULT_DPD", "default_labels", "observation_date"]

DEFAULT_DPD = 90


def observation_date(as_of: date, horizon_months: int = 12) -> date:
    """``as_of - horizon_months`` calendar months, clipped to the month end.

    >>> observation_date(date(2025, 2, 28))
    datetime.date(2024, 2, 28)
    >>> observation_date(date(2024, 2, 29))
    datetime.date(2023, 2, 28)
    """
    as_of = check_as_of(as_of)
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int):
        raise TypeError(f"horizon_months must be an int, got {horizon_months!r}")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    m = as_of.year * 12 + as_of.month - 1 - horizon_months
    y, mo = divmod(m, 12)
    mo += 1
    if y < 1:
        raise ValueError(f"observation date before year 1 for as_of={as_of}")
    return date(y, mo, min(as_of.day, calendar.monthrange(y, mo)[1]))


def default_labels(portfolio: Portfolio, as_of: date, *, horizon_months: int = 12) -> pl.DataFrame:
    """Default flag for every account of the training population.

    Parameters
    ----------
    portfolio
        A validated ``Portfolio``.
    as_of
        End of the performance window (the label sees events with
        ``ts < as_of + 1 day 00:00 UTC``).
    horizon_months
        Length of the performance window; the observation date is
        ``observation_date(as_of, horizon_months)``.

    Returns
    -------
    pl.DataFrame
        ``account_id (String), default (Boolean)``, sorted by ``account_id``. Features
        for training should be built at ``observation_date(as_of, horizon_months)``.
    """
    as_of = check_as_of(as_of)
    obs = observation_date(as_of, horizon_months)
    obs_cutoff = as_of_cutoff(obs)
    events = portfolio.events.filter(pl.col("ts") < as_of_cutoff(as_of))

    population = portfolio.accounts.filter(pl.col("opened_at") < obs_cutoff).select("account_id")
    # Arrears at O use only what was seen at O (a later repayment does not undo them).
    at_obs = delinquency(instalments(events, obs_cutoff), obs)
    already_bad = at_obs.filter(pl.col("dpd_now") >= DEFAULT_DPD).select("account_id")
    population = population.join(already_bad, on="account_id", how="anti")

    inst = instalments(events, as_of_cutoff(as_of))
    limit = pl.col("due") + timedelta(days=DEFAULT_DPD)  # the day it turns 90 dpd
    bad_by_due = (pl.col("paid_on") - pl.col("due")).dt.total_days() >= DEFAULT_DPD
    defaulted = inst.filter(
        (pl.col("paid_on").is_null() | bad_by_due)
        & (limit > pl.lit(obs, dtype=pl.Date))
        & (limit <= pl.lit(as_of, dtype=pl.Date))
    ).select(pl.col("account_id").unique(), pl.lit(True).alias("default"))

    return (
        population.join(defaulted, on="account_id", how="left")
        .with_columns(pl.col("default").fill_null(False))
        .sort("account_id")
    )
