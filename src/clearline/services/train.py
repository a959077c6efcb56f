"""Use case: train, calibrate and validate the champion scorecard and its challenger.

Samples, all labelled with the contract's default (90+ dpd within 12 months):

- development: observed `horizon + oot_months` months before `as_of`, split by borrower
  into train and test (out-of-sample: borrowers the model never saw);
- out-of-time: the test borrowers observed `horizon` months before `as_of` (a later
  date, later outcomes); skipped, and said so, when the portfolio is too short;
- recent: every account at `as_of`, unlabelled, for the stability of score and features.

PDs are calibrated on out-of-fold points of the training rows (cross-fitting), so
calibration never sees a row its model trained on and no row is set aside for it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from clearline.core.features import build_features
from clearline.core.labels import default_labels, observation_date
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.artefact import save_model
from clearline.core.scoring.calibrated import CalibratedModel, calibrate_cv
from clearline.core.scoring.gbm import GBMChallenger
from clearline.core.scoring.scorecard import Scorecard
from clearline.core.scoring.validation import compare_models, stability_summary, validate_model
from clearline.report.model_input import ModelReportInput, Sample

# Features a model may use. Identifiers, the current limit and status are left out on
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
MIN_COHORT = 300  # fewer labelled accounts than this cannot carry a development sample


@dataclass(frozen=True)
class TrainResult:
    scorecard: Scorecard
    champion: CalibratedModel
    challenger: CalibratedModel | None
    artefact: dict
    challenger_artefact: dict | None
    report_input: ModelReportInput


def split_borrowers(borrower_ids: pl.Series, *, test_share: float, seed: int) -> pl.Series:
    """Deterministic split by borrower (True = test): no borrower is on both sides, and
    the same borrower lands on the same side in every cohort."""

    def side(b: str) -> bool:
        digest = hashlib.sha256(f"{seed}:{b}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < test_share

    unique = borrower_ids.cast(pl.String).unique()
    lookup = pl.DataFrame({"borrower_id": unique, "_test": [side(b) for b in unique]})
    return (
        pl.DataFrame({"borrower_id": borrower_ids.cast(pl.String)})
        .join(lookup, on="borrower_id", how="left", maintain_order="left")
        .get_column("_test")
    )


def fingerprint(frame: pl.DataFrame) -> str:
    """Content fingerprint of a training table: same data, same fingerprint."""
    canonical = frame.select(sorted(frame.columns)).sort(sorted(frame.columns)).write_csv()
    return hashlib.sha256(canonical.encode()).hexdigest()


def labelled(portfolio: Portfolio, label_until: date, horizon_months: int) -> pl.DataFrame:
    """Features at the observation date joined to outcomes known by `label_until`."""
    labels = default_labels(portfolio, label_until, horizon_months=horizon_months)
    obs = observation_date(label_until, horizon_months)
    return build_features(portfolio, obs).join(labels, on="account_id", how="inner")


def _xy(frame: pl.DataFrame) -> tuple[pl.DataFrame, Any]:
    return frame.select(CANDIDATE_FEATURES), frame.get_column("default").cast(pl.Int8).to_numpy()


def _usable(frame: pl.DataFrame) -> bool:
    y = frame.get_column("default")
    return frame.height >= MIN_COHORT and 0 < int(y.sum()) < frame.height


def _shift(day: date, months: int) -> date:
    return observation_date(day, months) if months else day


def train(
    portfolio: Portfolio,
    as_of: date,
    out_dir: Path,
    *,
    created_at: datetime,
    seed: int = 0,
    test_share: float = 0.3,
    horizon_months: int = 12,
    oot_months: int = 6,
    challenger: bool = True,
) -> TrainResult:
    """Fit on the development cohort, validate out of sample and out of time, write the
    champion to `out_dir/model.json` and the challenger to `out_dir/challenger/`."""
    oot = labelled(portfolio, as_of, horizon_months)
    dev_until = _shift(as_of, oot_months)
    dev = labelled(portfolio, dev_until, horizon_months) if oot_months else oot
    oot_note = "" if oot_months else "not requested"
    if not _usable(dev):  # too short a history for a separate out-of-time cohort
        dev, dev_until = oot, as_of
        oot_note = (
            f"not available: under {MIN_COHORT} labelled accounts {oot_months} months earlier"
        )
    if not _usable(dev):
        raise ValueError(
            f"too few labelled accounts to train at {as_of}: {dev.height} observed on "
            f"{observation_date(as_of, horizon_months)} (need {MIN_COHORT} with both outcomes)"
        )
    is_test = split_borrowers(dev.get_column("borrower_id"), test_share=test_share, seed=seed)
    train_t, test_t = dev.filter(~is_test), dev.filter(is_test)
    X_train, y_train = _xy(train_t)
    X_test, y_test = _xy(test_t)
    samples = {"train": (X_train, y_train), "test": (X_test, y_test)}
    if not oot_note:
        oot_test = oot.filter(
            split_borrowers(oot.get_column("borrower_id"), test_share=test_share, seed=seed)
        )
        samples["oot"] = _xy(oot_test)
    if min(int(y.sum()) for _, y in samples.values()) == 0:
        raise ValueError("a validation sample has no defaults; the portfolio is too small")

    champion = calibrate_cv(Scorecard(random_state=seed), X_train, y_train, random_state=seed)
    rival = (
        calibrate_cv(GBMChallenger(random_state=seed), X_train, y_train, random_state=seed)
        if challenger
        else None
    )
    recent = build_features(portfolio, as_of).filter(pl.col("status") != "closed")
    validation = validate_model(champion, samples)
    meta: dict[str, Any] = {
        "created_at": created_at.isoformat(),
        "as_of": as_of.isoformat(),
        "observation_date": observation_date(dev_until, horizon_months).isoformat(),
        "oot_observation_date": (
            None if oot_note else observation_date(as_of, horizon_months).isoformat()
        ),
        "oot_note": oot_note,
        "label": f"90+ days past due within {horizon_months} months after the observation date",
        "candidates": list(CANDIDATE_FEATURES),
        "split": {"by": "borrower_id", "test_share": test_share, "seed": seed},
        "training_fingerprint": fingerprint(train_t.select("account_id", "default")),
        "validation": validation,
        "stability": stability_summary(champion.model, X_train, recent.select(CANDIDATE_FEATURES)),
        "calibration": {"method": champion.calibrator.chosen_, "fitted_on": "out-of-fold points"},
        "metrics": _headline(validation, y_train, y_test),
    }
    challenger_doc = None
    if rival is not None:
        comparison = {
            name: compare_models(champion, rival, X, y, n_boot=200, seed=seed)
            for name, (X, y) in samples.items()
            if name != "train"
        }
        meta["champion_challenger"] = comparison
        challenger_doc = save_model(
            out_dir / "challenger",
            rival.model,
            {
                **meta,
                "features": list(rival.model.features_),
                "role": "challenger",
                "validation": validate_model(rival, samples),
            },
            calibrator=rival.calibrator,
        )
    artefact = save_model(
        out_dir,
        champion.model,
        {**meta, "features": list(champion.model.features_), "role": "champion"},
        calibrator=champion.calibrator,
    )
    report_input = ModelReportInput(
        artefact=artefact,
        scorecard=champion.model,
        samples={name: Sample(y, X) for name, (X, y) in samples.items()},
        recent=recent.select(CANDIDATE_FEATURES),
        model=champion,
        challenger=rival,
        challenger_name="LightGBM challenger",
        approval_state="draft",
        calibration=artefact["meta"]["calibration"],
        seed=seed,
    )
    return TrainResult(champion.model, champion, rival, artefact, challenger_doc, report_input)


def _headline(validation: dict, y_train: Any, y_test: Any) -> dict[str, Any]:
    test = validation["test"]
    out = {k: _round(test[k]) for k in ("auc", "ks", "gini", "brier")}
    out |= {"n_train": int(y_train.size), "n_test": int(y_test.size)}
    if "oot" in validation:
        out |= {f"{k}_oot": _round(validation["oot"][k]) for k in ("auc", "ks", "gini", "brier")}
    return out


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


def summary(result: TrainResult) -> dict:
    m = result.artefact["meta"]["metrics"]
    out = {
        "model_version": result.artefact["model_version"],
        **{k: m[k] for k in ("auc", "ks", "gini", "brier", "n_train", "n_test")},
        "auc_oot": m.get("auc_oot"),
        "calibration": result.artefact["meta"]["calibration"]["method"],
        "features": result.artefact["meta"]["features"],
    }
    if result.challenger_artefact is not None:
        test = result.artefact["meta"]["champion_challenger"]["test"]
        out["challenger"] = {
            "model_version": result.challenger_artefact["model_version"],
            "auc": _round(result.challenger_artefact["meta"]["validation"]["test"]["auc"]),
            "auc_diff_ci95": [_round(v) for v in test["ci95"]],
        }
    return out
