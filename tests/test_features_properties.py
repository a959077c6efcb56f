"""Properties of the features: no look-ahead, and missing a payment never helps."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from test_features_support import account, drawdown, ev, portfolio, repay

from clearline.core.features import build_features
from clearline.core.ledger import as_of_cutoff
from clearline.core.schema import EVENT_TYPES

ACCOUNTS = ["A", "B", "C"]
LOAN_IDS = ["LA1", "LA2", "LB1", "NEW"]

# A small but busy history: loans paid on time, late and not at all, transfers,
# inquiries, moves; links so that linked_arrears_share is live too.
BASE: list[dict[str, Any]] = [
    drawdown("A", "2024-01-15 08:00", 3000, "LA1", 6, 0.18),
    repay("A", "2024-02-14", 526.58, "LA1"),
    repay("A", "2024-03-20", 526.58, "LA1"),
    repay("A", "2024-05-01", 800, "LA1"),
    ev("A", "2024-01-15 12:00", "transfer_out", 2500, cp="p1", city="Shanghai"),
    ev("A", "2024-04-01", "transfer_out", 100, cp="p2", city="Hangzhou"),
    drawdown("A", "2024-05-20", 1000, "LA2", 3),
    ev("A", "2024-05-20 05:00", "transfer_out", 900, cp="p3", city="Shanghai"),
    ev("A", "2024-06-01", "external_inquiry"),
    drawdown("B", "2024-02-01", 600, "LB1", 3),
    repay("B", "2024-03-01", 200, "LB1"),
    ev("B", "2024-03-05", "purchase", 50, cp="shop", city="Beijing"),
    ev("B", "2024-04-05", "external_inquiry", city="Tianjin"),
    ev("C", "2024-02-10", "transfer_in", 500, cp="p1"),
]
LINKS = [("B-A", "B-B", "contact"), ("B-C", "B-B", "device")]


def _portfolio(events: list[dict[str, Any]]) -> Any:
    return portfolio(events, accounts=[account(a) for a in ACCOUNTS], links=LINKS)


@st.composite
def future_events(draw: st.DrawFn, as_of: date) -> list[dict[str, Any]]:
    """Arbitrary events stamped at or after the as-of cut-off."""
    start = as_of_cutoff(as_of)
    out = []
    for _ in range(draw(st.integers(1, 6))):
        when = start + timedelta(seconds=draw(st.integers(0, 400 * 86_400)))
        e = ev(
            draw(st.sampled_from(ACCOUNTS)),
            "2000-01-01",
            draw(st.sampled_from(EVENT_TYPES)),
            draw(st.floats(0, 5000, allow_nan=False)),
            loan=draw(st.sampled_from(LOAN_IDS)),
            term=draw(st.integers(1, 36)),
            apr=draw(st.sampled_from([0.0, 0.12, 0.36])),
            cp=draw(st.sampled_from(["p1", "p9", None])),
            city=draw(st.sampled_from(["Shanghai", "Xi'an", None])),
        )
        e["ts"] = when
        out.append(e)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.dates(date(2024, 1, 1), date(2024, 9, 30)))
def test_events_after_the_as_of_never_change_any_feature(data: st.DataObject, as_of: date) -> None:
    before = build_features(_portfolio(BASE), as_of)
    extra = data.draw(future_events(as_of))
    after = build_features(_portfolio(BASE + extra), as_of)
    assert_frame_equal(before, after)


@st.composite
def loan_history(draw: st.DrawFn) -> tuple[list[dict[str, Any]], date]:
    """One loan and a handful of repayments at random days and amounts."""
    term = draw(st.integers(1, 6))
    principal = draw(st.sampled_from([300.0, 1000.0, 2500.0]))
    rows = [
        drawdown("A", "2024-01-31 10:00", principal, "L", term, draw(st.sampled_from([0, 0.2])))
    ]
    for _ in range(draw(st.integers(1, 6))):
        day = date(2024, 1, 31) + timedelta(days=draw(st.integers(0, 240)))
        amount = draw(st.sampled_from([principal / term, principal / 2, 50.0, principal]))
        rows.append(repay("A", day.isoformat(), round(amount, 2), "L"))
    as_of = date(2024, 1, 31) + timedelta(days=draw(st.integers(0, 300)))
    return rows, as_of


def _no_better(worse: dict[str, Any], base: dict[str, Any]) -> None:
    assert worse["dpd_worst"] >= base["dpd_worst"]
    assert worse["dpd_now"] >= base["dpd_now"]
    assert worse["instalments_due"] == base["instalments_due"]
    if base["on_time_ratio"] is not None:
        assert worse["on_time_ratio"] <= base["on_time_ratio"]
    assert not worse["good_standing"] or base["good_standing"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_history(), st.data())
def test_missing_or_delaying_a_repayment_never_improves_the_record(
    history: tuple[list[dict[str, Any]], date], data: st.DataObject
) -> None:
    rows, as_of = history
    base = build_features(_portfolio(rows), as_of).row(0, named=True)
    i = data.draw(st.integers(1, len(rows) - 1))
    missed = rows[:i] + rows[i + 1 :]
    _no_better(build_features(_portfolio(missed), as_of).row(0, named=True), base)
    delayed = [dict(r) for r in rows]
    delayed[i]["ts"] += timedelta(days=data.draw(st.integers(1, 60)))
    _no_better(build_features(_portfolio(delayed), as_of).row(0, named=True), base)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_history(), st.integers(0, 200))
def test_a_new_loan_left_unpaid_never_improves_the_worst_arrears(
    history: tuple[list[dict[str, Any]], date], offset: int
) -> None:
    rows, as_of = history
    base = build_features(_portfolio(rows), as_of).row(0, named=True)
    day = (date(2024, 1, 31) + timedelta(days=offset)).isoformat()
    worse = build_features(_portfolio([*rows, drawdown("A", day, 400, "UNPAID", 4)]), as_of)
    r = worse.row(0, named=True)
    assert r["dpd_worst"] >= base["dpd_worst"] and r["dpd_now"] >= base["dpd_now"]
    assert not r["good_standing"] or base["good_standing"]
