"""Features at an as-of date, each checked on a hand-built portfolio."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_support import account, borrower, drawdown, ev, portfolio, repay

from clearline.core.features import (
    FEATURE_COLUMNS,
    FEATURE_SCHEMA,
    build_features,
    with_line_state,
)


def row(p: Any, as_of: date, account_id: str = "A") -> dict[str, Any]:
    f = build_features(p, as_of)
    return f.filter(pl.col("account_id") == account_id).row(0, named=True)


# One 300 loan over 3 months at 0 %: instalments of 100 due Feb 10, Mar 10, Apr 10.
LOAN = drawdown("A", "2024-01-10 09:00", 300, "L", 3)


def test_the_frame_has_exactly_the_architecture_columns_in_order_and_types() -> None:
    f = build_features(portfolio([LOAN]), date(2024, 3, 1))
    assert f.columns == list(FEATURE_COLUMNS)
    assert f.schema == pl.Schema(FEATURE_SCHEMA)
    assert FEATURE_COLUMNS[:3] == ("account_id", "borrower_id", "household_id")
    assert FEATURE_COLUMNS[-2:] == ("linked_arrears_share", "n_links")


def test_a_late_payment_makes_good_standing_false_forever_after() -> None:
    # k1 paid on its due date, k2 two days late (Mar 12), k3 early (Apr 5).
    p = portfolio(
        [
            LOAN,
            repay("A", "2024-02-10 18:00", 100, "L"),
            repay("A", "2024-03-12", 100, "L"),
            repay("A", "2024-04-05", 100, "L"),
        ]
    )
    on_k2_due = row(p, date(2024, 3, 10))  # k2 not yet past due on its due date
    assert (on_k2_due["good_standing"], on_k2_due["instalments_due"]) == (True, 1)
    day_after = row(p, date(2024, 3, 11))
    assert (day_after["good_standing"], day_after["dpd_now"]) == (False, 1)
    long_after = row(p, date(2025, 1, 1))
    assert long_after["good_standing"] is False
    assert (long_after["dpd_now"], long_after["dpd_worst"]) == (0, 2)
    assert long_after["instalments_due"] == 3
    assert long_after["on_time_ratio"] == pytest.approx(2 / 3)


def test_an_early_payment_keeps_good_standing() -> None:
    p = portfolio([LOAN, repay("A", "2024-01-20", 300, "L")])
    r = row(p, date(2024, 6, 1))
    assert (r["good_standing"], r["dpd_worst"], r["on_time_ratio"]) == (True, 0, 1.0)


def test_dpd_now_is_the_age_of_the_oldest_unpaid_past_due_instalment() -> None:
    # Nothing paid by Apr 20: k1 (due Feb 10) is 29 + 31 + 10 = 70 days past due.
    unpaid = portfolio([LOAN])
    r = row(unpaid, date(2024, 4, 20))
    assert (r["dpd_now"], r["dpd_worst"], r["on_time_ratio"]) == (70, 70, 0.0)
    # 100 paid Apr 25 settles k1 (75 days late); on May 1 k2 (due Mar 10) is 52 days.
    caught_up = portfolio([LOAN, repay("A", "2024-04-25", 100, "L")])
    r = row(caught_up, date(2024, 5, 1))
    assert (r["dpd_now"], r["dpd_worst"]) == (52, 75)


def test_an_account_without_loans_has_zero_counts_null_ratios_and_good_standing() -> None:
    r = row(portfolio([ev("A", "2024-01-01", "purchase", 10)]), date(2024, 6, 1))
    assert (r["dpd_now"], r["dpd_worst"], r["instalments_due"], r["drawdowns_90d"]) == (0, 0, 0, 0)
    assert r["on_time_ratio"] is None and r["good_standing"] is True
    assert r["days_since_drawdown"] is None and r["transfer_out_share_7d"] is None
    assert (r["outstanding"], r["utilisation"], r["instalment_burden"]) == (0.0, 0.0, 0.0)


def test_utilisation_outstanding_and_burden_follow_the_open_loans() -> None:
    accounts = [account("A", limit=1000), account("Z", limit=0)]
    events = [LOAN, repay("A", "2024-02-09", 100, "L"), drawdown("Z", "2024-01-10", 300, "LZ", 3)]
    p = portfolio(events, accounts=accounts)
    r = row(p, date(2024, 2, 15))
    # 300 - 100 * 300 / (3 * 100) = 200 outstanding on a 1000 limit.
    assert (r["outstanding"], r["utilisation"]) == (pytest.approx(200.0), pytest.approx(0.2))
    assert r["instalment_burden"] == pytest.approx(100.0)
    assert r["debt_to_income"] == pytest.approx(100.0 / 5000.0)
    assert row(p, date(2024, 2, 15), "Z")["utilisation"] is None  # zero limit
    repaid = portfolio(events + [repay("A", "2024-03-01", 200, "L")], accounts=accounts)
    r = row(repaid, date(2024, 3, 2))
    assert (r["outstanding"], r["instalment_burden"], r["debt_to_income"]) == (0.0, 0.0, 0.0)


def test_transfers_out_shortly_after_drawdowns_give_share_and_median_hours() -> None:
    events = [
        drawdown("A", "2024-01-01 00:00", 5000, "OLD", 3),  # > 90 days before: ignored
        ev("A", "2024-01-01 01:00", "transfer_out", 5000, cp="x"),
        drawdown("A", "2024-05-01 10:00", 1000, "L1", 3),
        ev("A", "2024-05-01 16:00", "transfer_out", 400, cp="x"),  # 6 h after
        ev("A", "2024-05-06 10:00", "transfer_out", 300, cp="y"),
        ev("A", "2024-05-08 10:00", "transfer_out", 200, cp="y"),  # exactly 7 days: out
        drawdown("A", "2024-05-20 00:00", 1000, "L2", 3),
        ev("A", "2024-05-22 00:00", "transfer_out", 100, cp="z"),  # 48 h after
        ev("A", "2024-05-22 00:00", "transfer_in", 900, cp="z"),  # not a transfer out
    ]
    r = row(portfolio(events), date(2024, 5, 31))
    # (400 + 300 + 100) / (1000 + 1000); median of 6 h and 48 h.
    assert r["transfer_out_share_7d"] == pytest.approx(0.4)
    assert r["hours_to_transfer_out"] == pytest.approx(27.0)
    assert (r["drawdowns_90d"], r["days_since_drawdown"]) == (2, 11)


def test_a_drawdown_with_no_transfer_within_seven_days_has_no_hours() -> None:
    events = [drawdown("A", "2024-05-01", 1000, "L", 3)]
    r = row(portfolio(events), date(2024, 5, 31))
    assert (r["transfer_out_share_7d"], r["hours_to_transfer_out"]) == (0.0, None)


def test_new_counterparties_are_those_first_paid_in_the_last_30_days() -> None:
    # As of Jun 30 the window starts Jun 1 00:00.
    events = [
        ev("A", "2024-03-01", "transfer_out", 10, cp="old"),
        ev("A", "2024-06-10", "transfer_out", 10, cp="old"),
        ev("A", "2024-06-05", "transfer_out", 10, cp="new"),
        ev("A", "2024-06-20", "transfer_out", 10, cp="new"),
        ev("A", "2024-05-31 23:00", "transfer_out", 10, cp="edge"),
        ev("A", "2024-06-15", "transfer_out", 10, cp="edge"),
        ev("A", "2024-06-10", "purchase", 10, cp="shop"),
        ev("A", "2024-06-10", "transfer_in", 10, cp="friend"),
        ev("A", "2024-06-11", "transfer_out", 10, cp=None),
        ev("A", "2024-07-01", "transfer_out", 10, cp="tomorrow"),
    ]
    assert row(portfolio(events), date(2024, 6, 30))["new_counterparties_30d"] == 1


def test_inquiry_windows_include_the_as_of_day_and_end_at_the_window_start() -> None:
    # Cut-off Jul 1 00:00: 30 days back is Jun 1 00:00, 90 days back is Apr 2 00:00.
    whens = ["2024-06-30 23:59", "2024-06-01 00:00", "2024-05-31 23:59", "2024-04-02 00:00"]
    whens += ["2024-04-01 23:59", "2024-07-01 00:00"]
    events = [ev("A", w, "external_inquiry") for w in whens]
    r = row(portfolio(events), date(2024, 6, 30))
    assert (r["inquiries_30d"], r["inquiries_90d"]) == (2, 4)


def test_city_changes_count_moves_between_consecutive_located_events_in_180_days() -> None:
    # Window starts 2024-01-03 (Jul 1 - 180 days).
    events = [
        ev("A", "2023-12-01", "purchase", 1, city="Shanghai"),
        ev("A", "2024-01-02", "purchase", 1, city="Beijing"),  # change, before window
        ev("A", "2024-02-01", "purchase", 1, city="Beijing"),
        ev("A", "2024-03-01", "purchase", 1, city=None),
        ev("A", "2024-03-02", "purchase", 1, city=""),
        ev("A", "2024-04-01", "purchase", 1, city="Shenzhen"),  # change
        ev("A", "2024-05-01", "purchase", 1, city="Shanghai"),  # change
    ]
    assert row(portfolio(events), date(2024, 6, 30))["city_changes_180d"] == 2


def test_linked_arrears_share_counts_distinct_linked_borrowers_in_either_direction() -> None:
    accounts = [account(a, borrower_id=f"B-{a}") for a in "ABCD"]
    events = [drawdown("B", "2024-01-10", 100, "LB", 1)]  # B unpaid: in arrears on Mar 1
    links = [
        ("B-A", "B-B", "contact"),
        ("B-A", "B-C", "device"),
        ("B-C", "B-A", "address"),  # same pair again, other direction
        ("B-A", "B-A", "device"),  # self link: ignored
    ]
    f = build_features(portfolio(events, accounts=accounts, links=links), date(2024, 3, 1))
    got = {r["account_id"]: (r["n_links"], r["linked_arrears_share"]) for r in f.to_dicts()}
    assert got == {"A": (2, 0.5), "B": (1, 0.0), "C": (1, 0.0), "D": (0, None)}


def test_borrower_fields_household_and_age_come_from_the_borrowers_table() -> None:
    accounts = [account("A", borrower_id="b1"), account("B", borrower_id="b2")]
    accounts.append(account("C", borrower_id="b3"))
    borrowers = [borrower("b1"), borrower("b2", household="h9", birth_year=1960)]
    borrowers.append(borrower("b3", household="  "))
    f = build_features(portfolio([], accounts=accounts, borrowers=borrowers), date(2024, 6, 30))
    assert f["household_id"].to_list() == ["b1", "h9", "b3"]
    assert f["age"].to_list() == [34, 64, 34]
    assert f["account_age_days"].to_list() == [546, 546, 546]  # 2023-01-01 -> 2024-06-30
    assert f["monthly_income"].to_list() == [5000.0] * 3


def test_every_opened_account_has_a_row_including_closed_ones_but_not_future_ones() -> None:
    accounts = [
        account("A", status="closed"),
        account("B", opened="2024-06-30"),
        account("C", opened="2024-07-01"),
    ]
    f = build_features(portfolio([], accounts=accounts), date(2024, 6, 30))
    assert f["account_id"].to_list() == ["A", "B"]
    assert f["status"].to_list() == ["closed", "active"]
    assert f["account_age_days"].to_list() == [546, 0]


@pytest.mark.parametrize("bad", ["2024-06-30", datetime(2024, 6, 30), 20240630, None])
def test_an_as_of_that_is_not_a_calendar_date_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match="as_of"):
        build_features(portfolio([LOAN]), bad)  # type: ignore[arg-type]


def _line_state_by_query(features: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """with_line_state as one polars query (its definition before it became Series ops)."""
    util = pl.when(pl.col("credit_limit") > 0).then(pl.col("outstanding") / pl.col("credit_limit"))
    return (
        features.drop("credit_limit", "status")
        .join(lines.select("account_id", "credit_limit", "status"), on="account_id", how="left")
        .with_columns(utilisation=util)
        .select(pl.col(name).cast(dtype) for name, dtype in FEATURE_SCHEMA.items())
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(0, 30), shuffle=st.booleans())
def test_line_state_equals_the_query_it_replaces_for_any_lines(
    seed: int, n: int, shuffle: bool
) -> None:
    rng = np.random.default_rng(seed)
    accounts = [account(f"A{i:02d}") for i in range(max(n, 1))]
    base = build_features(portfolio([], accounts=accounts), date(2024, 6, 30))
    base = base.head(n).with_columns(
        outstanding=pl.Series([None if r < 0.2 else float(r * 900) for r in rng.random(n)])
    )
    ids = base["account_id"].to_list()
    kept = [a for a in ids if rng.random() > 0.2]  # some accounts have no line row
    if shuffle:
        kept = list(rng.permutation(kept))
    choices = [None, 0.0, -5.0, 0.5, 1500.0, 20_000.0]  # null, zero and negative limits too
    limits = [choices[int(r * len(choices))] for r in rng.random(len(kept))]
    lines = pl.DataFrame(
        {
            "account_id": kept,
            "credit_limit": limits,
            "status": [["open", "frozen", "closed"][int(r * 3)] for r in rng.random(len(kept))],
        },
        schema={"account_id": pl.String, "credit_limit": pl.Float64, "status": pl.String},
    )
    for given_lines in (lines, lines.filter(pl.col("account_id").is_in(ids)).sort("account_id")):
        got = with_line_state(base, given_lines)
        assert got.equals(_line_state_by_query(base, given_lines))
        assert got.schema == pl.Schema(FEATURE_SCHEMA)
