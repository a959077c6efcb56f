"""Overlay layers, hysteresis, PD grades and initial sizing, through ``decide``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from test_decide_support import AS_OF, BASELINE, frames

from clearline.core.decide import decide
from clearline.core.policy import Policy, PolicyError, load_policy, parse_policy
from clearline.core.policy.overlays import stress_for
from clearline.core.policy.sizing import initial_limits
from clearline.core.reasons import catalogue_version

EXTRA = {
    "monthly_income": pl.Float64,
    "income_verified": pl.Boolean,
    "last_action": pl.String,
    "days_since_last_change": pl.Int64,
}


def policy(**changes: Any) -> Policy:
    data = load_policy(BASELINE).model_dump(mode="json", by_alias=True)
    data.update(changes)
    return parse_policy(data)


def run(rows: list[dict[str, Any]], pol: Policy, **kw: Any) -> pl.DataFrame:
    features, scored = frames([{k: v for k, v in r.items() if k not in EXTRA} for r in rows])
    for name, dtype in EXTRA.items():
        if any(name in r for r in rows):
            features = features.with_columns(pl.Series(name, [r.get(name) for r in rows], dtype))
    return decide(features, scored, pol, model_version="m", as_of=AS_OF, **kw)


def one(row: dict[str, Any], pol: Policy, **kw: Any) -> dict[str, Any]:
    return run([row], pol, **kw).row(0, named=True)


CN = {"regulatory": "cn_internet_consumer", "household_cap": None}


def test_the_preset_caps_a_line_at_a_third_of_verified_annual_income() -> None:
    pol = policy(**CN)
    # 2,000 a month verified: 24,000 a year, a third is 8,000 < the 10,000 line.
    d = one({"monthly_income": 2_000.0, "income_verified": True}, pol)
    assert (d["action"], d["new_limit"], d["layer"]) == ("decrease", 8_000.0, "regulatory")
    assert d["reasons"].split(";")[0] == "REG_INCOME_SHARE_CAP"
    assert d["max_apr"] == pytest.approx(0.24) and d["class_wide"] is False
    # Same income unverified: the preset does not cut, but the line may not grow.
    d = one({"monthly_income": 2_000.0, "income_verified": False}, pol)
    assert (d["action"], d["new_limit"]) == ("keep", 10_000.0)
    d = one(
        {"monthly_income": 2_000.0, "income_verified": False, "score": 650, "utilisation": 0.1}, pol
    )
    assert (d["action"], d["layer"]) == ("keep", "regulatory")
    assert d["reasons"].startswith("REG_INCOME_UNVERIFIED")


def test_no_other_layer_can_lift_a_line_above_a_regulatory_cap() -> None:
    pol = policy(**CN)
    # Grade A, low use: the matrix raises x1.3, but the income cap (12,000) wins.
    d = one(
        {"score": 660, "utilisation": 0.1, "monthly_income": 3_000.0, "income_verified": True}, pol
    )
    assert d["new_limit"] == 12_000.0 and d["layer"] == "regulatory"


def test_a_policy_with_an_income_cap_needs_the_income_columns() -> None:
    with pytest.raises(ValueError, match="income_verified"):
        run([{}], policy(**CN))


def test_a_policy_may_tighten_a_preset_but_never_loosen_it() -> None:
    assert policy(regulatory={"preset": "cn_internet_consumer", "max_apr": 0.2}).max_apr == 0.2
    with pytest.raises(PolicyError, match="would loosen"):
        policy(regulatory={"preset": "cn_internet_consumer", "max_apr": 0.36})
    with pytest.raises(PolicyError, match="would loosen"):
        policy(regulatory={"preset": "cn_internet_consumer", "household_cap": {"limit": 500000}})
    with pytest.raises(PolicyError, match="unknown preset 'xx_nowhere'"):
        policy(regulatory="xx_nowhere")


def test_a_resolved_preset_round_trips_through_a_dump_with_the_same_version() -> None:
    pol = policy(**CN)
    again = parse_policy(pol.model_dump(mode="json", by_alias=True))
    assert again.version == pol.version and again.regulatory == pol.regulatory


BIZ = [
    {
        "id": "BIZ_STOP_INSTALMENT",
        "version": "2025-06",
        "when": "product == 'instalment_line'",
        "action": "no_increase",
        "reason": "BIZ_PRODUCT_NO_INCREASE",
    },
    {
        "id": "BIZ_WIND_DOWN_LEGACY",
        "when": "product == 'legacy_line'",
        "action": "decrease",
        "limit_factor": 0.5,
        "reason": "BIZ_PRODUCT_WIND_DOWN",
    },
]


def test_a_product_contraction_is_applied_class_wide_and_marked_so() -> None:
    pol = policy(business=BIZ)
    rows = [
        {"product": "instalment_line", "score": 660, "utilisation": 0.1},  # would increase
        {"product": "legacy_line"},  # grade C keep -> wound down to half
        {"product": "cash_line", "score": 660, "utilisation": 0.1},  # untouched
        {"product": "legacy_line", "dpd_now": 95},  # close is harsher than the cut
    ]
    out = run(rows, pol)
    assert out["action"].to_list() == ["keep", "decrease", "increase", "close"]
    assert out["new_limit"].to_list() == [10_000.0, 5_000.0, 13_000.0, 0.0]
    assert out["layer"].to_list() == ["business", "business", "individual", "individual"]
    assert out["class_wide"].to_list() == [True, True, False, False]
    assert out["reasons"][1].startswith("BIZ_PRODUCT_WIND_DOWN")
    assert json.loads(out["trace"][0])["business"] == "BIZ_STOP_INSTALMENT"


def test_the_macro_overlay_is_class_wide_and_applies_after_business() -> None:
    tight = load_policy(BASELINE.with_name("tightened.yaml"))
    data = tight.model_dump(mode="json", by_alias=True) | {"business": BIZ}
    d = one({"product": "legacy_line", "score": 560}, parse_policy(data))
    # Business halves (5,000); macro cuts grade D to 0.6 (6,000): the deeper cut stays.
    assert (d["new_limit"], d["layer"], d["class_wide"]) == (5_000.0, "business", True)
    d = one({"product": "legacy_line", "score": 500}, parse_policy(data))
    assert (d["action"], d["layer"], d["class_wide"]) == ("close", "macro", True)


HYST = {
    "increase_margin": 10,
    "decrease_margin": 10,
    "adverse_cooldown_days": 180,
    "min_days_between_changes": 90,
}


@pytest.mark.parametrize(
    ("row", "action"),
    [
        ({"score": 655, "utilisation": 0.1}, "increase"),  # A from 640: 15 points inside
        ({"score": 645, "utilisation": 0.1}, "keep"),  # only 5 inside: held
        (
            {
                "score": 655,
                "utilisation": 0.1,
                "last_action": "decrease",
                "days_since_last_change": 100,
            },
            "keep",
        ),
        (
            {
                "score": 655,
                "utilisation": 0.1,
                "last_action": "decrease",
                "days_since_last_change": 200,
            },
            "increase",
        ),
        (
            {
                "score": 655,
                "utilisation": 0.1,
                "last_action": "increase",
                "days_since_last_change": 30,
            },
            "keep",
        ),
        ({"score": 565, "utilisation": 0.9}, "decrease"),  # D, 15 below C's 580
        ({"score": 575, "utilisation": 0.9}, "keep"),  # only 5 below: held
        ({"score": 500, "dpd_now": 95, "days_since_last_change": 1}, "close"),  # rules are not held
    ],
)
def test_hysteresis_holds_matrix_moves_near_a_band_edge_or_soon_after_a_change(
    row: dict[str, Any], action: str
) -> None:
    pol = policy(hysteresis=HYST)
    d = one(row, pol)
    assert d["action"] == action
    if action == "keep":
        assert json.loads(d["trace"])["held"] is True and d["reasons"] == ""


def test_grades_may_be_banded_by_pd_as_well_as_score() -> None:
    grades = [
        {"grade": "A", "max_pd": 0.01},
        {"grade": "B", "max_pd": 0.02},
        {"grade": "C", "max_pd": 0.05},
        {"grade": "D", "max_pd": 0.15},
        {"grade": "E"},
    ]
    pol = policy(grades=grades)
    got = [one({"score": 600.0, "pd": p}, pol)["grade"] for p in (0.005, 0.01, 0.03, 0.2)]
    assert got == ["A", "A", "C", "E"]
    with pytest.raises(PolicyError, match="max_pd must strictly increase"):
        policy(grades=[grades[1], grades[0], *grades[2:]])


def test_initial_lines_follow_pd_band_and_income_then_the_regulatory_cap() -> None:
    bands = [
        {"max_pd": 0.01, "income_multiple": 0.5},
        {"max_pd": 0.05, "income_multiple": 0.2},
        {"income_multiple": 0},
    ]
    pol = policy(initial_line={"bands": bands, "unverified_income_factor": 0.5})
    limits = initial_limits(
        pol,
        np.array([0.005, 0.03, 0.2, 0.03]),
        np.array([10_000.0, 10_000.0, 10_000.0, 10_000.0]),
        np.array([True, True, True, False]),
    )
    # 120,000 a year: x0.5 = 60,000; x0.2 = 24,000; declined; unverified counts half.
    assert limits.tolist() == [60_000.0, 24_000.0, 0.0, 12_000.0]
    capped = initial_limits(
        policy(initial_line={"bands": bands}, **CN),
        np.array([0.005, 0.005]),
        np.array([10_000.0, 10_000.0]),
        np.array([True, False]),
    )
    assert capped.tolist() == [40_000.0, 0.0]  # a third of 120,000; unverified: none


def test_every_trace_records_the_catalogue_and_policy_versions() -> None:
    pol = policy(**CN)
    for mode in ("full", "path"):
        inc = {"monthly_income": 5_000.0, "income_verified": True}
        out = run([inc, {**inc, "dpd_now": 95}], pol, trace=mode)
        for t in out["trace"]:
            t = json.loads(t)
            assert t["catalogue"] == catalogue_version() and t["policy"] == pol.version


def test_the_path_trace_gives_the_same_decisions_as_the_full_trace() -> None:
    rng = np.random.default_rng(3)
    rows = [
        {
            "score": float(s),
            "utilisation": float(u),
            "dpd_now": int(d),
            "monthly_income": 2_500.0,
            "income_verified": bool(u > 0.3),
        }
        for s, u, d in zip(
            rng.normal(590, 40, 300), rng.random(300), rng.choice([0, 0, 40, 95], 300), strict=True
        )
    ]
    pol = policy(**CN)
    a, b = run(rows, pol), run(rows, pol, trace="path")
    assert a.drop("trace").equals(b.drop("trace"))
    for x, y in zip(a["trace"], b["trace"], strict=True):
        fx, fy = json.loads(x), json.loads(y)
        assert fx.get("rule") == fy.get("rule") and fx.get("band") == fy.get("band")


def test_stress_comes_from_the_macro_table_for_the_as_of_month() -> None:
    macro = pl.DataFrame({"month": ["2025-05", "2025-06"], "stress_index": [1.0, 1.4]})
    assert stress_for(macro, AS_OF) == 1.4
    assert stress_for(macro.head(1), AS_OF) is None and stress_for(None, AS_OF) is None


def test_the_shipped_business_example_loads_with_the_regulatory_preset() -> None:
    shipped = Path(__file__).resolve().parents[1] / "policies" / "business_contraction.yaml"
    pol = load_policy(shipped)
    assert pol.business and pol.regulatory is not None
    assert pol.regulatory.preset == "cn_internet_consumer"
