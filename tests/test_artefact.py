"""Serialisation: to_dict/from_dict and the hashed model.json artefact."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import polars as pl
import pytest

from clearline import Scorecard
from clearline.core.scoring.artefact import (
    MODEL_FILE,
    ModelArtefactError,
    content_hash,
    load_model,
    save_model,
)


@pytest.fixture(scope="module")
def model() -> tuple[Scorecard, pd.DataFrame]:
    rng = np.random.default_rng(11)
    n = 2500
    x = rng.normal(size=n)
    grade = rng.choice(["A", "B", "C", "D"], n, p=[0.4, 0.3, 0.2, 0.1])
    logit = -1 + 1.3 * x + np.select([grade == "C", grade == "D"], [0.5, 1.2], 0.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x[rng.random(n) < 0.05] = np.nan
    X = pd.DataFrame({"x": x, "grade": grade, "flag": rng.random(n) < 0.3})
    return Scorecard(categorical=["grade"]).fit(X, y), X


def _probe(X: pd.DataFrame) -> pd.DataFrame:
    """Training rows plus an unseen category and missing values."""
    extra = pd.DataFrame({"x": [np.nan, 1e9], "grade": ["Z", None], "flag": [True, False]})
    return pd.concat([X, extra], ignore_index=True)


def _same_predictions(a: Scorecard, b: Scorecard, X: pd.DataFrame) -> None:
    assert np.array_equal(a.score_points(X), b.score_points(X))
    assert np.array_equal(a.predict_proba(X), b.predict_proba(X))
    assert np.array_equal(a.explain_indices(X, 3)[0], b.explain_indices(X, 3)[0])
    pd.testing.assert_frame_equal(a.points_table(), b.points_table())


def test_to_dict_is_json_safe_and_from_dict_predicts_identically(model) -> None:
    sc, X = model
    d = json.loads(json.dumps(sc.to_dict(), allow_nan=False))
    back = Scorecard.from_dict(d)
    _same_predictions(sc, back, _probe(X))
    assert back.get_params() == sc.get_params()
    assert back.features_ == sc.features_ and back.iv_ == sc.iv_


def test_from_dict_refuses_something_that_is_not_a_scorecard() -> None:
    with pytest.raises(ValueError, match="not a serialised Scorecard"):
        Scorecard.from_dict({"format": "pickle"})


def test_save_and_load_predict_identically_and_carry_the_meta(model, tmp_path) -> None:
    sc, X = model
    meta = {"created_at": "2025-01-31T00:00:00+00:00", "metrics": {"auc": np.float64(0.8)}}
    doc = save_model(tmp_path / "m", sc, meta)
    back, loaded = load_model(tmp_path / "m")
    _same_predictions(sc, back, _probe(X))
    assert loaded["model_version"] == doc["model_version"]
    assert loaded["created_at"] == "2025-01-31T00:00:00+00:00"
    assert loaded["meta"] == {"metrics": {"auc": 0.8}}
    assert loaded["schema_version"] == 2 and loaded["kind"] == "scorecard"


def test_the_model_version_is_the_hash_of_everything_else(model, tmp_path) -> None:
    sc, _ = model
    doc = save_model(tmp_path, sc, {"created_at": "2025-01-31"})
    body = {k: v for k, v in doc.items() if k not in ("content_hash", "model_version")}
    assert doc["content_hash"] == content_hash(body)
    assert doc["model_version"] == "sc-" + doc["content_hash"][:12]
    again = save_model(tmp_path / "again", sc, {"created_at": "2025-01-31"})
    assert again["model_version"] == doc["model_version"]  # deterministic
    later = save_model(tmp_path / "later", sc, {"created_at": "2025-02-28"})
    assert later["model_version"] != doc["model_version"]


def test_a_tampered_model_file_is_refused_naming_the_file(model, tmp_path) -> None:
    sc, _ = model
    save_model(tmp_path, sc, {})
    path = tmp_path / MODEL_FILE
    doc = json.loads(path.read_text())
    feature = doc["model"]["features"][0]
    doc["model"]["points"][feature][0] += 50.0  # a quiet edit of one bin's points
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelArtefactError, match=rf"{MODEL_FILE}.*content_hash"):
        load_model(tmp_path)


def test_an_unknown_schema_version_or_missing_file_is_refused(model, tmp_path) -> None:
    sc, _ = model
    with pytest.raises(ModelArtefactError, match="not found"):
        load_model(tmp_path / "nowhere")
    save_model(tmp_path, sc, {})
    path = tmp_path / MODEL_FILE
    doc = json.loads(path.read_text())
    doc["schema_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelArtefactError, match="unknown schema_version 99"):
        load_model(tmp_path)
    path.write_text("{not json")
    with pytest.raises(ModelArtefactError, match="not valid JSON"):
        load_model(tmp_path)


def test_a_loaded_model_scores_a_polars_frame_like_the_pandas_one(model, tmp_path) -> None:
    sc, X = model
    save_model(tmp_path, sc, {})
    back, _ = load_model(tmp_path)
    assert np.allclose(back.score_points(pl.from_pandas(X)), sc.score_points(X))


def test_a_calibrated_challenger_round_trips_with_its_own_version_prefix(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    from clearline.core.scoring.calibration import Calibrator
    from clearline.core.scoring.gbm import GBMChallenger

    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.choice(["x", "y", "z"], 3000)})
    y = (rng.random(3000) < 1 / (1 + np.exp(-(X["a"] + (X["b"] == "z"))))).astype(int)
    gbm = GBMChallenger(n_estimators=30, random_state=0).fit(X[:2000], y[:2000])
    cal = Calibrator(method="platt").fit(gbm.score_points(X[2000:]), y[2000:])
    doc = save_model(tmp_path, gbm, {}, calibrator=cal)
    assert doc["model_version"].startswith("gbm-") and doc["calibration"]["chosen"] == "platt"
    loaded, _ = load_model(tmp_path)
    assert np.allclose(loaded.predict_proba(X)[:, 1], cal.transform(gbm.score_points(X)))
    assert np.array_equal(loaded.score_points(X), gbm.score_points(X))
