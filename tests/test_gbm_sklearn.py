"""The GBM challenger honours the scikit-learn estimator contract."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from clearline.core.scoring.gbm import GBMChallenger


@parametrize_with_checks([GBMChallenger(n_estimators=30)])
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
    m = GBMChallenger(n_estimators=40, monotonic={"x": "ascending"}, random_state=3).fit(X, y)
    twin = clone(m)
    assert twin.get_params() == m.get_params()
    assert not hasattr(twin, "booster_")
    twin.set_params(num_leaves=4)
    assert twin.num_leaves == 4 and m.num_leaves == 8


def test_cross_val_score_with_roc_auc_works_on_a_mixed_frame() -> None:
    X, y = _mixed()
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    scores = cross_val_score(GBMChallenger(n_estimators=60), X, y, cv=cv, scoring="roc_auc")
    assert scores.shape == (3,)
    assert np.all(scores > 0.7)


def test_the_same_seed_gives_the_same_model() -> None:
    X, y = _mixed(600)
    kw = {"n_estimators": 40, "subsample": 0.7, "colsample": 0.5, "random_state": 7}
    a = GBMChallenger(**kw).fit(X, y).predict_proba(X)
    b = GBMChallenger(**kw).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)


def test_string_class_labels_keep_the_second_class_as_the_event() -> None:
    X, y = _mixed(800)
    labels = np.where(y == 1, "bad", "good")  # sorted: classes_ = [bad, good]
    with pytest.warns(UserWarning, match="y == 'good' as the event"):
        m = GBMChallenger(n_estimators=40).fit(X, labels)
    assert list(m.classes_) == ["bad", "good"]
    p_good = m.predict_proba(X)[:, 1]
    assert p_good[labels == "good"].mean() > p_good[labels == "bad"].mean()
