"""German credit: clearline's Scorecard against the peers, on the same folds, in one run.

Usage (from the repo root; the peers need ``bash benchmarks/setup_peers.sh`` once)::

    .venv/bin/python benchmarks/bench_peers_quality.py [CSV] [--seeds 0 1 2]

3 repeats of stratified 5-fold CV (``StratifiedKFold(5, shuffle=True, random_state=seed)``
for seeds 0, 1, 2); target ``creditability`` with ``bad`` = 1. Methods: clearline
``Scorecard()`` (defaults), one-hot + LogisticRegression(C=0.1) and LightGBM (300 trees,
8 leaves; skipped if not importable) in this process; optbinning, toad and scorecardpy in
the peer venv (``peers.py``), which receives the exact fold masks through a ``.npz`` file
and returns test-fold probabilities. Every AUC and KS is computed here with the same
``clearline.core.scoring.metrics`` code, and the ratio of our AUC over each method's is
printed next to the reference AUC published in ``../shared/datasets/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers import REPO, run_peer  # noqa: E402

from clearline import Scorecard  # noqa: E402
from clearline.core.scoring.metrics import auc, ks  # noqa: E402

DEFAULT_CSV = REPO.parent / "shared" / "datasets" / "german_credit.csv"
TARGET = "creditability"
PUBLISHED = {
    "optbinning": 0.791,
    "toad": 0.782,
    "scorecardpy": 0.771,
    "LightGBM": 0.791,
    "onehot+LR": 0.779,
}


def onehot_lr(X: pd.DataFrame) -> Any:
    """One-hot categoricals + standardised numerics -> LogisticRegression(C=0.1).

    Missing values (none in German credit) become a category of their own, or the
    median plus a missing flag for numerics.
    """
    cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    nums = [c for c in X.columns if c not in cats]
    cat = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    num = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    pre = ColumnTransformer([("cat", cat, cats), ("num", num, nums)])
    return make_pipeline(pre, LogisticRegression(C=0.1, max_iter=2000))


class _LightGBM:
    """LGBMClassifier(300 trees, 8 leaves) on pandas categoricals (levels of the full file)."""

    def __init__(self, X: pd.DataFrame) -> None:
        import lightgbm

        self.cats = {
            c: sorted(X[c].dropna().unique())
            for c in X.columns
            if not pd.api.types.is_numeric_dtype(X[c])
        }
        self.model = lightgbm.LGBMClassifier(
            n_estimators=300, num_leaves=8, verbose=-1, random_state=0
        )

    def _prep(self, X: pd.DataFrame) -> pd.DataFrame:
        return X.assign(**{c: pd.Categorical(X[c], categories=v) for c, v in self.cats.items()})

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _LightGBM:
        self.model.fit(self._prep(X), y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self._prep(X))


def fold_masks(y: np.ndarray, seeds: list[int]) -> np.ndarray:
    """(len(seeds) * 5, n) boolean test masks, the same for every method."""
    masks = []
    for seed in seeds:
        for _, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(y, y):
            m = np.zeros(len(y), dtype=bool)
            m[te] = True
            masks.append(m)
    return np.array(masks)


def run_local(
    make: Callable[[pd.DataFrame], Any], X: pd.DataFrame, y: np.ndarray, test: np.ndarray
) -> tuple[list[np.ndarray], float]:
    """Test-fold probabilities of a model made by ``make`` on every fold, and fit seconds."""
    probas, secs = [], 0.0
    for mask in test:
        model = make(X)
        t0 = time.perf_counter()
        model.fit(X[~mask], y[~mask])
        secs += time.perf_counter() - t0
        probas.append(model.predict_proba(X[mask])[:, 1])
    return probas, secs


def summarise(probas: list[Any], y: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-fold AUC and KS, all with clearline's metric code."""
    aucs = np.array([auc(y[m], np.asarray(p)) for p, m in zip(probas, test, strict=True)])
    kss = np.array([ks(y[m], np.asarray(p)) for p, m in zip(probas, test, strict=True)])
    return aucs, kss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("csv", nargs="?", default=str(DEFAULT_CSV))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--peer-timeout", type=float, default=1800.0)
    args = ap.parse_args()

    X = pd.read_csv(args.csv)
    y = (X.pop(TARGET) == "bad").to_numpy().astype(np.int64)
    test = fold_masks(y, args.seeds)
    print(
        f"german credit: {len(X)} rows, {X.shape[1]} features, bad rate {y.mean():.3f}; "
        f"{len(test)} folds (seeds {args.seeds} x stratified 5-fold), same folds for all"
    )

    local: dict[str, Callable[[pd.DataFrame], Any]] = {
        "Scorecard": lambda _X: Scorecard(),
        "onehot+LR": onehot_lr,
    }
    try:
        import lightgbm  # noqa: F401

        local["LightGBM"] = _LightGBM
    except ImportError as exc:
        print(f"LightGBM: skipped ({exc})")
    results: dict[str, tuple[np.ndarray, np.ndarray, float] | str] = {}
    for name, make in local.items():
        probas, secs = run_local(make, X, y, test)
        results[name] = (*summarise(probas, y, test), secs)

    with tempfile.TemporaryDirectory(prefix="clearline-peers-") as tmp:
        folds = Path(tmp) / "folds.npz"
        np.savez(folds, y=y, test=test)
        req = {"csv": str(Path(args.csv).resolve()), "target": TARGET, "folds": str(folds)}
        answer = run_peer("quality", req, Path(tmp), timeout=args.peer_timeout)
    if "error" in answer:
        print(f"peers: not run ({answer['error']})")
    else:
        v = answer["versions"]
        print("peer venv: " + ", ".join(f"{k} {val}" for k, val in v.items()))
        for name, res in answer["methods"].items():
            if "error" in res:
                results[name] = res["error"]
            else:
                results[name] = (*summarise(res["proba"], y, test), res["fit_seconds"])

    ours = results["Scorecard"]
    assert not isinstance(ours, str)
    print(
        f"\n{'method':12s} {'AUC mean ± sd':>16s} {'KS':>6s} {'ms/fold':>8s} "
        f"{'published':>9s} {'ours/it':>8s}"
    )
    for name, res in results.items():
        pub = f"{PUBLISHED[name]:.3f}" if name in PUBLISHED else "-"
        if isinstance(res, str):
            print(f"{name:12s} FAILED: {res}")
            continue
        a, k, secs = res
        ratio = ours[0].mean() / a.mean()
        print(
            f"{name:12s} {a.mean():9.4f} ± {a.std(ddof=1):.4f} {k.mean():6.3f} "
            f"{secs / len(a) * 1000:8.0f} {pub:>9s} {ratio:8.4f}"
        )
    print(f"\nScorecard AUC {ours[0].mean():.4f} (target >= 0.80)")
    for name, res in results.items():
        if name != "Scorecard" and not isinstance(res, str):
            print(f"AUC ratio Scorecard / {name}: {ours[0].mean() / res[0].mean():.4f}")


if __name__ == "__main__":
    main()
