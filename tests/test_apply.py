"""Applying a model to accounts: the fast path agrees with the models' own methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from clearline.core.scoring.apply import reason_names, score_accounts
from clearline.core.scoring.calibrated import calibrate
from clearline.core.scoring.gbm import GBMChallenger
from clearline.core.scoring.scorecard import Scorecard


@pytest.fixture(scope="module")
def data() -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(4)
    n = 4000
    frame = pl.DataFrame(
        {
            "account_id": [f"A{i:05d}" for i in range(n)],
            "dpd_worst": rng.integers(0, 60, n).astype(float),
            "utilisation": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
            "employment": rng.choice(["salaried", "student", "other"], n),
        }
    )
    logit = -3 + frame["dpd_worst"].to_numpy() / 20 + np.nan_to_num(frame["utilisation"]) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame, y


@pytest.mark.parametrize("kind", ["scorecard", "gbm"])
def test_scores_pds_and_reasons_equal_the_models_own_methods(data, kind: str) -> None:
    frame, y = data
    X = frame.drop("account_id")
    base = (Scorecard() if kind == "scorecard" else GBMChallenger(n_estimators=40)).fit(
        X[:3000], y[:3000]
    )
    model = calibrate(base, X[3000:], y[3000:], method="isotonic")
    got = score_accounts(frame, model)
    assert np.array_equal(got["score"].to_numpy(), base.score_points(X))
    assert np.allclose(got["pd"].to_numpy(), model.predict_proba(X)[:, 1])
    expected = base.explain(X.to_pandas(), top=4)
    for row, reasons in zip(expected.itertuples(index=False), got["score_reasons"], strict=True):
        assert [r for r in row if r is not None] == list(reasons)


def test_an_empty_table_scores_to_an_empty_table(data) -> None:
    frame, y = data
    model = Scorecard().fit(frame.drop("account_id"), y)
    out = score_accounts(frame.head(0), model)
    assert out.height == 0 and out.schema["score_reasons"] == pl.List(pl.String)


def test_reasons_name_only_features_in_the_model(data) -> None:
    frame, y = data
    model = Scorecard().fit(pd.DataFrame(frame.drop("account_id").to_pandas()), y)
    names = set(score_accounts(frame, model)["score_reasons"].explode().drop_nulls())
    assert names <= set(model.features_)


def test_a_refitted_scorecard_is_scored_with_its_new_bins_not_a_cached_plan(data) -> None:
    frame, y = data
    X = frame.drop("account_id")
    model = Scorecard().fit(X[:2000], y[:2000])
    first = score_accounts(frame, model)["score"].to_numpy()
    model.fit(X[2000:], 1 - y[2000:])  # other rows, opposite outcome: other points
    again = score_accounts(frame, model)["score"].to_numpy()
    assert not np.allclose(first, again)
    np.testing.assert_array_equal(again, model.score_points(X))


def test_reason_names_keep_each_rows_order_and_leave_out_every_minus_one() -> None:
    names = ["dpd", "util", "inquiries"]
    ranked = np.array([[1, 0, -1, -1], [-1, -1, -1, -1], [2, -1, 0, 1], [0, 1, 2, -1]], np.int16)
    got = reason_names(ranked, names)
    assert got.dtype == pl.List(pl.String)
    assert got.to_list() == [["util", "dpd"], [], ["inquiries", "dpd", "util"], names]
    assert reason_names(np.empty((0, 4), np.int16), names).to_list() == []


def test_without_names_the_table_is_the_same_but_for_the_name_lists(data) -> None:
    frame, y = data
    model = Scorecard().fit(frame.drop("account_id"), y)
    full = score_accounts(frame, model)
    lean = score_accounts(frame, model, names=False)
    assert "score_reasons" not in lean.columns
    assert lean.equals(full.drop("score_reasons"))
