"""The local engine: the whole portfolio in one process, with polars."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from clearline.core.features import build_features
from clearline.core.policy import Policy
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.scorecard import Scorecard
from clearline.services.review import review_decisions


def decide_local(
    portfolio: Portfolio,
    as_of: date,
    model: Scorecard,
    model_version: str,
    policies: Sequence[Policy],
    *,
    stress_index: float | None = None,
) -> list[pl.DataFrame]:
    """One decision table per policy, sorted by ``account_id``; features built once."""
    features = build_features(portfolio, as_of)
    return [
        review_decisions(
            portfolio, as_of, model, model_version, p, features=features, stress_index=stress_index
        )
        for p in policies
    ]
