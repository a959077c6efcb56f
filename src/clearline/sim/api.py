"""``simulate(config) -> SimResult``: a synthetic portfolio and its ground truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from clearline.core.portfolio import Portfolio
from clearline.sim import frames
from clearline.sim.clock import Clock
from clearline.sim.config import TYPES, SimConfig
from clearline.sim.engine import macro_series, run_months
from clearline.sim.outcome import first_reach90_by_account, schedule
from clearline.sim.population import draw_population


@dataclass(frozen=True)
class SimResult:
    """The portfolio (contract tables) and the truth frame the engine never reads.

    ``truth`` has one row per borrower: ``borrower_id``, ``type`` (behaviour type),
    ``hidden_risk`` (12-month chance of entering distress at neutral macro; misusers
    at least 0.9) and ``defaulted`` (some instalment of the borrower's loans reached 90
    days past due within the window, by the ledger rule).
    """

    portfolio: Portfolio
    truth: pl.DataFrame


def simulate(config: SimConfig | None = None) -> SimResult:
    """Simulate a portfolio; the same config (and seed) gives identical frames.

    Parameters
    ----------
    config
        What to simulate; ``SimConfig()`` when omitted.

    Returns
    -------
    SimResult
        ``portfolio`` with borrowers, accounts, events, links and macro typed as in
        ``clearline.core.portfolio.polars_schema``, and ``truth``.
    """
    cfg = config if config is not None else SimConfig()
    rng = np.random.Generator(np.random.PCG64(cfg.seed))
    clock = Clock(cfg.start, cfg.months)
    pop = draw_population(cfg, clock, rng)
    stress = macro_series(cfg)
    run = run_months(cfg, clock, pop, stress, rng)

    # Only what happened inside the window is observed (both here and in the frames).
    ev = run.events
    last_day = clock.end_day - 1
    sched = schedule(run.loans, ev, clock)
    reach = first_reach90_by_account(sched, pop.acc_borrower.size, last_day)
    defaulted_acc = reach >= 0
    # Defaulted lines are frozen, a share of them already closed by the lender.
    closed = rng.random(reach.size) < 0.3
    status = np.where(defaulted_acc, np.where(closed, "closed", "frozen"), "active")
    defaulted = np.bincount(pop.acc_borrower[defaulted_acc], minlength=pop.z.size) > 0

    portfolio = Portfolio(
        borrowers=frames.borrowers_frame(pop, clock),
        accounts=frames.accounts_frame(pop, clock, status),
        events=frames.events_frame(ev, clock),
        links=frames.links_frame(pop),
        macro=frames.macro_frame(clock, stress),
        source=f"simulate(seed={cfg.seed}, borrowers={cfg.borrowers}, months={cfg.months})",
    )
    truth = pl.DataFrame(
        {
            "borrower_id": portfolio.borrowers["borrower_id"],
            "type": pl.Series([TYPES[t] for t in pop.type_code.tolist()], dtype=pl.String),
            "hidden_risk": np.round(pop.hidden_risk, 6),
            "defaulted": defaulted,
        }
    )
    return SimResult(portfolio=portfolio, truth=truth)


__all__ = ["SimResult", "simulate"]
