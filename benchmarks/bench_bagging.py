"""Bagged vs single-fit Scorecard on small samples, scored on a large holdout.

Usage (from the repo root)::

    .venv/bin/python benchmarks/bench_bagging.py [--sizes 1000 3000 10000] [--repeats 2]

Data: ``bench_fit_speed.make_data`` (22 numeric + 8 string columns, 5 % missing). Each
training sample is a disjoint slice of the first rows; every model is scored on the
same 20,000 rows after them, which no model saw. Prints the holdout AUC of
``Scorecard(bagging=1)`` (one fit) and ``Scorecard()`` (``bagging="auto"``: 25 bootstrap
fits up to 10,000 rows), their difference and the fit times.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_fit_speed import make_data

from clearline import Scorecard
from clearline.core.scoring.metrics import auc

HOLDOUT = 20_000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 10000])
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    need = max(args.sizes) * args.repeats
    X, y = make_data(need + HOLDOUT, 0)
    y = np.asarray(y)
    X_test, y_test = X.iloc[need:], y[need:]
    print(f"holdout {HOLDOUT:,} rows, bad rate {y_test.mean():.3f}")
    print(f"{'rows':>6} {'rep':>3} {'one fit':>8} {'bagged':>8} {'diff':>8} {'fit s':>13}")
    diffs = []
    for n in args.sizes:
        for r in range(args.repeats):
            X_tr, y_tr = X.iloc[r * n : (r + 1) * n], y[r * n : (r + 1) * n]
            t0 = time.perf_counter()
            one = Scorecard(bagging=1).fit(X_tr, y_tr)
            t1 = time.perf_counter()
            bag = Scorecard().fit(X_tr, y_tr)
            t2 = time.perf_counter()
            a = auc(y_test, one.predict_proba(X_test)[:, 1])
            b = auc(y_test, bag.predict_proba(X_test)[:, 1])
            diffs.append(b - a)
            print(
                f"{n:>6} {r:>3} {a:8.4f} {b:8.4f} {b - a:+8.4f} {t1 - t0:6.2f} {t2 - t1:6.2f}"
                f"  ({bag.n_members_} members)"
            )
    print(f"mean AUC gain of bagging: {np.mean(diffs):+.4f} (min {min(diffs):+.4f})")


if __name__ == "__main__":
    main()
