"""The policy expression language: grammar, type checks, and null-safe evaluation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from clearline.core.policy.evaluate import Columns, holds, predicate
from clearline.core.policy.expr import ExprError, field_names, parse
from clearline.core.policy.fields import CONDITION_FIELDS

FRAME = pl.DataFrame(
    {
        "dpd_now": [0, 35, 40, None],
        "inquiries_30d": [7, 0, 2, 9],
        "utilisation": [0.95, 0.2, None, 0.5],
        "employment": ["student", "salaried", None, "retired"],
        "income_verified": [True, False, None, True],
        "monthly_income": [1000.0, 0.0, 5000.0, 2000.0],
    }
)


def ev(text: str) -> list[bool | None]:
    """Per row: True / False when known, None when unknown."""
    t, f = predicate(parse(text, CONDITION_FIELDS), Columns(FRAME, CONDITION_FIELDS))
    return [True if a else False if b else None for a, b in zip(t, f, strict=True)]


def test_the_issue_example_combines_and_or_and_parentheses() -> None:
    text = "dpd_now >= 30 and (inquiries_30d >= 6 or utilisation > 0.9)"
    # row 1: 35 >= 30 but neither; row 2: utilisation unknown and inquiries 2 -> unknown.
    assert ev(text) == [False, False, None, None]
    assert ev("dpd_now >= 30 or inquiries_30d >= 6") == [True, True, True, True]


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    assert ev("inquiries_30d >= 6 or dpd_now >= 30 and utilisation > 0.9") == ev(
        "inquiries_30d >= 6 or (dpd_now >= 30 and utilisation > 0.9)"
    )
    assert ev("not dpd_now >= 30 and inquiries_30d >= 6") == [True, False, False, None]


def test_arithmetic_follows_the_usual_precedence_and_division_by_zero_is_unknown() -> None:
    assert ev("inquiries_30d + 1 * 2 == 9") == [True, False, False, False]
    assert ev("(inquiries_30d + 1) * 2 == 16") == [True, False, False, False]
    assert ev("-dpd_now < -30") == [False, True, True, None]
    assert ev("inquiries_30d / monthly_income > 0") == [True, None, True, True]  # 0/0: unknown


def test_unknown_values_never_make_a_condition_hold_even_under_not() -> None:
    assert ev("utilisation > 0.9") == [True, False, None, False]
    assert ev("not utilisation > 0.9") == [False, True, None, True]
    assert ev("utilisation is null") == [False, False, True, False]
    assert ev("utilisation is not null and utilisation < 0.3") == [False, True, False, False]


def test_text_and_boolean_features_take_equality_and_in_lists() -> None:
    assert ev("employment == 'student'") == [True, False, None, False]
    assert ev('employment in ["student", "retired"]') == [True, False, None, True]
    assert ev("employment not in ['student']") == [False, True, None, True]
    assert ev("income_verified") == [True, False, None, True]
    assert ev("income_verified == false") == [False, True, None, False]
    assert ev("dpd_now in [35, 40]") == [False, True, True, None]


def test_field_names_lists_every_feature_read() -> None:
    node = parse("dpd_now >= 30 and (employment == 'x' or utilisation is null)", CONDITION_FIELDS)
    assert field_names(node) == {"dpd_now", "employment", "utilisation"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dpd_nwo >= 30", "unknown feature 'dpd_nwo' (did you mean 'dpd_now'?)"),
        ("dpd_now >= ", "column 12: expected a value"),
        ("dpd_now = 30", "column 9: unexpected character '='"),
        ("dpd_now >= 30 and", "expected a value"),
        ("(dpd_now >= 30", "expected ')'"),
        ("dpd_now >= 30)", "unexpected ')'"),
        ("employment > 3", "compares numbers"),
        ("employment == 3", "cannot compare string with number"),
        ("dpd_now + 1", "must be true or false"),
        ("dpd_now and inquiries_30d", "'and' needs a bool"),
        ("employment in ['a', 2]", "'in' list holds 2"),
        ("0 < dpd_now < 30", "do not chain"),
        ("__import__('os')", "unexpected '('"),
        ("dpd_now.real > 0", "unexpected character '.'"),
        ("", "empty expression"),
    ],
)
def test_bad_expressions_are_refused_with_a_message_that_points_at_the_problem(
    text: str, message: str
) -> None:
    with pytest.raises(ExprError) as err:
        parse(text, CONDITION_FIELDS)
    assert message in str(err.value)


def test_nothing_is_evaluated_as_python() -> None:
    # Names only ever resolve to feature columns: a Python builtin is an unknown feature.
    with pytest.raises(ExprError, match="unknown feature 'open'"):
        parse("open == 1", CONDITION_FIELDS)


def test_a_missing_optional_history_column_reads_as_no_history() -> None:
    node = parse("days_since_last_change < 30 or last_action == 'close'", CONDITION_FIELDS)
    t, f = predicate(node, Columns(FRAME, CONDITION_FIELDS))
    assert not t.any() and not f.any()  # all unknown
    assert np.array_equal(t, np.zeros(4, dtype=bool))


@pytest.mark.parametrize(
    "text",
    [
        "dpd_now >= 30",
        "dpd_now != 35",
        "utilisation < 0.5 and inquiries_30d >= 2",
        "utilisation >= 0.9 or dpd_now > 30",
        "not (utilisation < 0.5) and dpd_now == 0",
        "monthly_income / dpd_now > 10 or employment == 'student'",
        "(dpd_now + 1) * 2 <= inquiries_30d and income_verified",
        "1 < 2 and utilisation <= utilisation",
        "dpd_now is null or not (inquiries_30d in [0, 7])",
    ],
)
def test_holds_is_the_known_true_mask_of_the_full_evaluation(text: str) -> None:
    node = parse(text, CONDITION_FIELDS)
    cols = Columns(FRAME, CONDITION_FIELDS)
    assert np.array_equal(holds(node, cols), predicate(node, cols)[0])
