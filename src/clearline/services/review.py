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
    stress_index: float | None = None,
) -> pl.DataFrame:
    """Decide every account of the portfolio at `as_of`."""
    if features is None:
        features = build_features(portfolio, as_of)
    scored = score_accounts(features, model, names=False)
    return decide(
        features,
        scored,
        policy,
        model_version=model_version,
        as_of=as_of,
        score_features=list(model.features_),  # reasons as indices: no per-row strings
        stress_index=stress_index,
    )


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


def split_by_arm(
    portfolio: Portfolio,
    champion: pl.DataFrame,
    challenger: pl.DataFrame,
    *,
    experiment: str,
    share: float,
) -> pl.DataFrame:
    """Champion/challenger: each household's accounts take the decisions of its arm.

    Both tables decide every account (with any engine); the arm comes from a stable hash
    of the experiment name and the household (the borrower when alone), so a household is
    never split across two policies' caps and a re-run puts everyone in the same arm.
    """
    from clearline.core.policy.experiment import pick_arms

    households = (
        champion.select("account_id", "borrower_id")
        .join(
            portfolio.borrowers.select("borrower_id", "household_id"),
            on="borrower_id",
            how="left",
            maintain_order="left",
        )
        .select(pl.coalesce("household_id", "borrower_id"))
        .to_series()
    )
    return pick_arms(champion, challenger, households, experiment=experiment, share=share)
