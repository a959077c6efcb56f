"""German credit: cross-validated AUC / KS of the Scorecard against one-hot + LR.

Usage (from the repo root)::

    .venv/bin/python benchmarks/bench_german_credit.py [CSV] [--speed-rows 200000]

3 repeats of stratified 5-fold CV (seeds 0, 1, 2); target ``creditability`` with
``bad`` = 1. The reference is one-hot encoded categoricals + standardised numerics into
LogisticRegression(C=0.1). ``--speed-rows N`` also times fit and scoring on a synthetic
frame of N rows x 20 mixed features.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from clearline import Scorecard
from clearline.core.scoring.metrics import auc, ks

DEFAULT_CSV = Path(__file__).resolve().parents[1] / "../shared/datasets/german_credit.csv"


def reference_model(X: pd.DataFrame) -> object:
    """One-hot + LogisticRegression(C=0.1), the baseline to beat."""
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), cats),
            ("num", StandardScaler(), nums),
        ]
    )
    return make_pipeline(pre, LogisticRegression(C=0.1, max_iter=2000))


def cross_validate(make, X: pd.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """AUC and KS of each of 15 folds (3 seeds x 5 folds), and total fit seconds."""
    aucs, kss, secs = [], [], 0.0
    for seed in (0, 1, 2):
        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y):
            model = make(X)
            t0 = time.perf_counter()
            model.fit(X.iloc[tr], y[tr])
            secs += time.perf_counter() - t0
            p = model.predict_proba(X.iloc[te])[:, 1]
            aucs.append(auc(y[te], p))
            kss.append(ks(y[te], p))
    return np.array(aucs), np.array(kss), secs


def speed(rows: int) -> None:
    """Time fit, score_points and explain_indices on synthetic mixed data."""
    rng = np.random.default_rng(0)
    cols: dict[str, object] = {}
    logit = np.full(rows, -2.0)
    for j in range(15):
        x = rng.normal(size=rows)
        x[rng.random(rows) < 0.05] = np.nan
        logit += np.nan_to_num(x) * (0.3 if j % 2 else -0.2)
        cols[f"num_{j}"] = x
    for j in range(5):
        c = rng.integers(0, 8, size=rows)
        logit += (c - 3.5) * 0.1
        cols[f"cat_{j}"] = np.array(list("abcdefgh"), dtype=object)[c]
    X = pd.DataFrame(cols)
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    sc = Scorecard()
    t0 = time.perf_counter()
    sc.fit(X, y)
    t1 = time.perf_counter()
    sc.score_points(X)
    t2 = time.perf_counter()
    sc.explain_indices(X, 4)
    t3 = time.perf_counter()
    print(
        f"speed {rows} rows x 20 features: fit {t1 - t0:.2f}s, score_points {t2 - t1:.3f}s, "
        f"explain_indices {t3 - t2:.3f}s ({len(sc.features_)} features kept)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    ap.add_argument("--speed-rows", type=int, default=0)
    args = ap.parse_args()
    df = pd.read_csv(args.csv)
    y = (df.pop("creditability") == "bad").to_numpy().astype(int)
    print(f"german credit: {len(df)} rows, {df.shape[1]} features, bad rate {y.mean():.3f}")
    results = {}
    for name, make in (("Scorecard", lambda X: Scorecard()), ("onehot+LR", reference_model)):
        a, k, secs = cross_validate(make, df, y)
        results[name] = a.mean()
        print(
            f"{name:10s} AUC {a.mean():.4f} ± {a.std(ddof=1):.4f}  "
            f"KS {k.mean():.4f} ± {k.std(ddof=1):.4f}  fit {secs / len(a) * 1000:.0f} ms/fold"
        )
    print(f"AUC ratio Scorecard / onehot+LR: {results['Scorecard'] / results['onehot+LR']:.4f}")
    if args.speed_rows:
        speed(args.speed_rows)


if __name__ == "__main__":
    main()
