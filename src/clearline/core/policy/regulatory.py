"""Step 4, the regulatory layer: hard caps applied last and never overridden.

- income share: a drawable line at most ``max_share`` x verified annual income; without
  verified income the preset says whether the cap is skipped, the line may not grow, or
  it is zero;
- household: the drawable lines of a household sum to at most the cap. Kept and raised
  lines are scaled down pro rata first; decreased lines only if they alone exceed it.

Household sums use a hash-bucket pass (:mod:`.buckets`) that is exact where it matters:
rows whose bucket total (an upper bound of their household total) stays under the cap
cannot be capped; the few others are grouped exactly by their household key.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clearline.core.policy import buckets, series
from clearline.core.policy.compiled import DEC, INC, KEEP
from clearline.core.policy.evaluate import Columns
from clearline.core.policy.kernel import State, round_down
from clearline.core.policy.model import Policy

#: line-cap flag values in :attr:`State.extra` ``"line_cap"``.
LINE_NONE, LINE_INCOME, LINE_UNVERIFIED = 0, 1, 2


def _drawable(st: State, closed: np.ndarray) -> np.ndarray:
    return ~closed & (st.action <= DEC)  # increase, keep or decrease


def income_cap(policy: Policy, cols: Columns, st: State, closed: np.ndarray) -> None:
    """Cap each drawable line by the share of verified annual income."""
    n = cols.n
    st.extra["line_cap"] = np.zeros(n, dtype=np.int8)
    reg = policy.regulatory
    if reg is None or reg.income_share_cap is None:
        return
    cap_cfg = reg.income_share_cap
    verified, _ = cols.boolean("income_verified")
    annual = cols.number("monthly_income") * 12.0
    with np.errstate(invalid="ignore"):
        cap = round_down(cap_cfg.max_share * annual, policy.line.round_to)
    cap = np.where(verified, cap, np.inf)  # null income: unknown, not capped here
    if cap_cfg.unverified == "no_increase":
        cap = np.where(verified, cap, st.old)
    elif cap_cfg.unverified == "zero":
        cap = np.where(verified, cap, 0.0)
    with np.errstate(invalid="ignore"):
        over = _drawable(st, closed) & (st.limit > cap)
    st.limit = np.where(over, cap, st.limit)
    st.extra["line_cap"] = np.where(
        over, np.where(verified, LINE_INCOME, LINE_UNVERIFIED), LINE_NONE
    ).astype(np.int8)


def household_ids(frame: pl.DataFrame) -> pl.Series:
    """The household key: ``household_id``, or the borrower's own id when empty."""
    hh = frame.get_column("household_id")
    if hh.null_count() == 0:
        return hh.cast(pl.String)
    return frame.select(pl.coalesce("household_id", "borrower_id")).to_series()


def household_cap(policy: Policy, keys: pl.Series, st: State, closed: np.ndarray) -> None:
    """Scale a household's drawable limits down to the cap (see module docstring)."""
    n = st.limit.shape[0]
    st.extra["hh_cap"] = np.zeros(n, dtype=bool)
    st.extra["hh_total"] = np.full(n, np.nan)
    cfg = policy.effective_household_cap
    if cfg is None or n == 0:
        return
    cap = cfg.limit
    hashes, exact = series.group_codes(keys)
    suspect = buckets.suspects(hashes, st.limit, st.action, closed, cap)
    if not suspect.any():
        return
    # Every row of a suspect's household is a suspect too (same key, same bucket), so
    # sums over the suspects grouped by key are the exact household sums.
    s = np.flatnonzero(suspect)
    action, limit = st.action[s], st.limit[s]
    drawable = ~closed[s] & (action <= DEC)
    soft = drawable & (action <= KEEP)  # increase or keep
    hard = drawable & (action == DEC)
    if exact:  # no hash collision to tell apart: group by the codes themselves
        codes = np.unique(hashes[s], return_inverse=True)[1].astype(np.intp)
    else:
        codes = keys.gather(s).rank("dense").to_numpy().astype(np.intp)
    p_soft = np.bincount(codes, weights=np.where(soft, limit, 0.0))[codes]
    p_hard = np.bincount(codes, weights=np.where(hard, limit, 0.0))[codes]
    hh_total = p_soft + p_hard
    with np.errstate(divide="ignore", invalid="ignore"):
        f_soft = np.where(p_hard >= cap, 0.0, (cap - p_hard) / p_soft)
        f_hard = np.where(p_hard > cap, cap / p_hard, 1.0)
        factor = np.where(soft, f_soft, np.where(hard, f_hard, 1.0))
        # A household whose soft lines are all 0 has an infinite soft factor: 0 x inf is
        # NaN, which is not below the limit, so such a line is left as it is.
        scaled = round_down(limit * factor, policy.line.round_to)
    applied = (soft | hard) & (hh_total > cap) & (scaled < limit)
    st.limit[s] = np.where(applied, scaled, limit)
    st.extra["hh_cap"][s] = applied
    st.extra["hh_total"][s] = hh_total


def regulatory(
    policy: Policy, cols: Columns, keys: pl.Series, st: State, closed: np.ndarray
) -> np.ndarray:
    """Step 4: income share cap, then household cap; returns rows a cap lowered."""
    before = st.limit.copy()
    income_cap(policy, cols, st, closed)
    return settle(policy, keys, st, closed, before)


def settle(
    policy: Policy, keys: pl.Series, st: State, closed: np.ndarray, before: np.ndarray
) -> np.ndarray:
    """The household cap, then the action of every row a cap lowered from ``before``
    (the limit the regulatory layer started from); returns those rows."""
    household_cap(policy, keys, st, closed)
    lowered = st.limit < before
    # A cap re-derives the action from the limit it leaves (it may turn keep into cut).
    moved = np.where(st.limit < st.old, DEC, np.where(st.limit > st.old, INC, KEEP))
    st.action = np.where(lowered, moved, st.action).astype(np.int8)
    return lowered
