"""Fit and scoring speed of clearline's Scorecard against optbinning, in one run.

Usage (from the repo root; the peers need ``bash benchmarks/setup_peers.sh`` once)::

    .venv/bin/python benchmarks/bench_peers_speed.py [--part fit|score|all] [--rows 1000000]
        [--score-rows 1000000] [--score-fit-rows 200000] [--peer-timeout 900]

**fit**: ``make_data(rows)`` (22 numeric + 8 string columns, 5 % missing; taken from
``bench_fit_speed.py`` when it exists) split 80/20 at random; clearline ``Scorecard().fit``
here and optbinning ``BinningProcess`` + ``LogisticRegression`` in the peer venv on the
same train Parquet; seconds, holdout AUC of both (same metric code) and the speed ratio.
Targets: ours under 60 s and >= 3x faster at equal or better AUC.

**score**: a 20-feature scorecard (15 numeric + 5 string) fitted by both on
``--score-fit-rows`` rows, then timed (best of ``--repeat``) scoring ``--score-rows`` rows
read from the same Parquet: optbinning ``Scorecard.score()`` (points, no reasons) against
clearline points + top-4 reasons (``core.scoring.kernel`` plan if present, else
``score_points`` + ``explain_indices``). This part re-runs itself in a child process with
OMP/MKL/OPENBLAS/NUMBA threads set to 1 (one core). Targets: >= 5 M rows/s, >= 10x.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402

from clearline import Scorecard  # noqa: E402
from clearline.core.scoring.metrics import auc  # noqa: E402


def get_make_data() -> tuple[Callable[[int, int], Any], str]:
    """``bench_fit_speed.make_data`` when that file exists, else ``peers.make_data``."""
    try:
        return importlib.import_module("bench_fit_speed").make_data, "bench_fit_speed"
    except (ImportError, AttributeError):
        return peers.make_data, "peers"


def write(path: Path, X: pd.DataFrame, y: np.ndarray | None = None) -> None:
    """Parquet for the peer venv (``_target`` column when ``y`` is given)."""
    (X if y is None else X.assign(_target=y)).to_parquet(path, index=False)


def fit_part(rows: int, seed: int, timeout: float, tmp: Path) -> None:
    make, source = get_make_data()
    X, y = make(rows, seed)
    y = np.asarray(y).astype(np.int64)
    n_num = sum(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns)
    print(
        f"fit: {len(X):,} rows x {X.shape[1]} features ({n_num} numeric, "
        f"{X.shape[1] - n_num} categorical; data from {source}.make_data), "
        f"missing {X.isna().to_numpy().mean():.1%}, bad rate {y.mean():.3f}"
    )
    hold = np.random.default_rng(seed).random(len(X)) < 0.2
    Xtr, ytr = X[~hold].reset_index(drop=True), y[~hold]
    Xho, yho = X[hold].reset_index(drop=True), y[hold]
    write(tmp / "train.parquet", Xtr, ytr)
    write(tmp / "holdout.parquet", Xho, yho)

    t0 = time.perf_counter()
    sc = Scorecard().fit(Xtr, ytr)
    ours_s = time.perf_counter() - t0
    ours_auc = auc(yho, sc.predict_proba(Xho)[:, 1])
    print(
        f"  clearline Scorecard.fit: {ours_s:8.2f} s  holdout AUC {ours_auc:.4f}  "
        f"({len(sc.features_)} features kept; target < 60 s)"
    )

    req = {
        "train": str(tmp / "train.parquet"),
        "holdout": str(tmp / "holdout.parquet"),
        "proba_out": str(tmp / "optbinning_holdout.npy"),
    }
    answer = peers.run_peer("fit", req, tmp, timeout=timeout)
    if "error" in answer:
        print(f"  optbinning BinningProcess+LR: not measured ({answer['error']})")
        print(f"  speed ratio: no optbinning figure; ours took {ours_s:.1f} s")
        return
    ob_s = answer["fit_seconds"]
    ob_auc = auc(yho, np.load(req["proba_out"]))
    print(
        f"  optbinning BinningProcess+LR: {ob_s:8.2f} s  holdout AUC {ob_auc:.4f}  "
        f"(optbinning {answer['versions']['optbinning']})"
    )
    print(
        f"  speed ratio optbinning/ours: {ob_s / ours_s:.2f}x (target >= 3x); "
        f"AUC ours - optbinning: {ours_auc - ob_auc:+.4f} (target >= 0)"
    )


def ours_scoring(
    sc: Scorecard, X: pd.DataFrame, use_kernel: bool
) -> tuple[str, Callable[[], Any], Any]:
    """What we time: (label, end-to-end call, kernel-only call or None)."""
    try:
        kernel = importlib.import_module("clearline.core.scoring.kernel") if use_kernel else None
    except ImportError:
        kernel = None
    if kernel is None:
        return (
            "score_points + explain_indices(top=4)",
            lambda: (sc.score_points(X), sc.explain_indices(X, 4)),
            None,
        )
    plan = kernel.compile_plan(sc)
    plan.score(X.iloc[:1000], top=4)  # warm-up (JIT compile, caches)
    M = plan.encode(X)
    # plan.score encodes the frame's columns and runs the kernel on them: the documented
    # way from a frame (plan.encode first copies every column into one matrix).
    return (
        "kernel plan.score(X, top=4) (encode + run)",
        lambda: plan.score(X, top=4),
        lambda: plan.run(M, top=4),
    )


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def score_part(
    fit_rows: int,
    rows: int,
    seed: int,
    repeat: int,
    timeout: float,
    tmp: Path,
    use_kernel: bool = True,
) -> None:
    Xf, yf = peers.make_data(fit_rows, seed, n_num=15, n_cat=5)
    Xs, _ = peers.make_data(rows, seed + 1, n_num=15, n_cat=5)
    write(tmp / "score_train.parquet", Xf, yf)
    write(tmp / "score_rows.parquet", Xs)
    Xs = pd.read_parquet(tmp / "score_rows.parquet")  # the very file the peer reads
    if hasattr(os, "sched_setaffinity"):
        # One core for us and for the peer worker (children inherit the affinity).
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    threads = {k: os.environ.get(k) for k in peers.ONE_THREAD}
    print(
        f"score: fit on {fit_rows:,} rows x 20 features, score {rows:,} rows; "
        f"cpus {sorted(os.sched_getaffinity(0))}, {threads}"
    )

    sc = Scorecard(iv_min=0.0).fit(Xf, yf)  # iv_min=0: keep the full 20-feature size
    label, end_to_end, kernel_only = ours_scoring(sc, Xs, use_kernel)
    ours_s = best_of(end_to_end, repeat)
    ours_rps = rows / ours_s
    print(
        f"  clearline {label}: {ours_s:.3f} s = {ours_rps:,.0f} rows/s "
        f"({len(sc.features_)} features; target >= 5,000,000)"
    )
    kern_rps = None
    if kernel_only is not None:
        kern_rps = rows / best_of(kernel_only, repeat)
        print(f"  clearline plan.run only (pre-encoded matrix): {kern_rps:,.0f} rows/s")

    req = {
        "train": str(tmp / "score_train.parquet"),
        "score": str(tmp / "score_rows.parquet"),
        "repeat": repeat,
    }
    answer = peers.run_peer("score", req, tmp, timeout=timeout, env=peers.ONE_THREAD)
    if "error" in answer:
        print(f"  optbinning Scorecard.score: not measured ({answer['error']})")
        return
    ob_rps = rows / min(answer["seconds"])
    print(
        f"  optbinning Scorecard.score (points only): {min(answer['seconds']):.3f} s = "
        f"{ob_rps:,.0f} rows/s ({answer['n_features']} features)"
    )
    print(f"  scoring ratio ours(end-to-end)/optbinning: {ours_rps / ob_rps:.1f}x (target >= 10x)")
    if kern_rps is not None:
        print(f"  scoring ratio ours(plan.run only)/optbinning: {kern_rps / ob_rps:.1f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["fit", "score", "all"], default="all")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--score-fit-rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--peer-timeout", type=float, default=900.0)
    ap.add_argument(
        "--no-kernel",
        action="store_true",
        help="time score_points + explain_indices even if core.scoring.kernel exists",
    )
    args = ap.parse_args()
    if args.part in ("fit", "all"):
        with tempfile.TemporaryDirectory(prefix="clearline-peers-") as tmp:
            fit_part(args.rows, args.seed, args.peer_timeout, Path(tmp))
    if args.part in ("score", "all"):
        if all(os.environ.get(k) == "1" for k in peers.ONE_THREAD):
            with tempfile.TemporaryDirectory(prefix="clearline-peers-") as tmp:
                score_part(
                    args.score_fit_rows,
                    args.score_rows,
                    args.seed,
                    args.repeat,
                    args.peer_timeout,
                    Path(tmp),
                    use_kernel=not args.no_kernel,
                )
        else:
            # Thread pools are sized at import: only a fresh process gets one thread.
            keep = ("score_rows", "score_fit_rows", "repeat", "seed", "peer_timeout")
            opts = [f"--{k.replace('_', '-')}={getattr(args, k)}" for k in keep]
            opts += ["--no-kernel"] if args.no_kernel else []
            cmd = [sys.executable, __file__, *opts, "--part=score"]
            subprocess.run(cmd, env={**os.environ, **peers.ONE_THREAD}, check=True)


if __name__ == "__main__":
    main()
