"""The compiled string lookup gives the bins ``pyarrow.compute.index_in`` gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from clearline import Scorecard
from clearline.core.scoring import kernel_strings as KS
from clearline.core.scoring.kernel import compile_plan

pytestmark = pytest.mark.skipif(not KS.HAVE_NUMBA, reason="the compiled lookup needs numba")

WORDS = [
    "", "a", "b", "ab", "ba", "abc", "c1_3", "c1_30", "12345678", "123456789",
    "prefix-shared-long-label-1", "prefix-shared-long-label-2", "prefix-shared-long-label-10",
    "long-label-same-tail-x", "other-label-same-tail-x", "汉字", "汉字标签", "émigré", "\x00",
]  # fmt: skip


def index_in_bins(arrow, known, lut, unseen, missing) -> np.ndarray:  # noqa: ANN001
    """The reference: what the encoder did before the compiled lookup."""
    pos = pc.index_in(arrow, value_set=pa.array(known, type=pa.large_string()))
    at = pos.fill_null(len(known)).to_numpy(zero_copy_only=False)
    out = np.append(lut, unseen)[np.asarray(at)]
    out[np.asarray(arrow.is_null().to_numpy(zero_copy_only=False))] = missing
    return out


@pytest.mark.parametrize("seed", range(6))
def test_bins_equal_index_in_on_random_columns_with_nulls_unseen_and_repeats(seed) -> None:
    rng = np.random.default_rng(seed)
    known = list(rng.choice(WORDS, size=rng.integers(1, len(WORDS)), replace=False))
    known += [known[0]] * int(rng.integers(0, 2))  # a repeated label keeps its first bin
    lut = rng.integers(0, 9, size=len(known)).astype(np.float64)
    pool = [*WORDS, "never-seen", "c1_", "abcd"]
    values = [None if rng.random() < 0.1 else str(rng.choice(pool)) for _ in range(5000)]
    arrow = pa.array(values, type=pa.large_string())
    labels = KS.labels(known, lut, 99.0, -1.0)
    expected = index_in_bins(arrow, known, lut, 99.0, -1.0)
    np.testing.assert_array_equal(KS.bins_of(arrow, labels), expected)
    # A slice starts inside the buffers: offsets and null bits are read from there.
    part = arrow.slice(1237, 2001)
    np.testing.assert_array_equal(KS.bins_of(part, labels), expected[1237 : 1237 + 2001])


def test_columns_without_nulls_all_nulls_and_only_empty_strings() -> None:
    labels = KS.labels(["", "x"], np.array([3.0, 4.0]), 9.0, -1.0)
    np.testing.assert_array_equal(
        KS.bins_of(pa.array(["", "x", "y"], type=pa.large_string()), labels), [3.0, 4.0, 9.0]
    )
    nulls = pa.array([None, None], type=pa.large_string())
    np.testing.assert_array_equal(KS.bins_of(nulls, labels), [-1.0, -1.0])
    empty = pa.array(["", ""], type=pa.large_string())
    np.testing.assert_array_equal(KS.bins_of(empty, labels), [3.0, 3.0])
    assert len(KS.bins_of(pa.array([], type=pa.large_string()), labels)) == 0


def test_a_mistaken_lookup_fails_this_test() -> None:
    """The comparison above can fail: a lookup that ignored everything past the first
    8 bytes would give two long labels one bin."""
    labels = KS.labels(["123456789", "123456780"], np.array([1.0, 2.0]), 9.0, -1.0)
    got = KS.bins_of(pa.array(["123456780", "123456789"], type=pa.large_string()), labels)
    assert got.tolist() == [2.0, 1.0]


def test_scores_from_string_columns_equal_the_scorecards_own() -> None:
    rng = np.random.default_rng(3)
    n = 6000
    cats = rng.choice(["north", "south", "east", "west-long-region-name", "汉字"], size=n)
    X = pd.DataFrame(
        {
            "region": pd.array(np.where(rng.random(n) < 0.05, None, cats), dtype="string[pyarrow]"),
            "x": rng.normal(size=n),
        }
    )
    logit = (X["region"].astype(object) == "south") * 1.2 + 0.8 * X["x"] - 1.0
    y = (rng.random(n) < 1 / (1 + np.exp(-logit.astype(float)))).astype(int)
    sc = Scorecard(iv_min=0.0).fit(X, y)
    assert "region" in sc.features_
    plan = compile_plan(sc)
    new = X.copy()
    new.loc[:99, "region"] = "a-region-never-seen"
    for frame in (new, pl.from_pandas(new)):
        score, pd_, idx, lost = plan.score(frame, top=2)
        np.testing.assert_array_equal(score, sc.score_points(new))
        np.testing.assert_array_equal(pd_, sc.predict_proba(new)[:, 1])
        want_idx, want_lost = sc.explain_indices(new, 2)
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_array_equal(lost, want_lost)
