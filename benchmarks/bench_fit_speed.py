"""Fit speed of the Scorecard on 1,000,000 rows x 30 mixed features (5 % missing).

Usage (from the repo root)::

    .venv/bin/python benchmarks/bench_fit_speed.py [--rows 1000000] [--seed 0] [--noise K]
        [--spikes K] [--repeats R] [--weights]

Prints the fit seconds and the holdout AUC (``min(rows, 200,000)`` more rows of the same draw).
``--noise K`` adds K pure-noise numeric columns (no missing values, so their IV stays
under ``iv_min``) and times the fit again with the conditional step that tests them
(``selection.conditional_keep``) switched off, printing what that step costs.
``--spikes K`` adds K columns with a spike of zeros (17 %) beside small, safer values,
as in Taiwanese card bills, and times the fit again without the outcome's cuts in wide
pre-bins (``prebins.outcome_cuts``), printing their cost and the holdout AUC of both;
``--spikes 0`` does so on the plain frame, where no pre-bin is wide.
``--weights`` times the fit again with a sample weight per row (uniform in 0.5 to 2),
printing what weighting costs.
``make_data(n_rows, seed)`` is the shared data generator: peer benchmarks (optbinning)
import it so every model is timed on the very same frame.
"""

from __future__ import annotations

import argparse
import time
from unittest.mock import patch

import numpy as np
import pandas as pd

from clearline import Scorecard
from clearline.core.scoring import binning, selection
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
    ap.add_argument("--spikes", type=int)
    ap.add_argument("--repeats", type=int, default=1, help="fits per figure; the fastest counts")
    ap.add_argument("--weights", action="store_true", help="also time a weighted fit")
    args = ap.parse_args()
    t0 = time.perf_counter()
    # The holdout rows come from the same draw: make_data's level effects depend on the seed.
    n_test = min(args.rows, 200_000)
    X_all, y_all = make_data(args.rows + n_test, args.seed)
    for k in range(args.noise):
        X_all[f"noise_{k}"] = np.random.default_rng(args.seed + 100 + k).standard_normal(len(X_all))
    for k in range(args.spikes or 0):
        y_all = add_spike(X_all, y_all, f"spike_{k}", args.seed + 300 + k)
    X, X_test = X_all.iloc[: args.rows], X_all.iloc[args.rows :]
    y, y_test = y_all[: args.rows], y_all[args.rows :]
    print(
        f"data: {X.shape[0]:,} rows x {X.shape[1]} features, bad rate {y.mean():.3f} "
        f"(built in {time.perf_counter() - t0:.1f}s)"
    )
    secs = timed_fit(X, y, X_test, y_test, "Scorecard", args.repeats)
    if args.noise:
        with patch.object(selection, "conditional_keep", lambda *a, **k: ([], None)):
            without = timed_fit(X, y, X_test, y_test, "without the conditional step", args.repeats)
        print(f"the conditional step costs {secs - without:.2f}s ({secs / without:.2f}x the fit)")
    if args.spikes is not None:
        with patch.object(binning, "outcome_cuts", lambda *a: np.empty(0)):
            without = timed_fit(X, y, X_test, y_test, "without cuts in wide pre-bins", args.repeats)
        print(f"cuts in wide pre-bins cost {secs - without:.2f}s ({secs / without:.2f}x the fit)")
    if args.weights:
        w = np.random.default_rng(args.seed + 500).uniform(0.5, 2.0, len(y))
        weighted = timed_fit(X, y, X_test, y_test, "with sample weights", args.repeats, w)
        print(f"weights cost {weighted - secs:.2f}s ({weighted / secs:.2f}x the fit)")


def add_spike(X: pd.DataFrame, y: np.ndarray, name: str, seed: int) -> np.ndarray:
    """Add column ``name`` to ``X``: 17 % zeros (riskier), small values (safer), larger
    values (in between); return ``y`` with the column's effect mixed in."""
    rng = np.random.default_rng(seed)
    zero = rng.random(len(X)) < 0.17
    x = np.where(zero, 0.0, rng.random(len(X)))
    X[name] = x
    shift = np.where(zero, 0.6, np.where(x < 0.33, -0.6, 0.0))
    flip = rng.random(len(X)) < np.abs(shift) / 4  # move a share of rows towards the effect
    return np.where(flip, (shift > 0).astype(np.int64), y)


def timed_fit(
    X: pd.DataFrame,
    y: np.ndarray,
    X_test: pd.DataFrame,
    y_test: np.ndarray,
    what: str,
    repeats: int,
    sample_weight: np.ndarray | None = None,
) -> float:
    """Seconds of the fastest of ``repeats`` fits (one fit varies by about 20 % here)."""
    times = []
    for _ in range(max(1, repeats)):
        sc = Scorecard()
        t0 = time.perf_counter()
        sc.fit(X, y, sample_weight=sample_weight)
        times.append(time.perf_counter() - t0)
    holdout = auc(y_test, sc.predict_proba(X_test)[:, 1])
    print(
        f"{what} fit {min(times):.2f}s (of {len(times)}: {', '.join(f'{t:.2f}' for t in times)})"
        f"  holdout AUC {holdout:.4f}  ({len(sc.features_)} of {X.shape[1]} features kept)"
    )
    return min(times)


if __name__ == "__main__":
    main()
