"""What the model report needs, and the numbers it derives from it.

The train service fills a :class:`ModelReportInput`; :func:`prepare` scores the samples
and runs the validation (``core/scoring/validation.py``) once, so every section of the
report reads from the same JSON-safe results that can also go into the artefact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from clearline.core.scoring.validation import (
    compare_predictions,
    csi,
    ks_curve,
    predict_pd,
    psi_table,
    roc_points,
    validate_predictions,
)

INTENDED_USE = (
    "Ranks open credit-line accounts by their risk of default over the next 12 months, "
    "as one input of the periodic line review (keep, increase, decrease, freeze or "
    "close), next to the policy's rules and caps. Every score comes with reason codes "
    "(the features that cost most points)."
)
LIMITS = (
    "Not for new applicants: it only saw accounts already open on the observation date.",
    "Valid for the portfolio and period it was trained on; monitor score PSI and feature "
    "CSI and retrain when they move past 0.25.",
    "A probability of default, not a loss estimate: exposure and recovery are the policy's.",
    "Must not be used on features it was not trained with, or after the inputs change "
    "meaning (new product, new data source).",
)
SAMPLE_LABELS = {
    "train": "development (train)",
    "test": "out-of-sample (borrowers not seen)",
    "oot": "out-of-time (later observation date)",
}


@dataclass(frozen=True)
class Sample:
    """One labelled sample: features ``X`` and/or already computed ``pd`` / ``score``.

    ``pd`` and ``score`` are derived from ``X`` when not given; ``X`` is also what CSI
    and the challenger comparison need.
    """

    y: Any
    X: Any | None = None
    pd: Any | None = None
    score: Any | None = None


@dataclass(frozen=True)
class ModelReportInput:
    """Everything the model report shows.

    Parameters
    ----------
    artefact : the model document (``model.json``: model_version, content_hash, meta).
    scorecard : the fitted Scorecard (bins, WoE/IV, points).
    samples : named labelled samples; ``"train"`` (development), ``"test"``
        (out-of-sample) and ``"oot"`` (out-of-time) are recognised.
    recent : features of the recent (scoring) population, unlabelled, for PSI/CSI
        against the development sample; the ``"oot"`` sample's X when None.
    model : the model whose PDs are validated (e.g. the calibrated scorecard); the
        scorecard when None.
    challenger : an optional fitted challenger (``predict_proba``), compared with the
        champion on the ``holdout`` sample.
    approval_state : registry state (draft / approved / retired); None = not registered.
    calibration : ``{"method": ..., ...}`` describing the PD calibration; read from
        ``artefact["meta"]["calibration"]`` when None.
    """

    artefact: dict
    scorecard: Any
    samples: Mapping[str, Sample]
    recent: Any | None = None
    model: Any | None = None
    challenger: Any | None = None
    challenger_name: str = "challenger"
    champion_name: str = "scorecard"
    holdout: str = "test"
    development: str = "train"
    approval_state: str | None = None
    calibration: dict | None = None
    intended_use: str = INTENDED_USE
    limits: tuple[str, ...] = LIMITS
    n_boot: int = 200
    seed: int = 0


@dataclass
class Scored:
    """A sample with its predictions."""

    y: np.ndarray
    pd: np.ndarray
    score: np.ndarray | None
    X: Any | None


@dataclass
class Prepared:
    """The report's numbers (JSON-safe dicts) and the arrays its plots need."""

    inp: ModelReportInput
    scored: dict[str, Scored]
    validation: dict[str, dict]
    curves: dict[str, dict] = field(default_factory=dict)  # name -> {"roc", "ks"}
    score_psi: dict | None = None
    csi: list[dict] | None = None
    stability_note: str = ""
    comparison: dict | None = None
    challenger_roc: dict | None = None


def from_train_result(result: Any) -> ModelReportInput:
    """Adapter for the older ``TrainResult`` (test predictions only, no frames)."""
    return ModelReportInput(
        artefact=result.artefact,
        scorecard=result.scorecard,
        samples={"test": Sample(result.y_test, pd=result.pd_test, score=result.score_test)},
    )


def as_input(obj: Any) -> ModelReportInput:
    """A ModelReportInput, an object carrying one (``.report_input``) or a TrainResult."""
    if isinstance(obj, ModelReportInput):
        return obj
    inner = getattr(obj, "report_input", None)
    if isinstance(inner, ModelReportInput):
        return inner
    if hasattr(obj, "y_test") and hasattr(obj, "scorecard"):
        return from_train_result(obj)
    raise TypeError(f"cannot build a model report from {type(obj).__name__}")


def _score(inp: ModelReportInput, s: Sample) -> Scored:
    model = inp.model if inp.model is not None else inp.scorecard
    y = np.asarray(s.y).astype(np.float64)
    if s.pd is None and s.X is None:
        raise ValueError("a sample needs X or pd")
    pd_ = np.asarray(s.pd, dtype=np.float64) if s.pd is not None else predict_pd(model, s.X)
    score = s.score
    if score is None and s.X is not None and hasattr(inp.scorecard, "score_points"):
        score = inp.scorecard.score_points(s.X)
    if pd_.shape != y.shape:
        raise ValueError(f"pd has {pd_.size} values but y has {y.size}")
    return Scored(y, pd_, None if score is None else np.asarray(score, np.float64), s.X)


def prepare(inp: ModelReportInput) -> Prepared:
    """Score every sample and compute validation, curves, stability and comparison."""
    if not inp.samples:
        raise ValueError("the model report needs at least one labelled sample")
    scored = {name: _score(inp, s) for name, s in inp.samples.items()}
    out = Prepared(inp, scored, {n: validate_predictions(s.y, s.pd) for n, s in scored.items()})
    for name, s in scored.items():
        if out.validation[name]["auc"] is not None:
            out.curves[name] = {"roc": roc_points(s.y, s.pd), "ks": ks_curve(s.y, s.pd)}
    _stability(inp, scored, out)
    hold = scored.get(inp.holdout)
    if inp.challenger is not None and hold is not None and hold.X is not None:
        p_ch = predict_pd(inp.challenger, hold.X)
        out.comparison = compare_predictions(
            hold.y,
            hold.pd,
            p_ch,
            n_boot=inp.n_boot,
            seed=inp.seed,
            names=(inp.champion_name, inp.challenger_name),
        )
        out.challenger_roc = roc_points(hold.y, p_ch)
    return out


def _stability(inp: ModelReportInput, scored: dict[str, Scored], out: Prepared) -> None:
    dev = scored.get(inp.development)
    recent = inp.recent
    if recent is None and "oot" in scored:
        recent = scored["oot"].X
    if dev is None or recent is None:
        out.stability_note = (
            "Not computed: the report was given no development sample or no recent data."
        )
        return
    if dev.score is not None and hasattr(inp.scorecard, "score_points"):
        out.score_psi = psi_table(dev.score, inp.scorecard.score_points(recent))
    if dev.X is not None and hasattr(inp.scorecard, "binnings_"):
        out.csi = csi(dev.X, recent, list(inp.scorecard.features_), binner=inp.scorecard)
