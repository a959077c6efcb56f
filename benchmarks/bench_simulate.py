"""Time the simulator: simulate + write every table as Parquet.

Usage: python benchmarks/bench_simulate.py [--borrowers 100000] [--months 24] [--seed 7]
       [--no-diagnostics]
Prints seconds for each phase, events per second and, unless turned off, events per
borrower, the share of borrowers defaulted and the 12-month-ahead default rate of
accounts open at the observation date (window end - 12 months).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from clearline.sim import SimConfig, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--borrowers", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-diagnostics", action="store_true")
    args = ap.parse_args()
    cfg = SimConfig(borrowers=args.borrowers, months=args.months, seed=args.seed)

    t0 = time.perf_counter()
    result = simulate(cfg)
    t1 = time.perf_counter()
    p = result.portfolio
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("borrowers", "accounts", "events", "links", "macro"):
            getattr(p, name).write_parquet(Path(tmp) / f"{name}.parquet")
        result.truth.write_parquet(Path(tmp) / "truth.parquet")
    t2 = time.perf_counter()
    events = p.events.height
    print(f"borrowers={p.borrowers.height} accounts={p.accounts.height} events={events}")
    print(f"simulate {t1 - t0:.1f} s, write parquet {t2 - t1:.1f} s, total {t2 - t0:.1f} s")
    print(f"events/s {events / (t2 - t0):,.0f}")
    if args.no_diagnostics:
        return
    from clearline.sim.diagnostics import default_rate_12m

    end = _add_months(cfg.start, cfg.months) - timedelta(days=1)
    rate, population = default_rate_12m(p, end)
    print(f"events per borrower {events / p.borrowers.height:.1f}")
    defaulted = int(result.truth["defaulted"].sum()) / result.truth.height
    print(f"borrowers defaulted in window {defaulted:.3f}")
    print(f"12-month default rate as of {end}: {rate:.3f} of {population} accounts")


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return d.replace(year=d.year + y, month=m + 1)


if __name__ == "__main__":
    main()
