"""whatif and summarize_review: the diff file and its summary always agree."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_decide_support import TIGHT, random_book, run

from clearline.core.schema import ACTIONS, ADVERSE_ACTIONS
from clearline.core.whatif import summarize_review, whatif

ROWS: list[dict[str, Any]] = [
    {"score": 590, "good_standing": True},  # C: keep -> macro cut (innocent harm)
    {"score": 560, "good_standing": False, "dpd_worst": 20},  # D: 0.75 -> 0.6 (adverse)
    {"score": 650, "utilisation": 0.1},  # A: increase in both (unchanged)
    {"score": 620, "utilisation": 0.1},  # B: increase -> keep (changed, not adverse)
    {"dpd_now": 95, "good_standing": False},  # close in both (unchanged)
]


def _pair() -> tuple[pl.DataFrame, pl.DataFrame]:
    return run(ROWS), run(ROWS, TIGHT)


def test_the_diff_has_shared_columns_then_each_decision_column_twice() -> None:
    diff, _ = whatif(*_pair())
    assert diff.columns[:4] == ["account_id", "borrower_id", "as_of", "good_standing"]
    assert diff.columns[4:6] == ["action_baseline", "action_candidate"]
    assert diff.columns[-3:] == ["changed", "adverse_change", "worse"]
    for col in ("new_limit", "reasons", "layer", "policy_version", "exposure", "trace"):
        assert {f"{col}_baseline", f"{col}_candidate"} <= set(diff.columns)
    assert diff.height == len(ROWS)


def test_changes_and_innocent_harm_are_counted_account_by_account() -> None:
    diff, s = whatif(*_pair())
    assert diff["changed"].to_list() == [True, True, False, True, False]
    assert diff["adverse_change"].to_list() == [True, True, False, False, False]
    assert (s["accounts"], s["changed"], s["adverse"]) == (5, 3, 2)
    assert s["adverse_good_standing"] == 1  # only the clean grade-C account
    assert s["by_reason"] == {"MAC_STRESS_TIGHTENING": 2}
    assert s["by_layer"] == {"macro": 2}
    assert s["actions_baseline"]["increase"] == 2 and s["actions_candidate"]["increase"] == 1


def test_tightening_lowers_exposure_and_expected_loss() -> None:
    base, cand = _pair()
    _, s = whatif(base, cand)
    assert s["exposure_before"] == pytest.approx(base["exposure"].sum())
    assert s["exposure_after"] == pytest.approx(cand["exposure"].sum())
    assert s["exposure_after"] < s["exposure_before"]
    assert s["expected_loss_after"] < s["expected_loss_before"]


def test_a_policy_compared_with_itself_changes_nothing() -> None:
    base = run(ROWS)
    diff, s = whatif(base, base)
    assert s["changed"] == s["adverse"] == s["adverse_good_standing"] == 0
    assert s["by_reason"] == {} and not diff["changed"].any()


@settings(max_examples=30, deadline=None)
@given(data=st.data(), n=st.integers(1, 30))
def test_summary_counts_equal_the_counts_in_the_file(data: Any, n: int) -> None:
    rows = random_book(data.draw, n)
    diff, s = whatif(run(rows), run(rows, TIGHT))
    assert s["accounts"] == diff.height
    assert s["changed"] == diff["changed"].sum()
    harmed = diff.filter("adverse_change")
    assert s["adverse"] == harmed.height
    assert s["adverse_good_standing"] == harmed["good_standing"].sum()
    assert sum(s["by_reason"].values()) == s["adverse"] == sum(s["by_layer"].values())
    for a in ACTIONS:
        assert s["actions_candidate"][a] == (diff["action_candidate"] == a).sum()
    assert harmed["action_candidate"].is_in(ADVERSE_ACTIONS).all()


def test_tables_of_different_accounts_or_dates_are_refused() -> None:
    base, cand = _pair()
    with pytest.raises(ValueError, match="different accounts"):
        whatif(base, cand.head(3))
    with pytest.raises(ValueError, match="as_of"):
        whatif(base, cand.with_columns(as_of=pl.lit(date(2024, 1, 1))))
    with pytest.raises(ValueError, match="good_standing"):
        whatif(base, cand.with_columns(good_standing=~pl.col("good_standing")))
    with pytest.raises(ValueError, match="duplicate"):
        whatif(pl.concat([base, base]), cand)


def test_candidate_rows_in_another_order_are_matched_by_account() -> None:
    base, cand = _pair()
    a, _ = whatif(base, cand)
    b, _ = whatif(base, cand.reverse())
    assert a.equals(b)


def test_a_review_summary_counts_every_action_and_the_adverse_in_good_standing() -> None:
    s = summarize_review(run(ROWS, TIGHT))
    assert list(s["actions"]) == list(ACTIONS)
    assert s["actions"] == {"keep": 1, "increase": 1, "decrease": 2, "freeze": 0, "close": 1}
    assert s["accounts"] == 5 and s["adverse"] == 3
    assert s["adverse_good_standing"] == 1
    assert s["by_layer"] == {"macro": 2, "individual": 1}


def test_a_gentler_adverse_change_is_not_counted_as_worse_for_the_borrower() -> None:
    from datetime import date

    import polars as pl

    from clearline.core.whatif import whatif

    def table(actions: list[str], limits: list[float]) -> pl.DataFrame:
        n = len(actions)
        return pl.DataFrame(
            {
                "account_id": [f"A{i}" for i in range(n)],
                "borrower_id": [f"B{i}" for i in range(n)],
                "as_of": [date(2025, 1, 31)] * n,
                "action": actions,
                "old_limit": [10000.0] * n,
                "new_limit": limits,
                "reasons": ["X"] * n,
                "layer": ["individual"] * n,
                "good_standing": [True] * n,
            }
        )

    base = table(["decrease", "keep", "decrease", "close"], [6000, 10000, 6000, 0])
    cand = table(["decrease", "decrease", "decrease", "freeze"], [8000, 7000, 5000, 10000])
    diff, s = whatif(base, cand)
    # 8000 > 6000 is gentler; keep -> decrease and 6000 -> 5000 are worse; close -> freeze
    # is gentler although both are adverse.
    assert diff["adverse_change"].to_list() == [True, True, True, True]
    assert diff["worse"].to_list() == [False, True, True, False]
    assert s["adverse_good_standing"] == 4 and s["worse_good_standing"] == 2
