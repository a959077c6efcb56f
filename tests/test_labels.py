"""The default label and its training population, on hand-worked dates.

As of 2025-06-30 with a 12-month horizon the observation date O is 2024-06-30; an
instalment counts when it turns 90 days past due (due + 90 days) in (O, as_of].
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from test_features_support import account, drawdown, portfolio, repay

from clearline.core.labels import default_labels, observation_date

AS_OF = date(2025, 6, 30)


def labels(events: list, accounts: list | None = None, **kw: object) -> dict[str, bool]:
    frame = default_labels(portfolio(events, accounts=accounts), AS_OF, **kw)
    assert frame.columns == ["account_id", "default"]
    return dict(zip(frame["account_id"], frame["default"], strict=True))


def test_the_observation_date_is_the_horizon_earlier_clipped_to_month_end() -> None:
    assert observation_date(date(2025, 6, 30)) == date(2024, 6, 30)
    assert observation_date(date(2024, 2, 29)) == date(2023, 2, 28)
    assert observation_date(date(2024, 8, 31), horizon_months=6) == date(2024, 2, 29)
    assert observation_date(date(2025, 1, 15), horizon_months=13) == date(2023, 12, 15)


@pytest.mark.parametrize("horizon", [0, -3])
def test_a_horizon_below_one_month_is_refused(horizon: int) -> None:
    with pytest.raises(ValueError, match="horizon_months"):
        observation_date(AS_OF, horizon)


def test_an_as_of_that_is_not_a_date_is_refused() -> None:
    with pytest.raises(TypeError):
        default_labels(portfolio([]), "2025-06-30")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        observation_date(datetime(2025, 6, 30))  # type: ignore[arg-type]


def test_an_instalment_turning_ninety_days_late_inside_the_window_is_a_default() -> None:
    # Due 2024-04-15 and never paid: 76 days late at O (kept), 90 days on 2024-07-14.
    assert labels([drawdown("A", "2024-03-15", 300, "L", 1)]) == {"A": True}


def test_the_ninety_day_boundary_is_inclusive_for_a_late_payment() -> None:
    # Due 2025-01-01; paid 2025-04-01 is 31 + 28 + 31 = 90 days late, a day earlier is 89.
    events = [
        drawdown("A", "2024-12-01", 300, "LA", 1),
        repay("A", "2025-04-01", 300, "LA"),
        drawdown("B", "2024-12-01", 300, "LB", 1),
        repay("B", "2025-03-31", 300, "LB"),
    ]
    assert labels(events) == {"A": True, "B": False}


def test_an_instalment_not_yet_ninety_days_late_at_the_as_of_does_not_count() -> None:
    # Due 2025-05-01, unpaid: 60 days late on 2025-06-30.
    assert labels([drawdown("A", "2025-04-01", 300, "L", 1)]) == {"A": False}


def test_arrears_that_ended_before_the_observation_date_are_outside_the_window() -> None:
    # Due 2023-02-15, paid 2023-06-01 (106 days late): 90 days reached 2023-05-16 <= O.
    events = [drawdown("A", "2023-01-15", 300, "L", 1), repay("A", "2023-06-01", 300, "L")]
    assert labels(events) == {"A": False}


def test_accounts_already_ninety_days_late_at_the_observation_date_are_excluded() -> None:
    # F: due 2024-04-01, 90 days late on O exactly -> excluded, even though it pays later.
    # G: due 2024-04-02, 89 days late on O -> kept, and defaults on 2024-07-01.
    events = [
        drawdown("F", "2024-03-01", 300, "LF", 1),
        repay("F", "2024-07-05", 300, "LF"),
        drawdown("G", "2024-03-02", 300, "LG", 1),
    ]
    assert labels(events) == {"G": True}


def test_accounts_opened_after_the_observation_date_are_not_in_the_population() -> None:
    accounts = [
        account("A", opened="2024-06-30 23:59"),
        account("B", opened="2024-07-01 00:00"),
    ]
    events = [drawdown("A", "2024-08-01", 300, "LA", 1), drawdown("B", "2024-08-01", 300, "LB", 1)]
    assert labels(events, accounts) == {"A": True}


def test_repayments_after_the_as_of_do_not_cure_a_default() -> None:
    events = [drawdown("A", "2024-12-01", 300, "L", 1), repay("A", "2025-07-01", 300, "L")]
    assert labels(events) == {"A": True}


def test_a_shorter_horizon_moves_the_observation_date_and_the_window() -> None:
    # Horizon 6: O = 2024-12-31. A turned 90 dpd on 2024-07-14 (before O) and was still
    # unpaid at O, so it leaves the population; B's 2025-01-01 instalment counts.
    events = [
        drawdown("A", "2024-03-15", 300, "LA", 1),
        drawdown("B", "2024-12-01", 300, "LB", 1),
    ]
    assert labels(events, horizon_months=6) == {"B": True}


def test_accounts_without_any_loan_are_in_the_population_and_not_defaults() -> None:
    accounts = [account("A"), account("B", opened="2025-01-01")]
    assert labels([], accounts) == {"A": False}
