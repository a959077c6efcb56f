"""The Scorecard honours the scikit-learn estimator contract."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from clearline import Scorecard

#: Checks the Scorecard fails by design, with why.
_BY_DESIGN = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample weights are scaled to a mean of 1 (only their ratios matter), so a weight "
        "of 3 is not three copies of a row: the binning's tests see the rows there are, "
        "and the bagged members draw rows, not copies"
    ),
}


@parametrize_with_checks([Scorecard()], expected_failed_checks=lambda _: _BY_DESIGN)
def test_scikit_learn_estimator_checks_pass(estimator, check) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


def _mixed(n: int = 1500) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    grade = rng.choice(list("ABCD"), n)
    logit = 1.5 * x + (grade == "D") * 1.0 - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    x[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame({"x": x, "grade": grade}), y


def test_clone_copies_parameters_but_not_the_fit() -> None:
    X, y = _mixed()
    sc = Scorecard(max_bins=5, C=0.5, categorical=["grade"]).fit(X, y)
    twin = clone(sc)
    assert twin.get_params() == sc.get_params()
    assert not hasattr(twin, "features_")
    twin.set_params(max_bins=3)
    assert twin.max_bins == 3 and sc.max_bins == 5


def test_cross_val_score_with_roc_auc_works_on_a_mixed_frame() -> None:
    X, y = _mixed()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(Scorecard(), X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (3,)
    assert np.all(scores > 0.7)


@pytest.mark.parametrize("param", ["max_bins", "min_bin_share", "C", "pdo"])
def test_init_only_stores_its_arguments(param: str) -> None:
    value = {"max_bins": 7, "min_bin_share": 0.1, "C": 2.0, "pdo": 40.0}[param]
    assert Scorecard(**{param: value}).get_params()[param] == value


@pytest.mark.parametrize("dtype", ["string[python]", "string[pyarrow]", "category"])
def test_a_string_column_scores_alike_whatever_its_pandas_dtype(dtype: str) -> None:
    X, y = _mixed()
    X.loc[X.index[::17], "grade"] = None
    base = Scorecard(bagging=1).fit(X.astype({"grade": object}), y)
    typed = X.astype({"grade": dtype})
    model = Scorecard(bagging=1).fit(typed, y)
    assert model.points_table().equals(base.points_table())
    np.testing.assert_array_equal(model.score_points(typed), base.score_points(X))
