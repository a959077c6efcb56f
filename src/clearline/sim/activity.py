"""Everyday account activity in one month, and bursts tied to a drawdown.

Purchases, salary and other transfers in, transfers out to a borrower's usual
counterparties, and external inquiries (a steady trickle plus bursts). All draws are
vectorised over the accounts of the month.
"""

from __future__ import annotations

import numpy as np

from clearline.sim.buffer import (
    CP_EMPLOYER,
    CP_KNOWN,
    CP_MERCHANT,
    CP_NEW,
    INQUIRY,
    PURCHASE,
    TRANSFER_IN,
    TRANSFER_OUT,
    EventBuffer,
)
from clearline.sim.clock import DAY

KNOWN_PER_BORROWER = 5  # size of a borrower's pool of usual transfer counterparties
MERCHANTS = 5000
EMPLOYERS = 20000


def times_between(
    lo: np.ndarray, hi: np.ndarray, counts: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniform seconds in ``[lo[i], hi[i])``; returns (owner index, second)."""
    owner = np.repeat(np.arange(counts.size), counts)
    span = np.maximum(hi - lo, 1)[owner]
    return owner, lo[owner] + (rng.random(owner.size) * span).astype(np.int64)


def background(
    buf: EventBuffer,
    rng: np.random.Generator,
    *,
    acc: np.ndarray,
    bor: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    activity: np.ndarray,
    income: np.ndarray,
    salaried: np.ndarray,
    employer: np.ndarray,
    city: np.ndarray,
    inquiry_rate: np.ndarray,
    burst_p: np.ndarray,
) -> None:
    """Everyday events of the primary accounts active in ``[lo, hi)`` seconds.

    ``activity`` scales the counts (it is lower once a borrower stopped paying);
    ``city`` is the borrower's current city this month; ``inquiry_rate`` and
    ``burst_p`` give the external inquiry trickle and the chance of a burst.
    """
    frac = np.maximum(hi - lo, 0) / (30.4 * DAY)  # partial first month

    n = rng.poisson(1.6 * activity * frac)
    o, t = times_between(lo, hi, n, rng)
    cents = np.round(np.exp(rng.normal(np.log(12000), 1.0, o.size))).astype(np.int64)
    with_city = rng.random(o.size) < 0.7
    buf.add(
        acc[o],
        t,
        PURCHASE,
        np.maximum(cents, 100),
        cp_kind=CP_MERCHANT,
        cp_num=rng.integers(0, MERCHANTS, o.size),
        city=np.where(with_city, city[o], -1),
    )

    # Salary lands mid-month for most salaried borrowers.
    paid = salaried & (rng.random(acc.size) < 0.85 * np.minimum(frac * 1.5, 1))
    o = np.flatnonzero(paid)
    day = lo[o] + (rng.random(o.size) * np.maximum(hi[o] - lo[o], 1)).astype(np.int64)
    cents = np.round(income[o] * rng.uniform(90, 100, o.size)).astype(np.int64)
    buf.add(acc[o], day, TRANSFER_IN, cents, cp_kind=CP_EMPLOYER, cp_num=employer[o])

    n = rng.poisson(0.45 * activity * frac)
    o, t = times_between(lo, hi, n, rng)
    cents = np.round(income[o] * rng.uniform(3, 30, o.size)).astype(np.int64)
    buf.add(
        acc[o],
        t,
        TRANSFER_IN,
        np.maximum(cents, 100),
        cp_kind=CP_KNOWN,
        cp_num=bor[o] * 10 + rng.integers(0, KNOWN_PER_BORROWER, o.size),
    )

    n = rng.poisson(0.95 * activity * frac)
    o, t = times_between(lo, hi, n, rng)
    cents = np.round(income[o] * rng.uniform(3, 35, o.size)).astype(np.int64)
    buf.add(
        acc[o],
        t,
        TRANSFER_OUT,
        np.maximum(cents, 100),
        cp_kind=CP_KNOWN,
        cp_num=bor[o] * 10 + rng.integers(0, KNOWN_PER_BORROWER, o.size),
    )

    n = rng.poisson(inquiry_rate * frac)
    o, t = times_between(lo, hi, n, rng)
    buf.add(acc[o], t, INQUIRY, np.zeros(o.size, dtype=np.int64))
    burst = np.flatnonzero(rng.random(acc.size) < burst_p)
    inquiry_burst(buf, rng, acc[burst], lo[burst], hi[burst], size=(3, 9), days=(3, 20))


def inquiry_burst(
    buf: EventBuffer,
    rng: np.random.Generator,
    acc: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    *,
    size: tuple[int, int],
    days: tuple[int, int],
) -> None:
    """A burst of external inquiries inside a few days, starting in ``[lo, hi)``."""
    if acc.size == 0:
        return
    start = lo + (rng.random(acc.size) * np.maximum(hi - lo, 1)).astype(np.int64)
    length = rng.integers(days[0], days[1] + 1, acc.size) * DAY
    count = rng.integers(size[0], size[1] + 1, acc.size)
    o = np.repeat(np.arange(acc.size), count)
    t = start[o] + (rng.random(o.size) * length[o]).astype(np.int64)
    buf.add(acc[o], t, INQUIRY, np.zeros(o.size, dtype=np.int64))


def transfer_burst(
    buf: EventBuffer,
    rng: np.random.Generator,
    acc: np.ndarray,
    t0: np.ndarray,
    cents: np.ndarray,
    *,
    count: tuple[int, int],
    first_hours: tuple[float, float],
    gap_hours: tuple[float, float],
    share: tuple[float, float],
) -> None:
    """Transfers out to never-seen counterparties shortly after drawdowns at ``t0``.

    The transfers sum to ``share`` of each drawdown (split at random); the first one
    comes ``first_hours`` after the drawdown and the rest ``gap_hours`` apart.
    """
    if acc.size == 0:
        return
    k = rng.integers(count[0], count[1] + 1, acc.size)
    o = np.repeat(np.arange(acc.size), k)
    total = cents * rng.uniform(share[0], share[1], acc.size)
    weights = rng.gamma(2.0, 1.0, o.size)
    weight_sum = np.bincount(o, weights=weights, minlength=acc.size)
    amount = np.floor(total[o] * weights / weight_sum[o]).astype(np.int64)
    first = rng.uniform(first_hours[0], first_hours[1], acc.size) * 3600
    gaps = rng.uniform(gap_hours[0], gap_hours[1], o.size) * 3600
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    is_first = np.zeros(o.size, dtype=bool)
    is_first[starts] = True
    gaps[is_first] = 0.0
    # Cumulative gaps within each burst.
    cum = np.cumsum(gaps)
    cum -= np.repeat(cum[starts], k)
    t = t0[o] + (first[o] + cum).astype(np.int64)
    buf.add(
        acc[o],
        t,
        TRANSFER_OUT,
        np.maximum(amount, 100),
        cp_kind=CP_NEW,
        cp_num=buf.take_new_counterparties(o.size),
    )
