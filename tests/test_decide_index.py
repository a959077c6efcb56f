"""decide from the scorer's reason indices (``score_reason_idx`` + ``score_features``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_decide_support import AS_OF, BASELINE, TIGHT, frames, random_book

from clearline.core.decide import decide
from clearline.core.policy import load_policy
from clearline.core.scoring.apply import score_accounts
from clearline.core.scoring.gbm import GBMChallenger
from clearline.core.scoring.scorecard import Scorecard

FEATURES = ["dpd_worst", "utilisation", "age", "x", "inquiries_30d", "on_time_ratio"]


def with_index(scored: pl.DataFrame, width: int, *, as_list: bool = False) -> pl.DataFrame:
    """``scored`` plus ``score_reason_idx`` (indices into FEATURES, -1 padded) and
    without the names, so only the index path can explain the decisions."""
    rows = []
    for names in scored["score_reasons"].to_list():
        idx = [FEATURES.index(n) for n in (names or []) if n is not None][:width]
        rows.append(idx if as_list else idx + [-1] * (width - len(idx)))
    dtype = pl.List(pl.Int64) if as_list else pl.Array(pl.Int16, width)
    return scored.with_columns(pl.Series("score_reason_idx", rows, dtype=dtype)).drop(
        "score_reasons"
    )


def both(rows: list[dict[str, Any]], **kw: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
    features, scored = frames(rows)
    pol = kw.pop("policy", None) or load_policy(BASELINE)
    common = {"model_version": "m", "as_of": AS_OF, **kw}
    by_name = decide(features, scored, pol, **common)
    width = max([len(r.get("score_reasons") or []) for r in rows] + [1])
    by_index = decide(features, with_index(scored, width), pol, score_features=FEATURES, **common)
    return by_name, by_index


@settings(max_examples=25, deadline=None)
@given(st.data(), st.sampled_from(["path", "full"]), st.booleans())
def test_reason_indices_give_exactly_the_decisions_of_reason_names(
    data: st.DataObject, trace: str, tight: bool
) -> None:
    rows = random_book(data.draw, data.draw(st.integers(1, 30)))
    by_name, by_index = both(rows, trace=trace, policy=TIGHT if tight else None)
    assert by_index.equals(by_name)


def test_a_list_column_of_indices_works_like_a_fixed_width_array() -> None:
    features, scored = frames(
        [
            {"score": 560, "score_reasons": ["dpd_worst", "utilisation"]},
            {"score": 560, "score_reasons": []},
            {"score": 560, "score_reasons": ["x", "age", "inquiries_30d", "on_time_ratio"]},
        ]
    )
    pol = load_policy(BASELINE)
    kw: dict[str, Any] = {"model_version": "m", "as_of": AS_OF}
    arr = decide(features, with_index(scored, 4), pol, score_features=FEATURES, **kw)
    lst = decide(features, with_index(scored, 4, as_list=True), pol, score_features=FEATURES, **kw)
    assert lst.equals(arr)
    assert arr["reasons"].to_list() == [
        "IND_DPD_WORST;IND_UTILISATION;IND_GRADE_HIGH_RISK",
        "IND_GRADE_HIGH_RISK",
        # "x" is not in the catalogue: the fallback code, then the ranked rest.
        "IND_SCORE_OTHER;IND_AGE;IND_INQUIRIES_30D;IND_ON_TIME_RATIO",
    ]


def test_null_and_minus_one_indices_mean_no_reason_wherever_they_sit() -> None:
    features, scored = frames([{"score": 560}, {"score": 560}])
    idx = pl.Series("score_reason_idx", [[-1, 0, None, 1], None], dtype=pl.List(pl.Int32))
    out = decide(
        features,
        scored.drop("score_reasons").with_columns(idx),
        load_policy(BASELINE),
        model_version="m",
        as_of=AS_OF,
        score_features=FEATURES,
    )
    assert out["reasons"].to_list() == [
        "IND_DPD_WORST;IND_UTILISATION;IND_GRADE_HIGH_RISK",
        "IND_GRADE_HIGH_RISK",
    ]


@pytest.mark.parametrize("bad", [6, -2])
def test_an_index_outside_the_feature_list_is_refused(bad: int) -> None:
    features, scored = frames([{"score": 560}])
    idx = pl.Series("score_reason_idx", [np.array([0, bad], dtype=np.int16)])
    with pytest.raises(ValueError, match=f"score_reason_idx holds {bad}"):
        decide(
            features,
            scored.with_columns(idx),
            load_policy(BASELINE),
            model_version="m",
            as_of=AS_OF,
            score_features=FEATURES,
        )


def test_the_index_path_needs_its_column_and_integer_indices() -> None:
    features, scored = frames([{"score": 560}])
    kw: dict[str, Any] = {"model_version": "m", "as_of": AS_OF, "score_features": FEATURES}
    with pytest.raises(ValueError, match="score_reason_idx"):
        decide(features, scored, load_policy(BASELINE), **kw)
    names = scored.with_columns(pl.col("score_reasons").alias("score_reason_idx"))
    with pytest.raises(ValueError, match="List or Array of integers"):
        decide(features, names, load_policy(BASELINE), **kw)


@pytest.mark.parametrize("kind", ["scorecard", "gbm"])
def test_score_accounts_indices_decide_exactly_like_its_reason_names(kind: str) -> None:
    rng = np.random.default_rng(5)
    n = 600
    X = pl.DataFrame(
        {
            "dpd_worst": rng.integers(0, 60, n).astype(float),
            "utilisation": np.where(rng.random(n) < 0.1, np.nan, rng.random(n)),
            "inquiries_30d": rng.integers(0, 9, n).astype(float),
        }
    )
    logit = -3 + X["dpd_worst"].to_numpy() / 20 + np.nan_to_num(X["utilisation"]) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    model = (Scorecard() if kind == "scorecard" else GBMChallenger(n_estimators=20)).fit(X, y)
    features, _ = frames([{"utilisation": u} for u in X["utilisation"].fill_nan(None)])
    scored = score_accounts(X.with_columns(features["account_id"]), model)
    names = list(model.features_)
    # The index column names the same features in the same order as the names column.
    decoded = [[names[i] for i in row if i >= 0] for row in scored["score_reason_idx"].to_list()]
    assert decoded == scored["score_reasons"].to_list()
    pol = load_policy(BASELINE)
    kw: dict[str, Any] = {"model_version": "m", "as_of": AS_OF, "trace": "full"}
    by_name = decide(features, scored.drop("score_reason_idx"), pol, **kw)
    by_index = decide(features, scored.drop("score_reasons"), pol, score_features=names, **kw)
    assert by_index.equals(by_name)
    assert by_name["reasons"].str.contains("IND_DPD_WORST").any()  # reasons were used


@pytest.mark.parametrize("n", [1, 2, 5, 300, 5_000])
def test_dense_ids_index_the_sorted_distinct_keys_whether_it_counts_or_sorts(n: int) -> None:
    # Small batches sort and big ones count (reasons, paths); both must give np.unique's.
    from clearline.core.policy.reasoning import dense

    rng = np.random.default_rng(n)
    for space in (7, 300, 15**4, 1 << 20):
        keys = rng.integers(0, space, n)
        ids, distinct = dense(keys, space)
        want_distinct, want_ids = np.unique(keys, return_inverse=True)
        assert np.array_equal(distinct, want_distinct)
        assert np.array_equal(ids, want_ids)
