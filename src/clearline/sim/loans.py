"""The loan book: drawdowns against the line and repayments against the schedule.

Each drawdown is a loan with ``n`` equal annuity instalments (cents), instalment ``k``
due on ``draw date + k months``. Every month each live loan meets its instalment due in
that month, and the borrower's repayment stage decides how it is paid:

- HEALTHY / CREEP: the exact instalment on or up to 5 days before the due date (a small
  chance of paying it 1-20 days late instead), plus, often, any arrears (a cure);
- LATE: 1-20 days after the due date, sometimes skipped;
- PARTIAL: a part of the instalment, sometimes nothing;
- STOPPED: nothing.

A late payment lands at most 20 days after its due date and the next one at least 23
days after it, so a loan's repayments keep the order of its instalments and the ledger
(oldest instalment first) sees exactly the intended lateness.
"""

from __future__ import annotations

import numpy as np

from clearline.sim.buffer import DRAWDOWN, REPAYMENT, EventBuffer
from clearline.sim.clock import DAY, Clock
from clearline.sim.config import CREEP, LATE, PARTIAL, STOPPED

TERMS = np.array([3, 6, 12, 24])
TERM_P = np.array([0.15, 0.30, 0.35, 0.20])
_FIELDS = (
    "acc",
    "bor",
    "month",
    "sec",
    "amount",
    "n",
    "apr",
    "inst",
    "paid",
    "settled",
    "spill",
    "arrears",
    "done",
    "last",
)


