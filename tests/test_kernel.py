"""The compiled scoring kernel gives exactly what the Scorecard's own methods give."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.exceptions import NotFittedError

from clearline import Scorecard
from clearline.core.scoring import kernel_numpy
from clearline.core.scoring.kernel import ScoringPlan, compile_plan


def make_data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Mixed frame: 5 numeric (with NaN and ties), 2 string (with None), 1 int-coded."""
    rng = np.random.default_rng(seed)
    cols: dict[str, object] = {}
    logit = np.full(n, -1.5)
    for j in range(5):
        z = rng.standard_normal(n)
        x = np.round(z * 10) / 10 if j % 2 else z  # rounded: many rows sit on edges
        logit += (0.6 if j % 3 else -0.5) * z
        x[rng.random(n) < 0.08] = np.nan
        cols[f"num_{j}"] = x
    for j, k in enumerate((4, 9)):
        codes = rng.integers(0, k, n)
        logit += np.linspace(-0.8, 0.8, k)[codes]
        labels = np.array([f"c{j}_{i}" for i in range(k)] + [None], dtype=object)
        cols[f"cat_{j}"] = labels[np.where(rng.random(n) < 0.06, k, codes)]
    grade = rng.integers(1, 6, n)
    logit += 0.3 * (grade - 3)
    cols["grade"] = grade
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame(cols), y


@pytest.fixture(scope="module")
def fitted() -> tuple[Scorecard, pd.DataFrame]:
    X, y = make_data(6000, seed=0)
    sc = Scorecard(iv_min=0.0, max_corr=0.99, categorical=["grade"]).fit(X, y)
    new, _ = make_data(3000, seed=1)
    # Unseen categories, infinities and a grade never seen in training.
    new.loc[::7, "cat_0"] = "never-seen"
    new.loc[::11, "cat_1"] = ""
    new.loc[::13, "num_0"] = np.inf
    new.loc[::17, "num_2"] = -np.inf
    new.loc[::19, "grade"] = 9
    return sc, new


def _reference(sc: Scorecard, X: object, top: int) -> tuple[np.ndarray, ...]:
    idx, lost = sc.explain_indices(X, top)
    return sc.score_points(X), sc.predict_proba(X)[:, 1], idx, lost


def _assert_same(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]) -> None:
    for name, g, w in zip(("score", "pd", "reason_idx", "lost"), got, want, strict=True):
        assert g.shape == w.shape, name
        assert np.array_equal(g, w), f"{name} differs in {np.sum(g != w)} places"


@pytest.mark.parametrize("top", [1, 4, 12])
def test_score_pd_reasons_and_lost_equal_the_scorecards_own_methods(fitted, top) -> None:
    sc, X = fitted
    assert len(sc.features_) >= 6  # a real multi-feature model, not a degenerate one
    plan = compile_plan(sc)
    _assert_same(plan.run(plan.encode(X), top=top), _reference(sc, X, top))


def test_a_round_tripped_scorecard_compiles_to_the_same_results(fitted) -> None:
    sc, X = fitted
    back = Scorecard.from_dict(sc.to_dict())
    plan = compile_plan(back)
    _assert_same(plan.run(plan.encode(X)), _reference(sc, X, 4))


def test_polars_categorical_dtype_object_and_array_inputs_encode_alike(fitted) -> None:
    sc, X = fitted
    plan = compile_plan(sc)
    want = plan.encode(X)
    as_cat = X.astype({"cat_0": "category", "cat_1": "category", "grade": "category"})
    as_obj = X.astype({"cat_0": object, "cat_1": object})
    as_pl = pl.from_pandas(X)
    as_pl_cat = as_pl.with_columns(pl.col("cat_0").cast(pl.Categorical))
    for other in (as_cat, as_obj, as_pl, as_pl_cat):
        assert np.array_equal(plan.encode(other), want, equal_nan=True)
    # A few rows (a household) go through dictionary lookups: the same codes, including
    # missing (None), unseen ("never-seen") and empty ("") categories.
    for rows in (range(0, 50), range(0, 3000, 7)[:60], range(7, 8)):
        short = pl.from_pandas(X.iloc[list(rows)].reset_index(drop=True))
        assert np.array_equal(plan.encode(short), want[:, list(rows)], equal_nan=True)
    # Positional input (no names) is read in the training column order.
    arr = X.to_numpy(dtype=object)
    assert np.array_equal(plan.encode(arr), want, equal_nan=True)


