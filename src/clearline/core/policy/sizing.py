"""Initial line sizing for new accounts: ``limit = f(PD band, verified annual income)``.

The policy's ``initial_line`` gives an income multiple per PD band; the line is that
multiple of verified annual income (unverified income counts at
``unverified_income_factor``), rounded down, kept within ``line`` bounds (a multiple of 0
declines: limit 0), and then capped by the regulatory preset: at most its share of
verified annual income, and, without verified income, whatever the preset allows a new
line (``no_increase`` and ``zero`` both mean 0: there is no old line to keep).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clearline.core.policy.kernel import round_down
from clearline.core.policy.model import Policy


def initial_limits(
    policy: Policy, pd_: np.ndarray, monthly_income: np.ndarray, income_verified: np.ndarray
) -> np.ndarray:
    """New-line limits for arrays of PD, monthly income and income verification."""
    cfg = policy.initial_line
    if cfg is None:
        raise ValueError(f"policy {policy.version} has no initial_line section")
    pd_ = np.asarray(pd_, dtype=float)
    verified = np.asarray(income_verified, dtype=bool)
    annual = np.nan_to_num(np.asarray(monthly_income, dtype=float), nan=0.0).clip(0) * 12.0
    multiple = np.full(pd_.shape, cfg.bands[-1].income_multiple)
    for band in reversed(cfg.bands[:-1]):
        multiple = np.where(pd_ <= band.max_pd, band.income_multiple, multiple)
    counted = np.where(verified, annual, annual * cfg.unverified_income_factor)
    line = policy.line
    raw = round_down(multiple * counted, line.round_to)
    limit = np.where(raw > 0, np.clip(raw, line.min_limit, line.max_limit), 0.0)
    reg = policy.regulatory
    if reg is not None and reg.income_share_cap is not None:
        share = reg.income_share_cap
        cap = round_down(share.max_share * annual, line.round_to)
        if share.unverified != "skip":
            cap = np.where(verified, cap, 0.0)
        else:
            cap = np.where(verified, cap, np.inf)
        limit = np.minimum(limit, cap)
        limit = np.where(limit < line.min_limit, 0.0, limit)  # too small to open: declined
    hh = policy.effective_household_cap
    if hh is not None:
        limit = np.minimum(limit, hh.limit)
    return limit


def size_new_lines(applicants: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """``applicants`` (``pd, monthly_income, income_verified``) with ``initial_limit``."""
    limit = initial_limits(
        policy,
        applicants.get_column("pd").cast(pl.Float64).to_numpy(),
        applicants.get_column("monthly_income").cast(pl.Float64).to_numpy(),
        applicants.get_column("income_verified").fill_null(False).to_numpy(),
    )
    return applicants.with_columns(initial_limit=pl.Series(limit, dtype=pl.Float64))
