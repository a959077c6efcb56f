"""Use case: train and validate the scorecard at an as-of date, write its artefact."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from clearline.core.features import build_features
from clearline.core.labels import default_labels, observation_date
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.artefact import save_model
from clearline.core.scoring.metrics import auc, brier, gini, ks
from clearline.core.scoring.scorecard import Scorecard

# Features a scorecard may use. Identifiers, the current limit and status are left out on
# purpose: they describe the lender's past decisions, not the borrower's behaviour.
CANDIDATE_FEATURES: tuple[str, ...] = (
    "account_age_days",
    "dpd_now",
    "dpd_worst",
    "on_time_ratio",
    "utilisation",
    "monthly_income",
    "income_verified",
    "employment",
    "age",
    "debt_to_income",
    "drawdowns_90d",
    "repayments_90d",
    "days_since_drawdown",
    "transfer_out_share_7d",
    "hours_to_transfer_out",
    "new_counterparties_30d",
    "inquiries_30d",
    "inquiries_90d",
    "city_changes_180d",
    "linked_arrears_share",
    "n_links",
)


@dataclass(frozen=True)
class TrainResult:
    scorecard: Scorecard
    artefact: dict
    y_test: np.ndarray
    pd_test: np.ndarray
    score_test: np.ndarray


def split_borrowers(borrower_ids: pl.Series, *, test_share: float, seed: int) -> pl.Series:
    """Deterministic out-of-sample split by borrower, so no borrower (or one of their
    accounts) is on both sides. Returns a boolean Series: True = test."""
    unique = np.sort(borrower_ids.unique().to_numpy().astype(str))
    is_test = np.random.default_rng(seed).random(unique.size) < test_share
    lookup = pl.DataFrame({"borrower_id": unique, "_test": is_test})
    return (
        pl.DataFrame({"borrower_id": borrower_ids.cast(pl.String)})
        .join(lookup, on="borrower_id", how="left")
        .get_column("_test")
    )


def fingerprint(frame: pl.DataFrame) -> str:
    """Content fingerprint of the training table: same data, same fingerprint."""
    canonical = frame.select(sorted(frame.columns)).sort(sorted(frame.columns)).write_csv()
    return hashlib.sha256(canonical.encode()).hexdigest()


def train(
    portfolio: Portfolio,
    as_of: date,
    out_dir: Path,
    *,
    created_at: datetime,
    seed: int = 0,
    test_share: float = 0.3,
    horizon_months: int = 12,
) -> TrainResult:
    """Fit on accounts observed `horizon_months` before `as_of`, labelled by what
    happened up to `as_of`, and validate on borrowers the model never saw."""
    obs = observation_date(as_of, horizon_months)
    labels = default_labels(portfolio, as_of, horizon_months=horizon_months)
    if labels.height == 0:
        raise ValueError(
            f"no account was open on the observation date {obs} "
            f"({horizon_months} months before {as_of}); the portfolio is too short to train"
        )
    table = build_features(portfolio, obs).join(labels, on="account_id", how="inner")
    y_all = table.get_column("default").cast(pl.Int8).to_numpy()
    if y_all.min() == y_all.max():
        raise ValueError(f"every training account has default={bool(y_all[0])}; cannot train")
    is_test = split_borrowers(table.get_column("borrower_id"), test_share=test_share, seed=seed)
    train_t, test_t = table.filter(~is_test), table.filter(is_test)
    X_train = train_t.select(CANDIDATE_FEATURES)
    y_train = train_t.get_column("default").cast(pl.Int8).to_numpy()
    X_test = test_t.select(CANDIDATE_FEATURES)
    y_test = test_t.get_column("default").cast(pl.Int8).to_numpy()
    if y_test.min() == y_test.max() or y_train.min() == y_train.max():
        raise ValueError("the train/test split left one side without both outcomes")

    model = Scorecard(random_state=seed).fit(X_train, y_train)
    pd_test = model.predict_proba(X_test)[:, 1]
    score_test = model.score_points(X_test)
    metrics = {
        "auc": round(auc(y_test, pd_test), 4),
        "ks": round(ks(y_test, pd_test), 4),
        "gini": round(gini(y_test, pd_test), 4),
        "brier": round(brier(y_test, pd_test), 5),
        "n_train": int(y_train.size),
        "n_test": int(y_test.size),
        "default_rate_train": round(float(y_train.mean()), 4),
        "default_rate_test": round(float(y_test.mean()), 4),
    }
    meta = {
        "created_at": created_at.isoformat(),
        "as_of": as_of.isoformat(),
        "observation_date": obs.isoformat(),
        "label": f"90+ days past due within {horizon_months} months after the observation date",
        "candidates": list(CANDIDATE_FEATURES),
        "features": list(model.features_),
        "split": {"by": "borrower_id", "test_share": test_share, "seed": seed},
        "training_fingerprint": fingerprint(train_t.select("account_id", "default")),
        "metrics": metrics,
    }
    artefact = save_model(out_dir, model, meta)
    return TrainResult(model, artefact, y_test, pd_test, score_test)


def summary(result: TrainResult) -> dict:
    m = result.artefact["meta"]["metrics"]
    return {
        "model_version": result.artefact["model_version"],
        "auc": m["auc"],
        "ks": m["ks"],
        "gini": m["gini"],
        "brier": m["brier"],
        "n_train": m["n_train"],
        "n_test": m["n_test"],
        "features": result.artefact["meta"]["features"],
    }


def dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)