def test_a_boolean_feature_encodes_like_the_scorecard_with_nulls_and_on_every_call() -> None:
    rng = np.random.default_rng(5)
    n = 4000
    flag = rng.random(n) < 0.4
    y = (rng.random(n) < np.where(flag, 0.1, 0.35)).astype(int)
    X = pd.DataFrame({"flag": flag, "x": rng.standard_normal(n)})
    sc = Scorecard(iv_min=0.0, categorical=["flag"]).fit(X, y)
    assert "flag" in sc.features_
    plan = compile_plan(sc)
    values = pl.Series("flag", [True, False, None, True], dtype=pl.Boolean)
    frame = pl.DataFrame({"flag": values, "x": [0.1, -0.2, 0.3, 2.0]})
    want = plan.encode(frame.to_pandas().astype({"flag": object}))
    first, second = plan.encode(frame), plan.encode(frame)  # the second uses kept tables
    assert np.array_equal(first, want, equal_nan=True)
    assert np.array_equal(second, want, equal_nan=True)
    j = sc.features_.index("flag")
    assert len({first[j][0], first[j][1], first[j][2]}) == 3  # True, False, missing differ


def test_values_exactly_on_an_edge_go_to_the_bin_that_starts_there() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 20, 5000).astype(float)
    y = (rng.random(5000) < 0.05 + 0.02 * x).astype(int)
    sc = Scorecard(iv_min=0.0, monotonic="ascending").fit(pd.DataFrame({"x": x}), y)
    edges = sc.binnings_["x"].edges
    pts = sc.points_["x"]
    assert len(edges) >= 2
    plan = compile_plan(sc)
    below = np.nextafter(edges, -np.inf)
    probe = pd.DataFrame({"x": np.concatenate([edges, below, [np.nan]])})
    score, _, _, _ = plan.run(plan.encode(probe))
    k = len(edges)
    # Bin i is [edges[i-1], edges[i]): an edge value opens bin i+1, just below it is bin i.
    assert np.array_equal(score[:k], pts[1 : k + 1])
    assert np.array_equal(score[k : 2 * k], pts[:k])
    assert score[-1] == pts[k + 1]  # k edges make k+1 regular bins; missing comes next


def _plan(points: list[list[float]], edges: list[list[float]] | None = None) -> ScoringPlan:
    """A hand-made plan: categorical features unless ``edges`` gives numeric ones."""
    p = len(points)
    edges = edges or [[] for _ in range(p)]
    is_num = np.array([len(e) > 0 for e in edges])
    ptr = lambda sizes: np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)  # noqa: E731
    return ScoringPlan(
        features=[f"f{j}" for j in range(p)],
        is_num=is_num,
        edge_ptr=ptr([len(e) for e in edges]),
        edges=np.array([v for e in edges for v in e], dtype=float),
        spec_ptr=np.zeros(p + 1, dtype=np.int64),
        spec_vals=np.empty(0),
        spec_bins=np.empty(0, dtype=np.int64),
        miss_bin=np.array([len(e) + 1 for e in edges], dtype=np.int64),
        pts_ptr=ptr([len(v) for v in points]),
        points=np.array([v for pt in points for v in pt], dtype=float),
        best=np.array([max(v) for v in points], dtype=float),
        offset=500.0,
        factor=20 / np.log(2),
        empty_score=0.0,
        binnings=[],
        column_names=[],
    )


