"""The fast paths of the decision kernel agree with the plain scans they replace."""

from __future__ import annotations

import numpy as np
import pytest
from test_decide_support import BASELINE, TIGHTENED

from clearline.core.policy import load_policy
from clearline.core.policy.compiled import compile_policy
from clearline.core.policy.kernel import _entries_by_scan, matrix_entries


@pytest.mark.parametrize("path", [BASELINE, TIGHTENED])
def test_matrix_entries_by_table_equal_the_entry_by_entry_scan(path) -> None:
    c = compile_policy(load_policy(path))
    rng = np.random.default_rng(3)
    n = 20_000
    cuts = c.entry_below[np.isfinite(c.entry_below)]
    # Values on, just under and just over every threshold, plus nulls and infinities.
    edges = np.concatenate([cuts, np.nextafter(cuts, -np.inf), np.nextafter(cuts, np.inf)])
    special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.5, 1.5])
    util = np.where(
        rng.random(n) < 0.5,
        rng.choice(np.concatenate([edges, special]), n),
        rng.uniform(-0.2, 1.6, n),
    )
    g = rng.integers(0, len(c.grade_names), n).astype(np.int8)
    got = matrix_entries(c, g, util)
    assert np.array_equal(got, _entries_by_scan(c, g, util))
    assert (got >= 0).any() and np.isnan(util).any()
