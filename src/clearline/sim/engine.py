"""The monthly loop: borrower stages, drawdowns, repayments and everyday activity.

The loop runs once per month; inside a month everything is vectorised over borrowers,
accounts and loans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearline.sim.activity import EMPLOYERS, background, inquiry_burst, transfer_burst
from clearline.sim.buffer import EventBuffer
from clearline.sim.clock import Clock
from clearline.sim.config import (
    CREEP,
    HEALTHY,
    LATE,
    PARTIAL,
    STOPPED,
    STRESS_POWER,
    TYPE_PARAMS,
    TYPES,
    Z_HAZARD,
    SimConfig,
)
from clearline.sim.loans import LoanBook
from clearline.sim.population import Population

T_MISUSER, T_DETERIORATOR, T_MULTI, T_INNOCENT = (
    TYPES.index(t) for t in ("misuser", "deteriorator", "multi_lender", "innocent")
)


@dataclass
class Run:
    """What the loop produced: the event columns and the loan book."""

    events: dict[str, np.ndarray]
    loans: LoanBook


def macro_series(cfg: SimConfig) -> np.ndarray:
    """Stress index per month: 1.0, with one bad spell rising to ``macro_peak``."""
    stress = np.ones(cfg.months)
    start = round(0.4 * cfg.months) if cfg.macro_start is None else cfg.macro_start
    length = cfg.macro_length
    if length > 0 and cfg.macro_peak != 1.0:
        i = np.arange(length)
        shape = np.sqrt(np.sin(np.pi * (i + 0.5) / length))  # a plateau-ish bump
        months = start + i
        keep = months < cfg.months
        stress[months[keep]] = 1.0 + (cfg.macro_peak - 1.0) * shape[keep]
    return np.round(stress, 3)


def _param(name: str, type_code: np.ndarray) -> np.ndarray:
    return np.array([getattr(TYPE_PARAMS[t], name) for t in TYPES])[type_code]


def run_months(
    cfg: SimConfig, clock: Clock, pop: Population, stress: np.ndarray, rng: np.random.Generator
) -> Run:
    n = cfg.borrowers
    tc = pop.type_code
    stage = np.zeros(n, dtype=np.int8)
    onset = _param("onset", tc) * np.exp(Z_HAZARD * pop.z)
    onset_stage = _param("onset_stage", tc)
    sudden, cure_late, cure_partial = (
        _param(p, tc) for p in ("sudden", "cure_late", "cure_partial")
    )
    occasional = _param("occasional_late", tc) * np.exp(0.5 * pop.z)
    draw_p = _param("draw", tc)
    frac_ab = np.array([TYPE_PARAMS[t].draw_frac for t in TYPES])[tc]
    inquiry, burst_p = _param("inquiry", tc), _param("inquiry_burst", tc)
    activity = np.exp(rng.normal(0, 0.5, n))
    employer = rng.integers(0, EMPLOYERS, n)
    salaried = pop.employment == 0
    open_month = clock.month_of_day(pop.acc_open_sec // 86400)
    p_open = open_month[pop.primary]
    # Misusers strike soon after opening; some innocents have one "risky-looking" month.
    misuse_month = np.where(tc == T_MISUSER, p_open + rng.geometric(0.45, n) - 1, -1)
    innocent = tc == T_INNOCENT
    reno_month = np.where(innocent & (rng.random(n) < 0.4), p_open + rng.integers(0, 8, n), -1)
    shop_month = np.where(innocent & (rng.random(n) < 0.35), rng.integers(0, cfg.months, n), -1)
    is_primary = np.zeros(pop.acc_borrower.size, dtype=bool)
    is_primary[pop.primary] = True

    buf, book = EventBuffer(), LoanBook()
    for m in range(cfg.months):
        ms, me = int(clock.month_start_sec(m)), int(clock.month_start_sec(m + 1))
        s = stress[m]
        # 1. Stages move for borrowers whose line was already open.
        live = pop.acc_open_sec[pop.primary] < ms
        u = rng.random(n)
        hazard = 1 - np.exp(-onset * s**STRESS_POWER)
        start = live & (stage == HEALTHY) & (u < hazard)
        to = np.where(rng.random(n) < sudden, STOPPED, onset_stage)
        new = stage.copy()
        new[start] = to[start]
        new[live & (stage == CREEP) & (u < 0.3)] = LATE
        new[live & (stage == LATE) & (u < 0.35 * s)] = PARTIAL
        new[live & (stage == LATE) & (u > 1 - cure_late)] = HEALTHY
        new[live & (stage == PARTIAL) & (u < 0.45)] = STOPPED
        new[live & (stage == PARTIAL) & (u > 1 - cure_partial)] = HEALTHY
        stage = new
        city_now = np.where(m >= pop.move_month, pop.city_after, pop.city)

        # 2. Drawdowns, at most one per open account and month.
        acc = np.flatnonzero(pop.acc_open_sec + 3600 < me)  # drawn inside month m
        bor = pop.acc_borrower[acc]
        st = stage[bor]
        prim = is_primary[acc]
        p = draw_p[bor] * np.where(prim, 1.0, 0.6)
        p = np.where(pop.acc_open_sec[acc] >= ms, np.maximum(p, 0.5), p)
        p = np.where(st == CREEP, 0.55, p)
        p = np.where(st == PARTIAL, 0.05, p)
        misuse = prim & (misuse_month[bor] == m) & (st != STOPPED)
        reno = prim & (reno_month[bor] == m)
        p = np.where(misuse | reno, 1.0, np.where(st == STOPPED, 0.0, p))
        frac = rng.beta(frac_ab[bor, 0], frac_ab[bor, 1])
        frac = np.where(st == CREEP, rng.uniform(0.5, 0.95, acc.size), frac)
        frac = np.where(misuse, rng.uniform(0.85, 1.0, acc.size), frac)
        frac = np.where(reno, rng.uniform(0.6, 0.9, acc.size), frac)
        pick = rng.random(acc.size) < p
        acc, bor, frac, misuse, reno, st = (x[pick] for x in (acc, bor, frac, misuse, reno, st))
        lo = np.maximum(ms, pop.acc_open_sec[acc] + 3600)
        sec = lo + (rng.random(acc.size) * np.maximum(me - lo, 1)).astype(np.int64)
        available = pop.acc_limit[acc] - book.outstanding_by_account(pop.acc_limit.size)[acc]
        long_terms = (tc[bor] == T_MULTI) | (st == CREEP) | misuse
        ok, cents = book.draw(
            buf,
            rng,
            clock,
            m,
            acc=acc,
            bor=bor,
            sec=sec,
            frac=frac,
            available=available,
            apr_base=pop.apr_base,
            long_terms=long_terms,
            city=city_now,
        )
        mis = ok & misuse
        transfer_burst(
            buf,
            rng,
            acc[mis],
            sec[mis],
            cents[mis[ok]],
            count=(2, 5),
            first_hours=(0.2, 12),
            gap_hours=(1, 36),
            share=(0.7, 0.95),
        )
        stage[bor[mis]] = STOPPED
        misuse_month[bor[misuse & ~ok]] += 1  # no room on the line yet: try next month
        ren = ok & reno
        transfer_burst(
            buf,
            rng,
            acc[ren],
            sec[ren],
            cents[ren[ok]],
            count=(2, 4),
            first_hours=(12, 96),
            gap_hours=(6, 72),
            share=(0.6, 0.9),
        )

        # 3. Repayments of the instalments due this month.
        late_p = np.where(stage == CREEP, 0.12, np.minimum(occasional * s, 0.5))
        book.repay(buf, rng, clock, m, stage=stage, late_p=late_p)

        # 4. Everyday activity on the cash lines.
        b = np.flatnonzero(pop.acc_open_sec[pop.primary] < me)
        a = pop.primary[b]
        lo = np.maximum(ms, pop.acc_open_sec[a] + 60)
        hi = np.full(b.size, me, dtype=np.int64)
        distressed = (stage[b] >= CREEP) & (stage[b] <= PARTIAL)
        background(
            buf,
            rng,
            acc=a,
            bor=b,
            lo=lo,
            hi=hi,
            activity=activity[b] * np.where(stage[b] == STOPPED, 0.3, 1.0),
            income=pop.income[b],
            salaried=salaried[b],
            employer=employer[b],
            city=city_now[b],
            inquiry_rate=inquiry[b] + 0.15 * distressed,
            burst_p=burst_p[b] + 0.06 * distressed,
        )
        shop = shop_month[b] == m
        inquiry_burst(buf, rng, a[shop], lo[shop], hi[shop], size=(4, 10), days=(7, 21))
    return Run(events=buf.arrays(), loans=book)