def _arrays(plan: ScoringPlan) -> dict[str, np.ndarray]:
    names = ("is_num", "edge_ptr", "edges", "spec_ptr", "spec_vals", "spec_bins")
    names += ("miss_bin", "pts_ptr", "points", "best")
    return {k: getattr(plan, k) for k in names}


def test_equal_losses_are_ranked_in_model_feature_order() -> None:
    plan = _plan([[10.0, 4.0], [10.0, 4.0], [10.0, 7.0], [10.0, 4.0]])
    M = np.array([[1.0, 0.0], [1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    _, _, idx, lost = plan.run(M, top=4)
    # Row 0: features 0, 1, 3 lose 6 each, feature 2 loses 3: the sixes in order, then 2.
    assert idx[0].tolist() == [0, 1, 3, 2]
    assert lost[0].tolist() == [6.0, 6.0, 6.0, 3.0]
    # Row 1: feature 0 sits in its best bin, so it is no reason at all.
    assert idx[1].tolist() == [1, 3, 2, -1]
    assert lost[1].tolist() == [6.0, 6.0, 3.0, 0.0]


def test_many_edges_use_a_binary_search_with_the_same_bins_as_searchsorted() -> None:
    edges = np.linspace(-5, 5, 41)
    plan = _plan([list(range(42)) + [100.0]], [edges.tolist()])
    x = np.concatenate([edges, np.nextafter(edges, np.inf), [-np.inf, np.inf, np.nan, 0.01]])
    score, _, _, _ = plan.run(x[None, :], top=1)
    want = np.searchsorted(edges, x, side="right").astype(float)
    want[np.isnan(x)] = 100.0
    assert np.array_equal(score, want)


def test_a_wide_model_sums_points_in_numpys_own_order() -> None:
    rng = np.random.default_rng(5)
    for p in (1, 7, 8, 9, 20, 129, 300):
        pts = (rng.normal(size=(p, 3)) * 10.0 ** rng.integers(-3, 4, (p, 1))).tolist()
        plan = _plan(pts)
        M = rng.integers(0, 3, (p, 200)).astype(float)
        score, _, _, _ = plan.run(M, top=2)
        by_row = np.array(pts)[np.arange(p)[:, None], M.astype(int)].T.copy()
        assert np.array_equal(score, by_row.sum(axis=1)), p


def test_the_pd_is_the_logistic_of_the_score_and_falls_as_points_rise() -> None:
    plan = _plan([[0.0, 500.0, 520.0]])
    score, pd_, _, _ = plan.run(np.array([[0.0, 1.0, 2.0]]))
    assert score.tolist() == [0.0, 500.0, 520.0]
    assert pd_[1] == pytest.approx(0.5)  # score = offset: odds 1:1
    assert pd_[2] == pytest.approx(1 / 3)  # pdo points more: good odds doubled to 2:1
    assert pd_[0] > pd_[1] > pd_[2]


def test_the_numpy_fallback_and_the_parallel_kernel_agree_with_the_serial_kernel(fitted) -> None:
    sc, X = fitted
    plan = compile_plan(sc)
    M = plan.encode(X)
    serial = plan.run(M)
    parallel = plan.run(M, parallel=True)
    arrays = _arrays(plan)
    s, i, lost = kernel_numpy.run_numpy(list(M), M.shape[1], arrays, plan.empty_score, 4)
    _assert_same(parallel, serial)
    _assert_same((s, plan.pd_of(s), i, lost), serial)


def test_a_model_without_features_scores_every_row_at_the_intercept_points() -> None:
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"noise": rng.normal(size=500)})
    sc = Scorecard(iv_min=0.5).fit(X, rng.integers(0, 2, 500))
    assert sc.features_ == []
    plan = compile_plan(sc)
    score, pd_, idx, lost = plan.run(plan.encode(X), top=2)
    assert len(score) == 500 and np.all(score == sc.intercept_points_)
    assert np.array_equal(plan.score(X, top=2)[0], score)
    assert np.array_equal(pd_, sc.predict_proba(X)[:, 1])
    assert np.all(idx == -1) and np.all(lost == 0.0)


def test_bad_inputs_are_refused_with_a_clear_error(fitted) -> None:
    sc, X = fitted
    plan = compile_plan(sc)
    M = plan.encode(X.head(10))
    with pytest.raises(ValueError, match="shape"):
        plan.run(M[:-1])
    with pytest.raises(ValueError, match="shape"):
        plan.run(M[0])
    bad = M.copy()
    bad[~plan.is_num] = 99.0
    with pytest.raises(ValueError, match="out of range"):
        plan.run(bad)
    for top in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="top"):
            plan.run(M, top=top)
    with pytest.raises(ValueError, match="missing columns"):
        plan.encode(X.drop(columns=[sc.features_[0]]))
    with pytest.raises(ValueError, match="features"):
        plan.encode(X.to_numpy(dtype=object)[:, :3])
    with pytest.raises(NotFittedError):
        compile_plan(Scorecard())


