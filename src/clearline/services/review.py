"""Use cases: score and decide every account (review), compare two policies (what-if)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from clearline.core.decide import decide
from clearline.core.features import build_features
from clearline.core.policy import Policy
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.scorecard import Scorecard

ENGINES = ("local",)


def check_engine(engine: str) -> None:
    if engine == "spark":
        raise ValueError(
            "the spark engine is not available in this version; use --engine local "
            "(it gives the decisions the spark engine will)"
        )
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of: local, spark")


def score_accounts(features: pl.DataFrame, model: Scorecard, *, top: int = 4) -> pl.DataFrame:
    """Score, PD and the model's own ranked reasons (features that lost points)."""
    X = features  # the model looks its own columns up by name
    pd_ = model.predict_proba(X)[:, 1]
    points = model.score_points(X)
    idx, _lost = model.explain_indices(X, top)
    names = np.asarray([*model.features_, None], dtype=object)
    ranked = names[np.where(idx < 0, len(model.features_), idx)]
    reasons = pl.DataFrame(
        {f"r{i}": pl.Series(ranked[:, i], dtype=pl.String) for i in range(ranked.shape[1])}
    ).select(pl.concat_list(pl.all()).list.drop_nulls().alias("score_reasons"))
    return pl.DataFrame(
        {
            "account_id": features.get_column("account_id"),
            "score": pl.Series(points, dtype=pl.Float64),
            "pd": pl.Series(pd_, dtype=pl.Float64),
        }
    ).with_columns(reasons.get_column("score_reasons"))


def review_decisions(
    portfolio: Portfolio,
    as_of: date,
    model: Scorecard,
    model_version: str,
    policy: Policy,
    *,
    features: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Decide every account of the portfolio at `as_of`."""
    if features is None:
        features = build_features(portfolio, as_of)
    scored = score_accounts(features, model)
    return decide(features, scored, policy, model_version=model_version, as_of=as_of)


def write_table(frame: pl.DataFrame, out: Path) -> None:
    """Write Parquet or CSV by extension; the file appears whole or not at all."""
    suffix = out.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"output file must end in .parquet or .csv: {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    if suffix == ".parquet":
        frame.write_parquet(tmp)
    else:
        frame.write_csv(tmp)
    tmp.replace(out)
