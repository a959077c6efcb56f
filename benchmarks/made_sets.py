"""Data sets made in code for ``bench_peers_unseen.py``: shapes the public sets lack.

Each maker returns a frame with the binary outcome in column ``bad`` (1 = the event);
the same name and seed always give the same rows. Two groups:

- ``synthetic``: a column of 200 equally common codes (0.5 % each, like postcodes,
  employers or merchant codes) whose log-odds effects have a spread (sd) of 0.8, or
  none, beside one numeric feature. Every level is under the minimum bin share; before
  rare levels were cut into several pools (``binning.rare_pools``) the column said
  nothing.
- ``shapes``: the data shapes an unpublished protocol may bring: wide (100 columns, 7
  of them informative, two of those not monotone, on 2,000 rows), a rare event (1.4 %),
  a small sample (400 rows), groups of near-duplicate columns, and count features full
  of ties and zeros with a missing utilisation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


def _outcome(rng: np.random.Generator, logit: np.ndarray) -> np.ndarray:
    return (rng.random(len(logit)) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)


def _codes(spread: float, n: int = 20_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 200, n)
    effects = rng.normal(0, spread, 200)
    x1 = rng.normal(size=n)
    bad = _outcome(rng, -1.5 + effects[codes] + 0.7 * x1)
    return pd.DataFrame({"code": [f"c{c}" for c in codes], "x1": x1, "bad": bad})


def wide(n: int = 2_000, p: int = 100, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    logit = -1.5 + X[:, :5] @ np.array([0.6, -0.5, 0.4, 0.3, -0.3])
    logit += 0.3 * (X[:, 5] ** 2 - 1) + 0.25 * np.abs(X[:, 6])  # U-shaped, not monotone
    frame = pd.DataFrame(X, columns=[f"f{i:03d}" for i in range(p)])
    return frame.assign(bad=_outcome(rng, logit))


def rare_event(n: int = 30_000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 12))
    segment = rng.integers(0, 6, n)
    logit = -5.0 + X[:, :6] @ np.array([0.7, -0.5, 0.5, 0.3, 0.3, -0.2])
    logit += np.array([0, 0.4, -0.3, 0.8, 0.1, -0.6])[segment]
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(12)])
    return frame.assign(segment=[f"s{s}" for s in segment], bad=_outcome(rng, logit))


def small(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 10))
    logit = -1.0 + X[:, :4] @ np.array([0.8, -0.6, 0.5, 0.4])
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(10)])
    return frame.assign(bad=_outcome(rng, logit))


def near_duplicates(n: int = 5_000, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 4))
    cols = {
        f"b{j}_{k}": base[:, j] + rng.normal(scale=0.3 + 0.2 * k, size=n)
        for j in range(4)
        for k in range(6)
    }
    logit = -1.5 + base @ np.array([0.7, -0.5, 0.4, 0.2])
    return pd.DataFrame(cols).assign(bad=_outcome(rng, logit))


def counts(n: int = 10_000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    inquiries = rng.poisson(rng.gamma(0.5, 2, n))
    late = rng.poisson(0.2, n)
    utilisation = np.clip(rng.beta(2, 3, n) + 0.2 * rng.random(n), 0, 1.5)
    age = rng.integers(18, 75, n)
    accounts = rng.poisson(3, n)
    utilisation[rng.random(n) < 0.1] = np.nan
    logit = (
        -2.5
        + 0.25 * np.minimum(inquiries, 8)
        + 0.7 * np.minimum(late, 3)
        + 1.5 * np.nan_to_num(utilisation, nan=0.8)
        - 0.02 * (age - 40)
        + 0.05 * accounts
    )
    frame = pd.DataFrame(
        {"inquiries": inquiries, "late": late, "utilisation": utilisation, "age": age}
    )
    return frame.assign(accounts=accounts, bad=_outcome(rng, logit))


SYNTHETIC: dict[str, Callable[[], pd.DataFrame]] = {
    "rare_codes": lambda: _codes(0.8),
    "rare_noise": lambda: _codes(0.0),
}
SHAPES: dict[str, Callable[[], pd.DataFrame]] = {
    "wide": wide,
    "rare_event": rare_event,
    "small": small,
    "near_duplicates": near_duplicates,
    "counts": counts,
}