def annuity_cents(amount_cents: np.ndarray, apr: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Instalment in cents: annuity at monthly rate apr/12, ``amount / n`` at 0 %."""
    r = apr / 12.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pay = np.where(
            r > 0, amount_cents * r / (1 - (1 + r) ** (-n.astype(float))), amount_cents / n
        )
    return np.round(pay).astype(np.int64)


class LoanBook:
    """Columnar loan state. ``settled`` counts repayments made before the current month,
    so the available line at a drawdown never counts a repayment made after it."""

    def __init__(self) -> None:
        self.cols: dict[str, np.ndarray] = {f: np.empty(0, np.int64) for f in _FIELDS}
        self.cols["apr"] = np.empty(0, np.float64)

    def __len__(self) -> int:
        return self.cols["acc"].size

    def add(self, **values: np.ndarray) -> None:
        size = np.asarray(values["acc"]).size
        for f in _FIELDS:
            v = values.get(f, np.zeros(size, dtype=self.cols[f].dtype))
            self.cols[f] = np.concatenate([self.cols[f], np.asarray(v, self.cols[f].dtype)])

    def outstanding_by_account(self, n_accounts: int) -> np.ndarray:
        """Principal outstanding (the features' formula) from settled repayments, CNY."""
        c = self.cols
        if len(self) == 0:
            return np.zeros(n_accounts)
        principal = np.maximum(0.0, c["amount"] - c["settled"] * c["amount"] / (c["n"] * c["inst"]))
        return np.bincount(c["acc"], weights=principal, minlength=n_accounts) / 100.0

    def draw(
        self,
        buf: EventBuffer,
        rng: np.random.Generator,
        clock: Clock,
        m: int,
        *,
        acc: np.ndarray,
        bor: np.ndarray,
        sec: np.ndarray,
        frac: np.ndarray,
        available: np.ndarray,
        apr_base: np.ndarray,
        long_terms: np.ndarray,
        city: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Drawdowns of ``frac`` of the available line (whole hundreds, at least 500).

        Returns a mask of the requests actually drawn and their amounts in cents.
        """
        all_cents = (np.floor(frac * available / 100.0) * 100 * 100).astype(np.int64)
        ok = all_cents >= 50000
        acc, bor, sec, cents = acc[ok], bor[ok], sec[ok], all_cents[ok]
        n = rng.choice(TERMS, size=acc.size, p=TERM_P)
        n = np.where(long_terms[ok] & (n < 12), rng.choice([12, 24], size=acc.size), n)
        apr = apr_base[bor] + rng.normal(0, 0.01, acc.size) + np.where(n >= 24, 0.01, 0.0)
        apr = np.round(np.clip(apr, 0.06, 0.36), 4)
        inst = annuity_cents(cents, apr, n)
        first = len(self)
        loan = np.arange(first, first + acc.size)
        self.add(
            acc=acc,
            bor=bor,
            month=np.full(acc.size, m),
            sec=sec,
            amount=cents,
            n=n,
            apr=apr,
            inst=inst,
            last=sec,
        )
        with_city = rng.random(acc.size) < 0.5
        buf.add(
            acc,
            sec,
            DRAWDOWN,
            cents,
            loan=loan,
            term=n,
            apr=apr,
            city=np.where(with_city, city[bor], -1),
        )
        return ok, cents

    def repay(
        self,
        buf: EventBuffer,
        rng: np.random.Generator,
        clock: Clock,
        m: int,
        *,
        stage: np.ndarray,
        late_p: np.ndarray,
    ) -> None:
        """Meet every instalment due in month ``m`` according to the borrower's stage."""
        c = self.cols
        next_start = int(clock.month_start_sec(m + 1))
        c["settled"] += c["spill"]  # repayments of last month's loop that fell in month m
        c["spill"][:] = 0
        due_now = np.flatnonzero((c["done"] < c["n"]) & (c["month"] + c["done"] + 1 == m))
        k = c["done"][due_now] + 1
        c["done"][due_now] = k
        due = clock.due_day(c["sec"][due_now], c["month"][due_now], k)
        st = stage[c["bor"][due_now]]
        inst = c["inst"][due_now]
        arrears = c["arrears"][due_now]
        size = due_now.size
        u = rng.random(size)
        good = st <= CREEP
        late = good & (u < late_p[c["bor"][due_now]])
        offset = np.where(late, rng.integers(1, 21, size), -rng.integers(0, 6, size))
        offset = np.where(st == LATE, rng.integers(1, 21, size), offset)
        offset = np.where(st == PARTIAL, rng.integers(0, 21, size), offset)
        cure = rng.random(size) < np.where(good, 0.6, np.where(st == LATE, 0.3, 0.0))
        amount = inst + np.where(cure, arrears, 0)
        amount = np.where(st == PARTIAL, np.round(inst * rng.uniform(0.2, 0.7, size)), amount)
        skip = (st == STOPPED) | ((st == LATE) & (u < 0.2)) | ((st == PARTIAL) & (u < 0.3))
        amount = np.where(skip, 0, amount).astype(np.int64)
        sec = (due + offset) * DAY + rng.integers(0, DAY, size)
        self._pay(buf, due_now, amount, sec, next_start)
        c["arrears"][due_now] = arrears + inst - amount

        # After the last instalment, arrears may still be caught up.
        tail = np.flatnonzero(
            (c["done"] == c["n"]) & (c["arrears"] > 0) & (c["month"] + c["n"] < m)
        )
        st = stage[c["bor"][tail]]
        p = np.where(st <= CREEP, 0.7, np.where(st == LATE, 0.3, 0.0))
        tail = tail[rng.random(tail.size) < p]
        sec = clock.random_second_in_month(np.full(tail.size, m), rng)
        amount = c["arrears"][tail]
        self._pay(buf, tail, amount, sec, next_start)
        c["arrears"][tail] = 0

    def _pay(
        self,
        buf: EventBuffer,
        idx: np.ndarray,
        amount: np.ndarray,
        sec: np.ndarray,
        next_start: int,
    ) -> None:
        c = self.cols
        remaining = c["n"][idx] * c["inst"][idx] - c["paid"][idx]
        amount = np.minimum(amount, remaining)
        pay = amount > 0
        idx, amount, sec = idx[pay], amount[pay], sec[pay]
        # Never before the loan's previous event: keeps the ledger order intended.
        sec = np.maximum(sec, c["last"][idx] + 3600)
        c["last"][idx] = sec
        c["paid"][idx] += amount
        in_month = sec < next_start
        c["settled"][idx[in_month]] += amount[in_month]
        c["spill"][idx[~in_month]] += amount[~in_month]
        buf.add(c["acc"][idx], sec, REPAYMENT, amount, loan=idx)
