"""Time ``build_features`` (and ``default_labels``) on a synthetic portfolio.

Usage::

    python benchmarks/bench_features.py [N_ACCOUNTS] [--sim] [--repeat R]

By default the events are generated here with numpy (about 100 events per account:
drawdowns, repayments around each due date with some late or missed, transfers out and
in, purchases, inquiries, cities), so the benchmark does not depend on the simulator.
``--sim`` uses ``clearline.sim.simulate`` instead (borrowers = N).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime

import numpy as np
import polars as pl

from clearline.core.features import build_features
from clearline.core.labels import default_labels
from clearline.core.portfolio import Portfolio, empty_table, polars_schema

START = datetime(2024, 1, 1, tzinfo=UTC)
MONTHS = 24
US_PER_DAY = 86_400_000_000


def synthetic(n: int, seed: int = 7) -> Portfolio:
    """A portfolio of ``n`` accounts (one borrower each) built column-wise with numpy."""
    rng = np.random.default_rng(seed)
    t0 = int(START.timestamp() * 1_000_000)
    span = MONTHS * 30 * US_PER_DAY
    acc = np.arange(n)

    # Drawdowns: ~5 per account over the window.
    n_dd = rng.poisson(4, n) + 1
    dd_acc = np.repeat(acc, n_dd)
    dd_ts = t0 + rng.integers(0, span - 120 * US_PER_DAY, dd_acc.size)
    term = rng.choice([3, 6, 12], dd_acc.size)
    apr = rng.choice([0.0, 0.12, 0.24], dd_acc.size)
    principal = rng.uniform(500, 5000, dd_acc.size).round(2)
    r = apr / 12
    with np.errstate(divide="ignore", invalid="ignore"):
        inst = np.where(r > 0, principal * r / (1 - (1 + r) ** -term), principal / term).round(2)

    # Repayments: one per instalment near its due date; 0.5 % missed, 5 % late.
    rep_loan = np.repeat(np.arange(dd_acc.size), term)
    k = np.concatenate([np.arange(1, t + 1) for t in term]) if term.size else np.array([])
    shift = rng.integers(-5, 1, rep_loan.size)
    late = rng.random(rep_loan.size) < 0.05
    shift[late] = rng.integers(1, 120, late.sum())
    rep_ts = dd_ts[rep_loan] + ((k * 30.44 + shift) * US_PER_DAY).astype(np.int64)
    keep = rng.random(rep_loan.size) > 0.005
    rep_loan, rep_ts = rep_loan[keep], rep_ts[keep]

    # Other activity: transfers out (some right after a drawdown), in, purchases, inquiries.
    def scatter(mean: float) -> tuple[np.ndarray, np.ndarray]:
        a = np.repeat(acc, rng.poisson(mean, n))
        return a, t0 + rng.integers(0, span, a.size)

    tout_acc, tout_ts = scatter(25)
    quick = rng.random(dd_acc.size) < 0.3
    tout_acc = np.concatenate([tout_acc, dd_acc[quick]])
    tout_ts = np.concatenate([tout_ts, dd_ts[quick] + rng.integers(0, 3 * US_PER_DAY, quick.sum())])
    tin_acc, tin_ts = scatter(10)
    pur_acc, pur_ts = scatter(20)
    inq_acc, inq_ts = scatter(4)

    parts = {
        "drawdown": (dd_acc, dd_ts, principal, np.arange(dd_acc.size), term, apr),
        "repayment": (dd_acc[rep_loan], rep_ts, inst[rep_loan], rep_loan, None, None),
        "transfer_out": (tout_acc, tout_ts, rng.uniform(10, 3000, tout_acc.size), None, None, None),
        "transfer_in": (tin_acc, tin_ts, rng.uniform(10, 3000, tin_acc.size), None, None, None),
        "purchase": (pur_acc, pur_ts, rng.uniform(5, 500, pur_acc.size), None, None, None),
        "external_inquiry": (inq_acc, inq_ts, np.zeros(inq_acc.size), None, None, None),
    }
    frames = []
    cities = np.array(["Shanghai", "Beijing", "Wuhan", "Xi'an", "Chengdu"])
    for typ, (a, ts, amount, loan, t, ap) in parts.items():
        m = a.size
        frames.append(
            pl.DataFrame(
                {
                    "account_id": pl.Series(a).cast(pl.String),
                    "ts": pl.Series(ts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
                    "type": [typ] * m,
                    "amount": np.round(amount, 2),
                    "loan_id": None if loan is None else pl.Series(loan).cast(pl.String),
                    "term_months": None if t is None else t,
                    "apr": None if ap is None else ap,
                    "counterparty": (
                        pl.Series(rng.integers(0, 60, m)).cast(pl.String)
                        if typ in ("transfer_out", "transfer_in", "purchase")
                        else None
                    ),
                    "city": cities[rng.integers(0, 5, m)],
                    "_located": rng.random(m) < 0.5,
                },
            )
            .with_columns(city=pl.when("_located").then("city"))
            .drop("_located")
            .with_columns(
                pl.col(c).cast(d) for c, d in polars_schema("events").items() if c != "event_id"
            )
        )
    events = (
        pl.concat(frames)
        .with_row_index("event_id")
        .with_columns(pl.col("event_id").cast(pl.String))
    )
    events = events.select(polars_schema("events").keys())
    ids = pl.Series(acc).cast(pl.String)
    accounts = pl.DataFrame(
        {
            "account_id": ids,
            "borrower_id": ids,
            "product": "cash_line",
            "opened_at": START,
            "credit_limit": rng.choice([5000.0, 10000.0, 20000.0], n),
            "status": "active",
        }
    ).cast(polars_schema("accounts"))
    borrowers = pl.DataFrame(
        {
            "borrower_id": ids,
            "household_id": None,
            "birth_year": rng.integers(1960, 2004, n),
            "city": "Wuhan",
            "declared_monthly_income": rng.choice([0.0, 4000.0, 8000.0, 15000.0], n),
            "income_verified": rng.random(n) < 0.5,
            "employment": "salaried",
            "registered_at": START,
        }
    ).cast(polars_schema("borrowers"))
    lk = rng.integers(0, n, (n // 3, 2)).astype(str)
    links = pl.DataFrame(
        {"borrower_id": lk[:, 0], "other_borrower_id": lk[:, 1], "kind": "contact"}
    ).cast(polars_schema("links"))
    return Portfolio(borrowers, accounts, events, links, empty_table("macro"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", nargs="?", type=int, default=20_000, help="accounts (borrowers)")
    ap.add_argument("--sim", action="store_true", help="use clearline.sim.simulate")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t = time.perf_counter()
    if args.sim:
        from clearline.sim import SimConfig, simulate

        portfolio = simulate(SimConfig(borrowers=args.n, months=MONTHS)).portfolio
    else:
        portfolio = synthetic(args.n)
    built = time.perf_counter() - t
    n_acc, n_ev = portfolio.accounts.height, portfolio.events.height
    as_of = portfolio.events["ts"].max().date() if n_ev else date(2026, 1, 1)
    print(f"portfolio: {n_acc:,} accounts, {n_ev:,} events (built in {built:.1f} s)")

    best = float("inf")
    for _ in range(args.repeat):
        t = time.perf_counter()
        features = build_features(portfolio, as_of)
        best = min(best, time.perf_counter() - t)
    assert features.height == n_acc
    print(
        f"build_features as of {as_of}: {best:.2f} s (best of {args.repeat}), "
        f"{n_acc / best:,.0f} accounts/s, {n_ev / best:,.0f} events/s"
    )
    t = time.perf_counter()
    labels = default_labels(portfolio, as_of)
    took = time.perf_counter() - t
    print(
        f"default_labels: {took:.2f} s, population {labels.height:,}, "
        f"default rate {labels['default'].mean():.3f}"
    )


if __name__ == "__main__":
    main()
