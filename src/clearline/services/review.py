"""Use cases: score and decide every account (review), compare two policies (what-if)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from clearline.core.decide import decide
from clearline.core.features import build_features
from clearline.core.policy import Policy
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.apply import score_accounts


def review_decisions(
    portfolio: Portfolio,
    as_of: date,
    model: Any,
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