def test_special_codes_score_through_their_own_bins_exactly_as_the_scorecard() -> None:
    X, y = make_data(4000, seed=4)
    rng = np.random.default_rng(4)
    X.loc[rng.random(4000) < 0.1, "num_1"] = -999.0  # e.g. "no bureau file"
    X.loc[rng.random(4000) < 0.05, "num_1"] = -998.0
    sc = Scorecard(iv_min=0.0, max_corr=0.99, special_codes=[-999.0, -998.0, -1.0])
    sc.fit(X, y)
    assert "num_1" in sc.features_
    b = sc.binnings_["num_1"]
    assert len(b.specials) == 3  # -1.0 is never seen: an empty, neutral bin of its own
    new, _ = make_data(2000, seed=5)
    new.loc[::3, "num_1"] = -999.0
    new.loc[1::5, "num_1"] = -998.0
    new.loc[2::7, "num_1"] = -1.0
    plan = compile_plan(sc)
    j = plan.features.index("num_1")
    specs = plan.spec_vals[plan.spec_ptr[j] : plan.spec_ptr[j + 1]]
    assert sorted(specs.tolist()) == [-999.0, -998.0, -1.0]
    want = _reference(sc, new, 4)
    _assert_same(plan.score(new), want)
    # The specials matter here: a plan that ignored them would score otherwise.
    blind = dataclasses.replace(plan, spec_ptr=np.zeros_like(plan.spec_ptr))
    assert not np.array_equal(blind.score(new)[0], want[0])
    back = compile_plan(Scorecard.from_dict(sc.to_dict()))
    _assert_same(back.score(new), _reference(sc, new, 4))


def test_many_ties_rank_like_rank_lost_on_random_plans() -> None:
    # Points from a handful of integers: equal losses everywhere, also at the top cut.
    rng = np.random.default_rng(8)
    for _ in range(20):
        p = int(rng.integers(1, 25))
        n_bins = rng.integers(2, 6, p)
        pts = [rng.integers(0, 4, k).astype(float).tolist() for k in n_bins]
        plan = _plan(pts)
        M = np.stack([rng.integers(0, k, 300) for k in n_bins]).astype(float)
        arrays = _arrays(plan)
        top = int(rng.integers(1, p + 3))
        s, i, lost = kernel_numpy.run_numpy(list(M), 300, arrays, 0.0, top)
        _assert_same(plan.run(M, top=top), (s, plan.pd_of(s), i, lost))


def test_without_lost_points_the_scores_pd_and_reasons_are_the_same(fitted) -> None:
    sc, X = fitted
    plan = compile_plan(sc)
    full = plan.score(X, top=4)
    lean = plan.score(X, top=4, with_lost=False)
    for a, b in zip(full[:3], lean[:3], strict=True):
        assert np.array_equal(a, b)
    assert full[3].shape == (len(X), 4) and lean[3].shape == (0, 4)
