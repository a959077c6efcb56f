"""Fit speed of the Scorecard on 1,000,000 rows x 30 mixed features (5 % missing).

Usage (from the repo root)::

    .venv/bin/python benchmarks/bench_fit_speed.py [--rows 1000000] [--seed 0] [--noise K]

Prints the fit seconds and the holdout AUC (a second frame drawn with ``seed + 1``).
``--noise K`` adds K pure-noise numeric columns (no missing values, so their IV stays
under ``iv_min``) and times the fit again with the conditional step that tests them
(``selection.conditional_keep``) switched off, printing what that step costs.
``make_data(n_rows, seed)`` is the shared data generator: peer benchmarks (optbinning)
import it so every model is timed on the very same frame.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from clearline import Scorecard
from clearline.core.scoring import selection
from clearline.core.scoring.metrics import auc

N_NUMERIC = 22
N_CATEGORICAL = 8
MISSING_SHARE = 0.05


# --------------------------------------------------------------------------- make_data
# Shared with the peer benchmark: keep the signature and the output stable.
def make_data(n_rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A deterministic credit-like frame: 22 numeric + 8 string columns, 5 % missing.

    Numeric columns mix shapes the binning must find: linear, monotone non-linear,
    U-shaped (a valley), skewed (lognormal amounts), integer counts, and pure noise.
    Categorical columns have 3 to 12 levels with level effects, a few rare levels, and
    one pure-noise column. The target is Bernoulli with a logit built from the features
    (bad rate about 21 %); missing values carry a little extra risk.

    Returns
    -------
    X : pandas.DataFrame of ``n_rows`` rows, columns ``num_00..num_21``, ``cat_0..cat_7``.
    y : int array of 0/1 (1 = bad).
    """
    rng = np.random.default_rng(seed)
    logit = np.full(n_rows, -2.6)
    cols: dict[str, np.ndarray] = {}
    for j in range(N_NUMERIC):
        kind = j % 6
        z = rng.standard_normal(n_rows)
        if kind == 0:  # linear
            x, effect = z, 0.35 * z
        elif kind == 1:  # monotone but saturating
            x, effect = z * 10 + 50, -0.5 * np.tanh(z)
        elif kind == 2:  # valley: both ends risky
            x, effect = z, 0.25 * (z**2 - 1)
        elif kind == 3:  # skewed amounts
            x = np.exp(8 + 0.8 * z)
            effect = 0.2 * z
        elif kind == 4:  # integer counts
            x = rng.poisson(2.0, n_rows).astype(np.float64)
            effect = 0.15 * (x - 2.0)
        else:  # noise
            x, effect = z, np.zeros(n_rows)
        miss = rng.random(n_rows) < MISSING_SHARE
        logit += np.where(miss, 0.2, effect)
        x = x.astype(np.float64)
        x[miss] = np.nan
        cols[f"num_{j:02d}"] = x
    for j in range(N_CATEGORICAL):
        k = 3 + (j * 3) % 10  # 3..12 levels
        p = rng.dirichlet(np.full(k, 2.0))
        codes = rng.choice(k, size=n_rows, p=p)
        effects = rng.normal(0.0, 0.3 if j < N_CATEGORICAL - 1 else 0.0, size=k)
        miss = rng.random(n_rows) < MISSING_SHARE
        logit += np.where(miss, 0.2, effects[codes])
        levels = np.array([f"level_{j}_{i}" for i in range(k)] + [None], dtype=object)
        cols[f"cat_{j}"] = levels[np.where(miss, k, codes)]
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(cols), y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--noise", type=int, default=0)
    args = ap.parse_args()
    t0 = time.perf_counter()
    X, y = make_data(args.rows, args.seed)
    X_test, y_test = make_data(min(args.rows, 200_000), args.seed + 1)
    for k in range(args.noise):
        for frame, seed in ((X, args.seed + 100 + k), (X_test, args.seed + 200 + k)):
            frame[f"noise_{k}"] = np.random.default_rng(seed).standard_normal(len(frame))
    print(
        f"data: {X.shape[0]:,} rows x {X.shape[1]} features, bad rate {y.mean():.3f} "
        f"(built in {time.perf_counter() - t0:.1f}s)"
    )
    secs = timed_fit(X, y, X_test, y_test, "Scorecard")
    if args.noise:
        step = selection.conditional_keep
        selection.conditional_keep = lambda *a, **k: ([], None)  # the step switched off
        try:
            without = timed_fit(X, y, X_test, y_test, "without the conditional step")
        finally:
            selection.conditional_keep = step
        print(f"the conditional step costs {secs - without:.2f}s ({secs / without:.2f}x the fit)")


def timed_fit(
    X: pd.DataFrame, y: np.ndarray, X_test: pd.DataFrame, y_test: np.ndarray, what: str
) -> float:
    sc = Scorecard()
    t0 = time.perf_counter()
    sc.fit(X, y)
    secs = time.perf_counter() - t0
    holdout = auc(y_test, sc.predict_proba(X_test)[:, 1])
    print(
        f"{what} fit {secs:.2f}s  holdout AUC {holdout:.4f}  "
        f"({len(sc.features_)} of {X.shape[1]} features kept)"
    )
    return secs


if __name__ == "__main__":
    main()
