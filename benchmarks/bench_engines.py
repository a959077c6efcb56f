"""Local vs Spark engine on one simulated portfolio: wall time and agreement.

    .venv/bin/python benchmarks/bench_engines.py [--borrowers 20000] [--partitions 8]

Spark runs in ``local[2]`` here, so it is slower than the local engine: it pays for the
JVM, moving every table through Arrow into Spark and back, and Python workers that each
rebuild a batch. It exists to scale out past one machine, not to win on one.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from clearline.core.features import build_features
from clearline.core.labels import default_labels
from clearline.core.policy import load_policy
from clearline.core.scoring.scorecard import Scorecard
from clearline.engines import decide_portfolio
from clearline.engines.spark import spark_session
from clearline.services.train import CANDIDATE_FEATURES
from clearline.sim import SimConfig, simulate

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--borrowers", type=int, default=20000)
    ap.add_argument("--months", type=int, default=18)
    ap.add_argument("--partitions", type=int, default=8)
    args = ap.parse_args()

    t = time.perf_counter()
    portfolio = simulate(SimConfig(borrowers=args.borrowers, months=args.months, seed=11)).portfolio
    print(f"simulate: {time.perf_counter() - t:.1f} s  {portfolio.counts()}")
    as_of = date(2024 + (args.months - 1) // 12, (args.months - 1) % 12 + 1, 28)
    obs = date(as_of.year - 1, as_of.month, as_of.day)
    table = build_features(portfolio, obs).join(default_labels(portfolio, as_of), on="account_id")
    y = table.get_column("default").cast(pl.Int8).to_numpy()
    model = Scorecard(random_state=0).fit(table.select(CANDIDATE_FEATURES), y)
    policies = [load_policy(ROOT / "policies" / f"{n}.yaml") for n in ("baseline", "tightened")]

    t = time.perf_counter()
    local = decide_portfolio(portfolio, as_of, model, "bench", policies, engine="local")
    t_local = time.perf_counter() - t

    t = time.perf_counter()
    spark = spark_session("local[2]", shuffle_partitions=args.partitions)
    t_session = time.perf_counter() - t
    runs = []
    for _ in range(2):  # cold (worker start, imports) then warm
        t = time.perf_counter()
        dist = decide_portfolio(
            portfolio, as_of, model, "bench", policies, engine="spark", partitions=args.partitions
        )
        runs.append(time.perf_counter() - t)
    spark.stop()

    exact_cols = [c for c, d in local[0].schema.items() if d != pl.Float64 and c != "trace"]
    for lo, sp, p in zip(local, dist, policies, strict=True):
        same = lo.select(exact_cols).equals(sp.select(exact_cols))
        floats = [c for c, d in lo.schema.items() if d == pl.Float64]
        worst = max(
            float(
                np.nanmax(
                    np.abs(lo[c].to_numpy() - sp[c].to_numpy())
                    / np.maximum(1.0, np.abs(lo[c].to_numpy())),
                    initial=0.0,
                )
            )
            for c in floats
        )
        bitwise = lo.equals(sp)
        print(
            f"{p.version}: {lo.height} accounts; decisions equal: {same}; "
            f"bitwise equal: {bitwise}; worst float rel diff: {worst:.1e}"
        )
    print(f"local engine:           {t_local:6.2f} s")
    print(f"spark session start:    {t_session:6.2f} s")
    print(f"spark engine (cold):    {runs[0]:6.2f} s  ({runs[0] / t_local:.1f}x local)")
    print(f"spark engine (warm):    {runs[1]:6.2f} s  ({runs[1] / t_local:.1f}x local)")
    print("Spark is slower on one machine; it is there to scale out over a cluster.")


if __name__ == "__main__":
    main()
