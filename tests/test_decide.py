"""decide: rules, grades, the matrix, sizing, closed accounts, reasons and bad input."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from test_decide_support import AS_OF, BASELINE, frames, one, run

from clearline.core.decide import OUTPUT_COLUMNS, decide
from clearline.core.policy import load_policy


@pytest.mark.parametrize(
    ("row", "rule", "action", "reason", "layer"),
    [
        ({"dpd_now": 90}, "KO_DPD_90", "close", "IND_DPD_90_CLOSE", "individual"),
        ({"dpd_now": 30}, "KO_DPD_30", "freeze", "IND_DPD_30_FREEZE", "individual"),
        ({"dpd_now": 89}, "KO_DPD_30", "freeze", "IND_DPD_30_FREEZE", "individual"),
        (
            {"transfer_out_share_7d": 0.8, "new_counterparties_30d": 3},
            "EVT_TRANSFER_BURST",
            "freeze",
            "EVT_DRAWDOWN_TRANSFER_BURST",
            "event",
        ),
        ({"inquiries_30d": 6}, "R_MULTI_LENDING", "decrease", "IND_MULTI_LENDING", "individual"),
    ],
)
def test_each_rule_fires_on_its_condition_with_its_reason_and_layer(
    row: dict, rule: str, action: str, reason: str, layer: str
) -> None:
    d = one({**row, "score_reasons": ["dpd_worst"]})
    assert d["action"] == action and d["layer"] == layer
    assert d["reasons"].split(";")[0] == reason  # the rule's code leads
    assert "IND_DPD_WORST" in d["reasons"].split(";")  # then the score reasons
    assert json.loads(d["trace"])["rule"] == rule


@pytest.mark.parametrize(
    "row",
    [
        {"dpd_now": 29},
        {"transfer_out_share_7d": 0.79, "new_counterparties_30d": 5},
        {"transfer_out_share_7d": 0.95, "new_counterparties_30d": 2},  # both must hold
        {"inquiries_30d": 5},
        {"transfer_out_share_7d": None, "new_counterparties_30d": 9},  # unknown is no match
    ],
)
def test_no_rule_fires_just_below_its_threshold(row: dict) -> None:
    d = one(row)  # grade C: the matrix keeps
    assert d["action"] == "keep" and json.loads(d["trace"])["rule"] is None


def test_the_first_matching_rule_wins() -> None:
    everything = {
        "dpd_now": 120,
        "transfer_out_share_7d": 1.0,
        "new_counterparties_30d": 9,
        "inquiries_30d": 12,
    }
    assert one(everything)["action"] == "close"
    d = one({**everything, "dpd_now": 45})
    assert d["action"] == "freeze" and d["reasons"].startswith("IND_DPD_30_FREEZE")
    d = one({**everything, "dpd_now": 0})
    assert d["layer"] == "event"  # the transfer burst is tried before multi-lending


@pytest.mark.parametrize(
    ("score", "grade"),
    [(700, "A"), (640, "A"), (639.99, "B"), (610, "B"), (580, "C"), (550, "D"), (549.9, "E")],
)
def test_grades_follow_the_score_bands(score: float, grade: str) -> None:
    assert one({"score": score})["grade"] == grade


@pytest.mark.parametrize(
    ("score", "util", "action", "new_limit"),
    [
        (650, 0.2, "increase", 13_000.0),  # A, low use: x1.3
        (650, 0.5, "keep", 10_000.0),  # utilisation_below is exclusive
        (620, 0.1, "increase", 12_000.0),  # B, low use: x1.2
        (620, 0.9, "keep", 10_000.0),
        (590, 0.1, "keep", 10_000.0),  # C keeps
        (560, 0.1, "decrease", 7_500.0),  # D: x0.75
        (500, 0.1, "freeze", 10_000.0),  # E: frozen, limit on record
    ],
)
def test_the_grade_and_utilisation_matrix_sets_action_and_limit(
    score: float, util: float, action: str, new_limit: float
) -> None:
    d = one({"score": score, "utilisation": util})
    assert (d["action"], d["new_limit"], d["layer"]) == (action, new_limit, "individual")


def test_new_limits_are_rounded_down_to_100_and_kept_within_line_bounds() -> None:
    assert one({"score": 650, "credit_limit": 3_333.0})["new_limit"] == 4_300.0  # 4332.9
    assert one({"score": 650, "credit_limit": 90_000.0})["new_limit"] == 100_000.0  # max
    d = one({"score": 560, "credit_limit": 1_200.0})
    assert (d["action"], d["new_limit"]) == ("decrease", 1_000.0)  # 900 -> min_limit
    d = one({"score": 560, "credit_limit": 1_000.0})
    assert (d["action"], d["new_limit"]) == ("keep", 1_000.0)  # cannot cut below min
    assert json.loads(d["trace"])["sized_to_keep"] is True


def test_an_increase_that_cannot_move_past_the_maximum_is_a_keep_without_its_reason() -> None:
    d = one({"score": 650, "credit_limit": 120_000.0, "utilisation": 0.0})
    assert (d["action"], d["new_limit"]) == ("keep", 120_000.0)
    assert "IND_GRADE_LOW_RISK" not in d["reasons"]


def test_a_close_sets_the_limit_to_zero_and_exposure_to_the_balance() -> None:
    d = one({"dpd_now": 100, "outstanding": 7_000.0, "pd": 0.5})
    assert (d["new_limit"], d["exposure"]) == (0.0, 7_000.0)
    assert d["expected_loss"] == pytest.approx(0.5 * 0.45 * 7_000.0)


def test_exposure_is_the_larger_of_the_new_limit_and_the_balance_on_open_lines() -> None:
    d = one({"score": 650, "utilisation": 0.2, "outstanding": 2_000.0, "pd": 0.01})
    assert d["exposure"] == 13_000.0
    assert d["expected_loss"] == pytest.approx(0.01 * 0.45 * 13_000.0)
    d = one({"outstanding": 12_000.0, "utilisation": 1.2})  # over limit: balance counts
    assert d["exposure"] == 12_000.0


def test_closed_accounts_stay_closed_whatever_the_rules_say() -> None:
    d = one({"status": "closed", "dpd_now": 120, "score": 500, "credit_limit": 5_000.0})
    assert (d["action"], d["old_limit"], d["new_limit"]) == ("keep", 5_000.0, 5_000.0)
    assert (d["layer"], d["reasons"]) == ("business", "BIZ_ACCOUNT_CLOSED")
    assert d["exposure"] == d["outstanding"]


def test_score_reasons_are_mapped_to_codes_ranked_and_cut_at_four() -> None:
    reasons = ["dpd_worst", "utilisation", "inquiries_30d", "on_time_ratio", "age"]
    d = one({"score": 560, "score_reasons": reasons})
    # A score-driven cut: the score reasons lead, most points lost first.
    assert d["reasons"] == "IND_DPD_WORST;IND_UTILISATION;IND_INQUIRIES_30D;IND_ON_TIME_RATIO"
    d = one({"score": 560, "score_reasons": ["dpd_worst"]})
    assert d["reasons"] == "IND_DPD_WORST;IND_GRADE_HIGH_RISK"
    d = one({"score": 560, "score_reasons": ["dpd_worst", None, None]})  # explain pads
    assert d["reasons"] == "IND_DPD_WORST;IND_GRADE_HIGH_RISK"
    d = one({"score": 560, "score_reasons": None})
    assert d["reasons"] == "IND_GRADE_HIGH_RISK"
    d = one({"score": 560, "score_reasons": []})
    assert d["reasons"] == "IND_GRADE_HIGH_RISK"  # an adverse action always has one
    d = one({"score": 560, "score_reasons": ["brand_new_feature", "other_new"]})
    assert d["reasons"] == "IND_SCORE_OTHER;IND_GRADE_HIGH_RISK"  # mapped once, no repeat


def test_an_increase_is_explained_by_its_own_code_first() -> None:
    d = one({"score": 650, "utilisation": 0.1, "score_reasons": ["age"]})
    assert d["reasons"] == "IND_GRADE_LOW_RISK;IND_AGE"


def test_the_output_has_the_contract_columns_in_order_with_as_of_on_every_row() -> None:
    out = run([{}, {"score": 650}, {"dpd_now": 40}])
    assert tuple(out.columns) == OUTPUT_COLUMNS
    assert out.columns[:3] == ["account_id", "borrower_id", "as_of"]
    assert out["as_of"].to_list() == [AS_OF] * 3
    assert out["policy_version"].unique().to_list() == [load_policy(BASELINE).version]
    assert out["model_version"].unique().to_list() == ["m-test"]
    assert out.schema["as_of"] == pl.Date and out.schema["good_standing"] == pl.Boolean


def test_as_of_can_come_from_a_single_valued_features_column() -> None:
    features, scored = frames([{}])
    pol = load_policy(BASELINE)
    out = decide(
        features.with_columns(as_of=pl.lit(date(2025, 1, 31))), scored, pol, model_version="m"
    )
    assert out["as_of"][0] == date(2025, 1, 31)
    with pytest.raises(ValueError, match="as_of"):
        decide(features, scored, pol, model_version="m")


def test_scores_in_another_order_give_the_same_decisions() -> None:
    features, scored = frames([{"score": 650}, {"dpd_now": 95}, {"score": 560}])
    pol = load_policy(BASELINE)
    a = decide(features, scored, pol, model_version="m", as_of=AS_OF)
    b = decide(features, scored.reverse(), pol, model_version="m", as_of=AS_OF)
    assert a.equals(b)


def test_bad_inputs_are_refused_with_a_clear_message() -> None:
    features, scored = frames([{}, {}])
    pol = load_policy(BASELINE)
    kw = {"model_version": "m", "as_of": AS_OF}
    with pytest.raises(ValueError, match=r"no score or pd, e.g. \['a1'\]"):
        decide(features, scored.head(1), pol, **kw)
    with pytest.raises(ValueError, match="no score or pd"):
        decide(features, scored.with_columns(pd=pl.lit(None, pl.Float64)), pol, **kw)
    with pytest.raises(ValueError, match="inquiries_30d"):
        decide(features.drop("inquiries_30d"), scored, pol, **kw)
    with pytest.raises(ValueError, match="score_reasons"):
        decide(features, scored.drop("score_reasons"), pol, **kw)
    with pytest.raises(ValueError, match="duplicate account_id"):
        decide(pl.concat([features, features]), scored, pol, **kw)
