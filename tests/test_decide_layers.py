"""decide: the macro overlay, the household cap, and invariants over random books."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_decide_support import TIGHT, one, random_book, run

from clearline.core.policy import parse_policy
from clearline.core.reasons import catalogue
from clearline.core.schema import ADVERSE_ACTIONS, LAYERS


@pytest.mark.parametrize(
    ("row", "action", "new_limit"),
    [
        ({"score": 620, "utilisation": 0.1}, "keep", 10_000.0),  # B: no increases
        ({"score": 590}, "decrease", 8_500.0),  # C: x0.85
        ({"score": 560}, "decrease", 6_000.0),  # D: x0.6, deeper than the matrix's 0.75
        ({"score": 500}, "close", 0.0),  # E: close, harsher than freeze
    ],
)
def test_macro_overlay_decisions_are_labelled_macro_with_its_code_first(
    row: dict, action: str, new_limit: float
) -> None:
    d = one(row, TIGHT)
    assert (d["action"], d["new_limit"], d["layer"]) == (action, new_limit, "macro")
    assert d["reasons"].split(";")[0] == "MAC_STRESS_TIGHTENING"
    trace = json.loads(d["trace"])
    assert trace["macro"]["stress_index"] == pytest.approx(1.3)


@pytest.mark.parametrize(
    "row",
    [
        {"score": 650, "utilisation": 0.1},  # grade A has no overlay entry
        {"dpd_now": 95, "score": 590},  # close is already harsher than C's cut
        {"inquiries_30d": 8, "score": 590},  # the rule's x0.7 cuts deeper than C's x0.85
    ],
)
def test_the_overlay_never_loosens_or_replaces_a_harsher_decision(row: dict) -> None:
    base, tight = one(row), one(row, TIGHT)
    assert (tight["action"], tight["new_limit"], tight["layer"]) == (
        base["action"],
        base["new_limit"],
        base["layer"],
    )
    assert json.loads(tight["trace"])["macro"] is None


def test_the_overlay_applies_only_when_observed_stress_reaches_its_trigger() -> None:
    assert one({"score": 590}, TIGHT, stress_index=1.0)["action"] == "keep"
    assert one({"score": 590}, TIGHT, stress_index=1.3)["layer"] == "macro"


def test_a_household_over_the_cap_is_scaled_down_proportionally_as_regulatory() -> None:
    rows = [
        {"household_id": "h", "credit_limit": 150_000.0, "score": 590},
        {"household_id": "h", "credit_limit": 100_000.0, "score": 590},
        {"household_id": "g", "credit_limit": 150_000.0, "score": 590},
    ]
    out = run(rows)
    h = out.head(2)
    assert h["new_limit"].to_list() == [120_000.0, 80_000.0]  # 250k -> 200k, x0.8 each
    assert h["action"].to_list() == ["decrease", "decrease"]
    assert h["layer"].to_list() == ["regulatory", "regulatory"]
    assert all(r.startswith("REG_HOUSEHOLD_CAP") for r in h["reasons"])
    assert out.row(2, named=True)["action"] == "keep"  # alone under the cap


def test_the_cap_trims_kept_and_increased_lines_before_decreased_ones() -> None:
    rows = [
        {"household_id": "h", "credit_limit": 100_000.0, "score": 560},  # D: cut to 75k
        {"household_id": "h", "credit_limit": 99_000.0, "score": 650, "utilisation": 0.1},
        {"household_id": "h", "credit_limit": 60_000.0, "score": 590},  # C: keep
    ]
    out = run(rows)
    # Before the cap: 75k + 100k (x1.3, held at max_limit) + 60k = 235k. The decreased
    # line keeps its 75k; the other two share the remaining 125k pro rata (x0.78125),
    # rounded down to 100: 78,125 -> 78,100 and 46,875 -> 46,800.
    assert out["new_limit"].to_list() == [75_000.0, 78_100.0, 46_800.0]
    assert out["layer"].to_list() == ["individual", "regulatory", "regulatory"]
    assert out["action"].to_list() == ["decrease", "decrease", "decrease"]
    trace = json.loads(out["trace"][1])
    assert trace["cap"] == {"limit": 200_000.0, "household_total": 235_000.0}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n=st.integers(1, 40), cap=st.integers(10, 3_000))
def test_no_household_ever_exceeds_the_cap_and_cuts_by_it_are_regulatory(
    data: Any, n: int, cap: int
) -> None:
    base = TIGHT.model_dump(by_alias=True)
    base["household_cap"]["limit"] = cap * 100.0
    pol = parse_policy(base)
    rows = random_book(data.draw, n)
    out = run(rows, pol).with_columns(hh=pl.Series([r["household_id"] for r in rows]))
    drawable = out.filter(
        (pl.Series([r["status"] for r in rows]) != "closed")
        & pl.col("action").is_in(["keep", "increase", "decrease"])
    )
    totals = drawable.group_by("hh").agg(pl.col("new_limit").sum())
    assert (totals["new_limit"] <= cap * 100.0 + 1e-6).all()
    capped = out.filter(pl.col("reasons").str.starts_with("REG_HOUSEHOLD_CAP"))
    assert (capped["layer"] == "regulatory").all()
    assert (out.filter(pl.col("layer") == "regulatory")["reasons"].str.starts_with("REG_")).all()


@settings(max_examples=40, deadline=None)
@given(data=st.data(), n=st.integers(1, 30), tight=st.booleans())
def test_every_adverse_action_has_valid_reason_codes_and_a_valid_layer(
    data: Any, n: int, tight: bool
) -> None:
    out = run(random_book(data.draw, n), TIGHT if tight else None)
    codes = catalogue()
    for row in out.iter_rows(named=True):
        assert row["layer"] in LAYERS
        reasons = row["reasons"].split(";") if row["reasons"] else []
        assert len(reasons) <= 4 and len(set(reasons)) == len(reasons)
        assert all(c in codes for c in reasons)
        if row["action"] in ADVERSE_ACTIONS:
            assert reasons, row
        if row["action"] == "increase":
            assert row["new_limit"] > row["old_limit"]
        if row["action"] == "decrease":
            assert row["new_limit"] < row["old_limit"]


@settings(max_examples=15, deadline=None)
@given(data=st.data(), n=st.integers(1, 30))
def test_the_same_input_gives_the_same_output_including_the_trace(data: Any, n: int) -> None:
    rows = random_book(data.draw, n)
    a, b = run(rows, TIGHT), run(rows, TIGHT)
    assert a.equals(b)
    for t in a["trace"]:
        json.loads(t)  # every trace is valid JSON


@given(data=st.data(), n=st.integers(1, 30), tight=st.booleans())
def test_a_good_standing_account_is_never_closed_by_the_individual_layer(
    data: st.DataObject, n: int, tight: bool
) -> None:
    rows = random_book(data.draw, n)
    out = run(rows, TIGHT if tight else None)
    clean = [r["account_id"] for r in rows if r["good_standing"] and r["dpd_now"] == 0]
    closed = out.filter(
        pl.col("account_id").is_in(clean)
        & (pl.col("action") == "close")
        & (pl.col("layer") == "individual")
    )
    assert closed.height == 0, closed.select("account_id", "reasons", "trace").rows()
