"""Who reached 90+ days past due, computed from the generated events by the ledger rule.

This re-derives the outcome from the repayments exactly as docs/architecture.md defines
it (instalment ``k`` is paid on the first repayment at which the loan's cumulative repaid
amount reaches ``k * instalment - 0.01 * k``), so the truth file agrees with what the
engine's ledger will compute, rather than with what the simulator intended.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearline.sim.buffer import REPAYMENT
from clearline.sim.clock import DAY, Clock
from clearline.sim.loans import LoanBook

_SHIFT = np.int64(1) << np.int64(40)  # cents per loan key band (1e10 CNY)


@dataclass
class Schedule:
    """One row per instalment: loan, account, due day and paid day (-1 unpaid)."""

    loan: np.ndarray
    acc: np.ndarray
    k: np.ndarray
    due: np.ndarray
    paid: np.ndarray

    def reach90_day(self, last_day: int) -> np.ndarray:
        """Day the instalment reached 90 dpd by ``last_day``, else -1."""
        bad = (self.paid < 0) | (self.paid - self.due >= 90)
        day = self.due + 90
        return np.where(bad & (day <= last_day), day, -1)


def schedule(loans: LoanBook, events: dict[str, np.ndarray], clock: Clock) -> Schedule:
    """Instalments of every loan and the day each was paid, from the repayment events."""
    c = loans.cols
    n = c["n"]
    loan = np.repeat(np.arange(n.size), n)
    starts = np.cumsum(n) - n
    k = np.arange(loan.size) - np.repeat(starts, n) + 1
    due = clock.due_day(c["sec"][loan], c["month"][loan], k)
    threshold = k * c["inst"][loan] - k  # cents: k * instalment - 0.01 * k

    sec = events["sec"]
    rep = (events["etype"] == REPAYMENT) & (sec >= 0) & (sec < clock.end_sec)
    r_loan, r_sec, r_cents = events["loan"][rep], events["sec"][rep], events["cents"][rep]
    order = np.lexsort((r_sec, r_loan))
    r_loan, r_sec, r_cents = r_loan[order], r_sec[order], r_cents[order]
    cum = np.cumsum(r_cents)
    first = np.searchsorted(r_loan, r_loan, side="left")
    before = np.where(first > 0, cum[np.maximum(first - 1, 0)], 0)
    cum_loan = cum - before
    r_key = r_loan * _SHIFT + cum_loan
    i_key = loan * _SHIFT + threshold
    hit = np.searchsorted(r_key, i_key, side="left")
    found = hit < r_key.size
    found[found] = r_loan[hit[found]] == loan[found]
    paid = np.full(loan.size, -1, dtype=np.int64)
    paid[found] = r_sec[hit[found]] // DAY
    return Schedule(loan=loan, acc=c["acc"][loan], k=k, due=due, paid=paid)


def first_reach90_by_account(sched: Schedule, n_accounts: int, last_day: int) -> np.ndarray:
    """Per account, the first day any instalment reached 90 dpd (-1 if never)."""
    day = sched.reach90_day(last_day)
    out = np.full(n_accounts, np.iinfo(np.int64).max)
    hit = day >= 0
    np.minimum.at(out, sched.acc[hit], day[hit])
    return np.where(out == np.iinfo(np.int64).max, -1, out)
