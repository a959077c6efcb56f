"""Time ``decide`` on synthetic feature rows with the shipped baseline policy.

Usage: ``python benchmarks/bench_decide.py [--rows N] [--repeat R] [--policy FILE]``

Pinned to one core (``POLARS_MAX_THREADS=1`` before polars is imported; numpy here is
single-threaded). In the ``decide`` lines scores and score reasons are *inputs*
(precomputed, as from ``clearline.core.scoring``; by default as reason indices,
``reasons=names`` rows read the feature-name lists); those timings include rules,
grades, matrix, hysteresis, overlays, caps, up to four reasons and the trace, but not
scoring. The ``score + decide`` line adds scoring the rows with a fitted Scorecard
(``score_accounts``: score, PD, top-4 reasons) to the same decide: issue 4's figure.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("POLARS_MAX_THREADS", "1")
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from clearline import Scorecard
from clearline.core.decide import decide
from clearline.core.policy import load_policy
from clearline.core.scoring.apply import score_accounts
from clearline.core.whatif import summarize_review, whatif

ROOT = Path(__file__).resolve().parents[1]
SCORE_FEATURES = ["dpd_worst", "utilisation", "inquiries_30d", "on_time_ratio", "debt_to_income"]
#: Columns of ``synthetic`` the end-to-end line fits its scorecard on.
MODEL_FEATURES = [
    "dpd_worst", "utilisation", "inquiries_30d", "transfer_out_share_7d", "new_counterparties_30d"
]  # fmt: skip


def synthetic(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Feature rows and scores shaped like a real book (households of 1-3 accounts)."""
    rng = np.random.default_rng(seed)
    limit = rng.choice([2000.0, 5000, 10000, 20000, 50000, 100000], n)
    util = rng.beta(1.2, 2.5, n)
    dpd = np.where(rng.random(n) < 0.06, rng.integers(1, 150, n), 0)
    ids = np.arange(n).astype(str)
    features = pl.DataFrame(
        {
            "account_id": np.char.add("a", ids),
            "borrower_id": np.char.add("b", ids),
            "household_id": np.char.add("h", (np.arange(n) // 2).astype(str)),
            "product": "cash_line",
            "status": rng.choice(["active", "frozen", "closed"], n, p=[0.95, 0.03, 0.02]),
            "credit_limit": limit,
            "dpd_now": dpd,
            "dpd_worst": dpd + np.where(rng.random(n) < 0.1, rng.integers(0, 60, n), 0),
            "good_standing": dpd == 0,
            "outstanding": np.round(limit * util, 2),
            "utilisation": util,
            "transfer_out_share_7d": rng.beta(0.5, 3, n),
            "new_counterparties_30d": rng.poisson(0.5, n),
            "inquiries_30d": rng.poisson(1.0, n),
            "monthly_income": np.round(rng.lognormal(9.0, 0.5, n), 2),
            "income_verified": rng.random(n) < 0.7,
        }
    )
    score = rng.normal(605, 30, n)
    pd_ = 1.0 / (1.0 + 50.0 * 2.0 ** ((score - 600.0) / 20.0))
    k = rng.integers(0, len(SCORE_FEATURES) + 1, n)
    reasons = [SCORE_FEATURES[:j] for j in k]
    # The same reasons as the scorer's indices into SCORE_FEATURES (-1 = none), as
    # ``score_accounts`` emits them.
    idx = np.where(np.arange(4) < k[:, None], np.arange(4), -1).astype(np.int16)
    scored = pl.DataFrame(
        {
            "account_id": features["account_id"],
            "score": score,
            "pd": pd_,
            "score_reasons": reasons,
            "score_reason_idx": idx,
        }
    )
    return features, scored


def end_to_end(features: pl.DataFrame, policy: object, repeat: int, kw: dict) -> None:
    """Score with a fitted Scorecard (score, PD, top-4 reasons) and decide, timed together.

    The scorecard is fitted on 50,000 of the rows against a label drawn from all five
    ``MODEL_FEATURES`` (its quality is not the point here; its size is: the fit keeps
    all five, so rows can carry four score reasons; one fit, no bagging).
    """
    rng = np.random.default_rng(11)
    x = features.select(MODEL_FEATURES).to_pandas()
    logit = (
        -3.5 + 0.03 * x.dpd_worst + 2.0 * x.utilisation + 0.3 * x.inquiries_30d
        + 1.5 * x.transfer_out_share_7d + 0.4 * x.new_counterparties_30d
    )  # fmt: skip
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).to_numpy().astype(int)
    model = Scorecard(bagging=1).fit(x.iloc[:50_000], y[:50_000])
    names = list(model.features_)
    score_accounts(features, model)  # compile the scoring plan once, as a service does
    t_score, t_total = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        scored = score_accounts(features, model, names=False)
        t1 = time.perf_counter()
        decide(features, scored, policy, trace="path", score_features=names, **kw)
        t2 = time.perf_counter()
        t_score.append(t1 - t0)
        t_total.append(t2 - t0)
    n = features.height
    print(
        f"score ({len(names)} features, top-4 reasons) + decide trace=path: best "
        f"{min(t_total):.3f} s of {repeat} (scoring {min(t_score):.3f} s)  ->  "
        f"{n / min(t_total):,.0f} accounts/s/core (target 5,000,000; median run "
        f"{n / float(np.median(t_total)):,.0f}/s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--policy", default=str(ROOT / "policies" / "baseline.yaml"))
    args = ap.parse_args()
    policy = load_policy(args.policy)
    features, scored = synthetic(args.rows)
    print(f"policy {policy.version}  rows {args.rows:,}  threads {pl.thread_pool_size()}")
    kw = {"model_version": "bench", "as_of": date(2025, 6, 30)}
    # The end-to-end figure first: the JSON-trace runs below leave a million long strings'
    # worth of heap behind, which slows whatever runs after them.
    end_to_end(features, policy, args.repeat, kw)
    runs = [("path", "idx"), ("path", "names"), ("full", "idx")]
    for mode, reasons in runs:
        extra = {"score_features": SCORE_FEATURES} if reasons == "idx" else {}
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            decisions = decide(features, scored, policy, trace=mode, **kw, **extra)
            times.append(time.perf_counter() - t0)
        best = min(times)
        print(
            f"decide trace={mode} reasons={reasons}: best {best:.3f} s of {args.repeat}  ->  "
            f"{args.rows / best:,.0f} accounts/s/core"
        )
    by_idx = decide(features, scored, policy, trace="path", score_features=SCORE_FEATURES, **kw)
    assert by_idx.equals(decide(features, scored, policy, trace="path", **kw)), "idx != names"
    print(f"summary: {summarize_review(decisions)}")
    tight = load_policy(ROOT / "policies" / "tightened.yaml")
    cand = decide(features, scored, tight, model_version="bench", as_of=date(2025, 6, 30))
    t0 = time.perf_counter()
    _, summary = whatif(decisions, cand)
    dt = time.perf_counter() - t0
    print(f"whatif: {dt:.3f} s  changed {summary['changed']:,}  adverse {summary['adverse']:,}")


if __name__ == "__main__":
    main()
