"""Instalment schedules, repayment allocation and per-loan balances."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features_support import drawdown, events_frame, repay, ts

from clearline.core.ledger import (
    _add_months,
    as_of_cutoff,
    delinquency,
    instalments,
    loan_balances,
    loans,
)

FAR = ts("2030-01-01")


def test_a_twelve_month_loan_at_twelve_percent_has_the_textbook_annuity() -> None:
    # 1000 at 1 % a month over 12 months: 1000 * 0.01 / (1 - 1.01**-12) = 88.8488 -> 88.85.
    inst = instalments(events_frame([drawdown("A", "2024-01-10", 1000, "L", 12, 0.12)]), FAR)
    assert inst.height == 12
    assert inst["k"].to_list() == list(range(1, 13))
    assert set(inst["amount"].to_list()) == {88.85}


def test_a_zero_rate_loan_splits_the_principal_into_equal_cent_rounded_parts() -> None:
    inst = instalments(events_frame([drawdown("A", "2024-01-10", 1000, "L", 3, 0.0)]), FAR)
    assert inst["amount"].to_list() == [333.33, 333.33, 333.33]


def test_due_dates_are_calendar_months_after_the_drawdown_day_clipped_to_month_end() -> None:
    # Drawn on Jan 31 (leap year): Feb 29, Mar 31, Apr 30, then Jan 31 of the next year.
    inst = instalments(events_frame([drawdown("A", "2024-01-31 10:00", 1200, "L", 13)]), FAR)
    due = inst["due"].to_list()
    assert due[:3] == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]
    assert due[12] == date(2025, 2, 28)
    assert inst.schema["due"] == pl.Date


def test_the_due_date_follows_the_utc_calendar_day_of_the_drawdown() -> None:
    inst = instalments(events_frame([drawdown("A", "2023-12-31 23:59", 100, "L", 2)]), FAR)
    assert inst["due"].to_list() == [date(2024, 1, 31), date(2024, 2, 29)]


@settings(max_examples=60, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2060, 12, 31)), st.integers(1, 36))
def test_month_arithmetic_matches_polars_offset_by(d: date, k: int) -> None:
    frame = pl.DataFrame({"d": [d], "k": [k]})
    got = frame.select(_add_months(pl.col("d"), pl.col("k"))).item()
    assert got == frame.select(pl.col("d").dt.offset_by(f"{k}mo")).item()


def test_a_repayment_settles_the_oldest_unpaid_instalment_first() -> None:
    rows = [
        drawdown("A", "2024-01-10", 300, "L", 3),
        repay("A", "2024-02-20", 100, "L"),
        repay("A", "2024-03-20", 100, "L"),
    ]
    inst = instalments(events_frame(rows), FAR)
    assert inst["paid_on"].to_list() == [date(2024, 2, 20), date(2024, 3, 20), None]


def test_partial_repayments_accumulate_until_an_instalment_is_covered() -> None:
    # Cumulative 60, 120, 180, 300: k1 (needs 99.99) on the 2nd, k2 and k3 on the 4th.
    rows = [
        drawdown("A", "2024-01-10", 300, "L", 3),
        repay("A", "2024-02-25", 60, "L"),
        repay("A", "2024-03-10", 60, "L"),
        repay("A", "2024-03-30", 60, "L"),
        repay("A", "2024-04-30", 120, "L"),
    ]
    inst = instalments(events_frame(rows), FAR)
    assert inst["paid_on"].to_list() == [date(2024, 3, 10), date(2024, 4, 30), date(2024, 4, 30)]


def test_a_payment_one_cent_short_per_instalment_still_settles_it() -> None:
    # Instalments of 333.33: k needs k * 333.33 - 0.01 * k; paying 333.32 each time is
    # exactly that, 333.31 is not.
    rows = [drawdown("A", "2024-01-10", 1000, "L", 3)] + [
        repay("A", f"2024-0{m}-05", 333.32, "L") for m in (2, 3, 4)
    ]
    assert instalments(events_frame(rows), FAR)["paid_on"].null_count() == 0
    short = [drawdown("A", "2024-01-10", 1000, "L", 3), repay("A", "2024-02-05", 333.31, "L")]
    assert instalments(events_frame(short), FAR)["paid_on"].to_list() == [None] * 3


def test_repayments_of_one_loan_never_settle_another_loan() -> None:
    rows = [
        drawdown("A", "2024-01-10", 100, "L1", 1),
        drawdown("A", "2024-01-10", 100, "L2", 1),
        repay("A", "2024-02-01", 100, "L2"),
        repay("A", "2024-02-01", 500, "ORPHAN"),  # no drawdown: ignored
    ]
    inst = instalments(events_frame(rows), FAR)
    assert dict(zip(inst["loan_id"], inst["paid_on"], strict=True)) == {
        "L1": None,
        "L2": date(2024, 2, 1),
    }


def test_only_drawdowns_and_repayments_before_the_cutoff_count() -> None:
    rows = [
        drawdown("A", "2024-01-10", 100, "L", 1),
        repay("A", "2024-02-10", 100, "L"),
        drawdown("A", "2024-02-10", 100, "LATER", 1),
    ]
    inst = instalments(events_frame(rows), ts("2024-02-10"))
    assert inst["loan_id"].to_list() == ["L"]
    assert inst["paid_on"].to_list() == [None]


def test_outstanding_principal_falls_in_proportion_to_the_scheduled_total_repaid() -> None:
    # 88.85 * 12 = 1066.20 scheduled; 6 instalments (533.10) retire half the principal.
    rows = [drawdown("A", "2024-01-10", 1000, "L", 12, 0.12)] + [
        repay("A", f"2024-{m:02d}-10", 88.85, "L") for m in range(2, 8)
    ]
    events = events_frame(rows)
    bal = loan_balances(loans(events, FAR), instalments(events, FAR))
    assert bal["outstanding"].item() == pytest.approx(500.0)
    assert bal["open"].item() is True


def test_an_overpaid_loan_has_nothing_outstanding_and_is_closed() -> None:
    events = events_frame(
        [drawdown("A", "2024-01-10", 300, "L", 3), repay("A", "2024-01-20", 400, "L")]
    )
    bal = loan_balances(loans(events, FAR), instalments(events, FAR))
    assert bal["outstanding"].item() == 0.0
    assert bal["open"].item() is False


def test_days_past_due_count_from_the_day_after_the_due_date() -> None:
    # Due Feb 10, unpaid: 0 on Feb 10, 1 on Feb 11; paid Feb 14 -> worst 4 afterwards.
    events = events_frame([drawdown("A", "2024-01-10", 100, "L", 1)])
    on_due = delinquency(instalments(events, as_of_cutoff(date(2024, 2, 10))), date(2024, 2, 10))
    assert (on_due["dpd_now"].item(), on_due["good_standing"].item()) == (0, True)
    next_day = delinquency(instalments(events, as_of_cutoff(date(2024, 2, 11))), date(2024, 2, 11))
    assert (next_day["dpd_now"].item(), next_day["good_standing"].item()) == (1, False)
    paid = events_frame(
        [drawdown("A", "2024-01-10", 100, "L", 1), repay("A", "2024-02-14", 100, "L")]
    )
    later = delinquency(instalments(paid, as_of_cutoff(date(2024, 3, 1))), date(2024, 3, 1))
    assert (later["dpd_now"].item(), later["dpd_worst"].item()) == (0, 4)


def test_an_empty_event_frame_gives_an_empty_typed_schedule() -> None:
    inst = instalments(events_frame([]), FAR)
    assert inst.height == 0
    assert inst.schema["due"] == pl.Date and inst.schema["paid_on"] == pl.Date


def test_a_cutoff_that_is_not_a_datetime_is_refused() -> None:
    with pytest.raises(TypeError):
        instalments(events_frame([]), date(2024, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        as_of_cutoff(datetime(2024, 1, 1))  # type: ignore[arg-type]


def test_a_loan_id_drawn_twice_keeps_its_first_drawdown_and_empty_drawdowns_are_no_loans() -> None:
    rows = [
        drawdown("A", "2024-03-01", 900, "L", 3),
        drawdown("A", "2024-01-10", 300, "L", 3),  # earlier: this one is the loan
        drawdown("A", "2024-01-10", 0, "ZERO", 3),
    ]
    ln = loans(events_frame(rows), FAR)
    assert (ln["loan_id"].to_list(), ln["principal"].to_list()) == (["L"], [300.0])
    assert instalments(events_frame(rows), FAR)["due"][0] == date(2024, 2, 10)
