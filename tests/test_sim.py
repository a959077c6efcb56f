"""The simulator's API, determinism, config validation and contract conformance."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from clearline.core.portfolio import polars_schema
from clearline.core.schema import ACCOUNT_STATUS, EMPLOYMENT, EVENT_TYPES, LINK_KINDS
from clearline.sim import SimConfig, SimResult, simulate

TABLES = ("borrowers", "accounts", "events", "links", "macro")


@pytest.fixture(scope="module")
def small() -> SimResult:
    return simulate(SimConfig(borrowers=1500, months=12, seed=11))


def test_the_same_seed_gives_identical_frames_and_another_seed_does_not() -> None:
    cfg = SimConfig(borrowers=400, months=6, seed=3)
    a, b = simulate(cfg), simulate(cfg)
    for t in TABLES:
        assert getattr(a.portfolio, t).equals(getattr(b.portfolio, t)), t
    assert a.truth.equals(b.truth)
    c = simulate(SimConfig(borrowers=400, months=6, seed=4))
    assert not a.portfolio.events.equals(c.portfolio.events)


def test_every_table_has_exactly_the_contract_columns_and_dtypes(small: SimResult) -> None:
    for t in TABLES:
        frame = getattr(small.portfolio, t)
        assert dict(frame.schema) == polars_schema(t), t
        assert frame.height > 0, t
    assert small.portfolio.events["ts"].dtype == pl.Datetime("us", "UTC")


def test_ids_are_unique_well_formed_and_references_resolve(small: SimResult) -> None:
    p = small.portfolio
    for frame, col, pattern in (
        (p.borrowers, "borrower_id", r"^B\d{6}$"),
        (p.accounts, "account_id", r"^A\d{6}$"),
        (p.events, "event_id", r"^E\d{8}$"),
    ):
        assert frame[col].n_unique() == frame.height
        assert frame[col].str.contains(pattern).all()
    borrowers = set(p.borrowers["borrower_id"])
    assert set(p.accounts["borrower_id"]) <= borrowers
    assert set(p.events["account_id"]) <= set(p.accounts["account_id"])
    assert set(p.links["borrower_id"]) | set(p.links["other_borrower_id"]) <= borrowers
    assert (p.links["borrower_id"] != p.links["other_borrower_id"]).all()
    assert set(p.links["kind"]) <= set(LINK_KINDS)
    assert set(small.truth["borrower_id"]) == borrowers


def test_enums_bounds_and_timestamps_follow_the_contract(small: SimResult) -> None:
    p = small.portfolio
    b, a, e = p.borrowers, p.accounts, p.events
    assert set(b["employment"]) <= set(EMPLOYMENT)
    assert b["birth_year"].is_between(1900, date.today().year).all()
    assert (b["declared_monthly_income"] >= 0).all()
    assert set(a["status"]) <= set(ACCOUNT_STATUS)
    assert (a["credit_limit"] >= 0).all()
    assert set(e["type"]) == set(EVENT_TYPES)  # every event type occurs
    assert (e["amount"] >= 0).all()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = datetime(2025, 1, 1, tzinfo=UTC)
    assert e["ts"].min() >= start and e["ts"].max() < end
    assert e["ts"].is_sorted()
    assert p.macro["month"].to_list() == [f"2024-{m:02d}" for m in range(1, 13)]


def test_drawdowns_carry_loan_term_and_apr_and_repayments_name_a_loan_of_their_account(
    small: SimResult,
) -> None:
    e = small.portfolio.events
    dd = e.filter(pl.col("type") == "drawdown")
    assert dd["loan_id"].null_count() == dd["term_months"].null_count() == 0
    assert dd["apr"].null_count() == 0
    assert dd["loan_id"].n_unique() == dd.height
    assert dd["term_months"].is_between(1, 36).all()
    assert dd["apr"].is_between(0.0, 1.0).all()
    # Most prices are in the usual consumer range.
    assert dd["apr"].is_between(0.08, 0.24).mean() > 0.8
    rep = e.filter(pl.col("type") == "repayment")
    assert rep["loan_id"].null_count() == 0
    owner = dd.select("loan_id", pl.col("account_id").alias("owner"), pl.col("ts").alias("t0"))
    joined = rep.join(owner, on="loan_id", how="left")
    assert joined["owner"].null_count() == 0
    assert (joined["owner"] == joined["account_id"]).all()
    assert (joined["ts"] > joined["t0"]).all()
    other = e.filter(~pl.col("type").is_in(["drawdown", "repayment"]))
    assert other["loan_id"].null_count() == other.height
    inquiries = e.filter(pl.col("type") == "external_inquiry")
    assert (inquiries["amount"] == 0).all()


def test_households_have_several_members_and_lone_borrowers_have_none(small: SimResult) -> None:
    b = small.portfolio.borrowers
    sizes = b.drop_nulls("household_id").group_by("household_id").len()
    assert sizes.height > 0
    assert (sizes["len"] >= 2).all()
    assert b["household_id"].null_count() > b.height / 2  # most borrowers live alone


def test_truth_has_one_row_per_borrower_with_known_types(small: SimResult) -> None:
    t = small.truth
    assert t.columns == ["borrower_id", "type", "hidden_risk", "defaulted"]
    assert t.schema["defaulted"] == pl.Boolean
    assert t["hidden_risk"].is_between(0.0, 1.0).all()
    assert set(t["type"]) <= {"steady", "deteriorator", "misuser", "multi_lender", "innocent"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"borrowers": 0}, "borrowers"),
        ({"borrowers": -5}, "borrowers"),
        ({"months": 0}, "months"),
        ({"months": 121}, "months"),
        ({"type_shares": {"steady": 1.0, "fraudster": 0.1}}, "fraudster"),
        ({"type_shares": {"steady": -0.1, "innocent": 1.0}}, "non-negative"),
        ({"type_shares": {"steady": 0.0}}, "positive"),
        ({"start": date(2024, 1, 15)}, "first day"),
        ({"macro_peak": 0.0}, "macro_peak"),
    ],
)
def test_a_bad_config_is_rejected_with_a_clear_message(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SimConfig(**kwargs)


def test_a_single_borrower_for_one_month_still_gives_a_valid_portfolio() -> None:
    r = simulate(SimConfig(borrowers=1, months=1, seed=1))
    assert r.portfolio.borrowers.height == 1
    assert r.portfolio.accounts.height >= 1
    assert dict(r.portfolio.events.schema) == polars_schema("events")
    assert r.truth.height == 1
