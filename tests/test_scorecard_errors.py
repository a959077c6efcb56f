"""Bad input to the Scorecard gives a clear error, not a crash deep inside numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.exceptions import NotFittedError

from clearline import Scorecard


def _data(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * x))).astype(int)
    return pd.DataFrame({"x": x, "c": np.where(x > 0, "hi", "lo")}), y


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (np.zeros(300), "only 1 class"),
        (np.arange(300) % 3, "Only binary classification is supported"),
        (np.linspace(0, 1, 300), "continuous"),
        (np.where(np.arange(300) % 2, 1.0, np.nan), "missing values"),
        (None, "target y is None"),
    ],
)
def test_a_target_that_is_not_binary_is_refused(y: object, message: str) -> None:
    X, _ = _data()
    with pytest.raises(ValueError, match=message):
        Scorecard().fit(X, y)


def test_empty_x_is_refused_whether_no_rows_or_no_columns() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="no rows"):
        Scorecard().fit(X.iloc[:0], y[:0])
    with pytest.raises(ValueError, match="0 feature"):
        Scorecard().fit(X[[]], y)


def test_x_and_y_of_different_lengths_are_refused() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="300 rows but y has 299"):
        Scorecard().fit(X, y[:-1])


def test_predicting_without_a_model_column_names_the_missing_column() -> None:
    X, y = _data()
    sc = Scorecard().fit(X, y)
    assert "x" in sc.features_
    with pytest.raises(ValueError, match=r"missing columns.*'x'"):
        sc.predict_proba(X.drop(columns=["x"]))


def test_text_in_a_numeric_feature_at_predict_time_names_the_column() -> None:
    X, y = _data()
    sc = Scorecard().fit(X, y)
    bad = X.assign(x=X["x"].astype(str).where(X.index > 0, "n/a"))
    with pytest.raises(ValueError, match="column 'x' must be numeric"):
        sc.score_points(bad)


def test_an_array_with_the_wrong_number_of_columns_is_refused() -> None:
    X, y = _data()
    sc = Scorecard().fit(X[["x"]].to_numpy(), y)
    with pytest.raises(ValueError, match="expecting 1 features"):
        sc.predict(np.zeros((3, 2)))


def test_using_an_unfitted_scorecard_raises_not_fitted() -> None:
    X, _ = _data()
    for method in ("predict_proba", "score_points", "explain"):
        with pytest.raises(NotFittedError):
            getattr(Scorecard(), method)(X)
    with pytest.raises(NotFittedError):
        Scorecard().points_table()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_bins": 0}, "max_bins"),
        ({"min_bin_share": 0.6}, "min_bin_share"),
        ({"monotonic": "up"}, "monotonic"),
        ({"C": 0.0}, "positive"),
        ({"categorical": ["nope"]}, "not in X"),
    ],
)
def test_invalid_parameters_are_reported_at_fit(params: dict, message: str) -> None:
    X, y = _data()
    with pytest.raises(ValueError, match=message):
        Scorecard(**params).fit(X, y)


def test_explain_needs_at_least_one_reason() -> None:
    X, y = _data()
    with pytest.raises(ValueError, match="top must be >= 1"):
        Scorecard().fit(X, y).explain(X, top=0)


def _dated() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = _data()
    return X.assign(opened=pd.date_range("2024-01-01", periods=len(X), freq="D")), y


@pytest.mark.parametrize(
    "convert",
    [
        lambda X: X,
        lambda X: pl.from_pandas(X),
        lambda X: X.assign(opened=X["opened"].dt.to_period("M")),
        lambda X: X.assign(opened=X["opened"] - X["opened"].min()),
    ],
    ids=["pandas datetime", "polars datetime", "period", "timedelta"],
)
def test_a_date_or_time_column_is_refused_by_name(convert: Any) -> None:
    """As categories its values would mostly be new at scoring time: fitted, never told."""
    X, y = _dated()
    with pytest.raises(ValueError, match=r"date or time columns \['opened'\]"):
        Scorecard().fit(convert(X), y)


def test_a_date_column_named_categorical_is_binned_as_categories() -> None:
    X, y = _dated()
    model = Scorecard(categorical=["opened"]).fit(X, y)
    assert "opened" in model.selection_
