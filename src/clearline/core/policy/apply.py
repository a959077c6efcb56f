"""Policy pieces as polars expressions over whole columns.

Each builder turns one part of a :class:`Policy` into an expression; ``decide`` chains
them. Nothing here loops over accounts: a rule is a boolean column, "first match wins"
is a ``when/then`` chain, and a lookup is ``replace_strict`` on a small index.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl

from clearline.core.policy.model import SEVERITY, Condition, MatrixEntry, Policy

_OPS: dict[str, Callable[[pl.Expr, Any], pl.Expr]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

#: Guards the floor in limit rounding against values like 699.9999999 meaning 700.
_ROUND_EPS = 1e-9


def condition_expr(c: Condition) -> pl.Expr:
    """``feature op value``; a null feature never satisfies it (unknown is not a match)."""
    return _OPS[c.op](pl.col(c.feature), pl.lit(c.value)).fill_null(False)


def rule_index_expr(policy: Policy) -> pl.Expr:
    """Index (into ``policy.all_rules``) of the first rule that holds, else null."""
    rules = policy.all_rules
    if not rules:
        return pl.lit(None, dtype=pl.Int32)
    chain: Any = pl
    for i, rule in enumerate(rules):
        cond = pl.all_horizontal([condition_expr(c) for c in rule.when])
        chain = chain.when(cond).then(pl.lit(i, dtype=pl.Int32))
    return chain.otherwise(pl.lit(None, dtype=pl.Int32))


def grade_expr(policy: Policy, score: str = "score") -> pl.Expr:
    """Grade name: the first band whose ``min_score`` the score reaches; else the worst."""
    chain: Any = pl
    for g in policy.grades[:-1]:
        chain = chain.when(pl.col(score) >= g.min_score).then(pl.lit(g.grade))
    worst = pl.lit(policy.grades[-1].grade)
    return worst if len(policy.grades) == 1 else chain.otherwise(worst)


def matrix_entries(policy: Policy) -> list[tuple[str, int, MatrixEntry]]:
    """The grade x utilisation matrix flattened to ``(grade, band, entry)``."""
    return [
        (g, b, entry) for g in policy.grade_names for b, entry in enumerate(policy.grade_actions[g])
    ]


def matrix_index_expr(policy: Policy, grade: str = "grade", util: str = "utilisation") -> pl.Expr:
    """Index into :func:`matrix_entries` for each row (null utilisation: catch-all band)."""
    chain: Any = pl
    for k, (g, _, entry) in enumerate(matrix_entries(policy)):
        cond = pl.col(grade) == g
        if entry.utilisation_below is not None:
            cond = cond & (pl.col(util) < entry.utilisation_below).fill_null(False)
        chain = chain.when(cond).then(pl.lit(k, dtype=pl.Int32))
    return chain.otherwise(pl.lit(None, dtype=pl.Int32))


def lookup(index: pl.Expr, values: Sequence[Any], dtype: pl.DataType) -> pl.Expr:
    """``values[index]`` for a small table of per-rule / per-entry values."""
    mapping = dict(enumerate(values))
    return index.replace_strict(mapping, default=None, return_dtype=dtype)


def round_down(x: pl.Expr, unit: float) -> pl.Expr:
    """Round down to a multiple of ``unit`` (limits are never rounded up past a bound)."""
    return ((x / unit) + _ROUND_EPS).floor() * unit


def size(policy: Policy, old: pl.Expr, action: pl.Expr, factor: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``(action, new_limit)`` after line sizing.

    Increase and decrease scale the old limit, round down to ``line.round_to`` and clip to
    ``[min_limit, max_limit]``; if that does not move the limit in the action's direction
    (e.g. a cut of a line already at ``min_limit``) the action becomes ``keep``. Freeze
    keeps the limit on record (it is not drawable); close sets it to 0.
    """
    line = policy.line
    sized = round_down(old * factor, line.round_to).clip(line.min_limit, line.max_limit)
    moved = (
        pl.when((action == "increase") & (sized <= old))
        .then(pl.lit("keep"))
        .when((action == "decrease") & (sized >= old))
        .then(pl.lit("keep"))
        .otherwise(action)
    )
    limit = (
        pl.when(moved == "close")
        .then(pl.lit(0.0))
        .when(moved.is_in(["increase", "decrease"]))
        .then(sized)
        .otherwise(old)
    )
    return moved, limit


def severity(action: pl.Expr) -> pl.Expr:
    return action.replace_strict(SEVERITY, return_dtype=pl.Int8)


def macro_overlay(policy: Policy, grade: pl.Expr, old: pl.Expr) -> tuple[pl.Expr, pl.Expr] | None:
    """``(action, new_limit)`` the macro overlay asks for per row (null where no entry)."""
    if policy.macro is None:
        return None
    entries = policy.macro.grades
    action = grade.replace_strict(
        {g: e.action for g, e in entries.items()}, default=None, return_dtype=pl.String
    )
    factor = grade.replace_strict(
        {g: e.limit_factor for g, e in entries.items()}, default=None, return_dtype=pl.Float64
    )
    return size(policy, old, action, factor)


def household_cap(policy: Policy, df: pl.DataFrame, counted: pl.Expr) -> pl.DataFrame:
    """Add ``_capped`` (limit under the household cap) and ``_hh_total`` to ``df``.

    ``df`` needs ``action``, ``new_limit`` and ``_hh`` (household key). Drawable lines
    (``counted``: open accounts whose action is keep, increase or decrease) count against
    the cap. Over the cap, kept and increased limits are scaled down proportionally
    first; only if the household's decreased limits alone exceed the cap are those
    scaled too. Results are rounded down, so the cap is never exceeded. Without a cap,
    ``_capped`` is ``new_limit``.
    """
    if policy.household_cap is None:
        return df.with_columns(
            _capped=pl.col("new_limit"), _hh_total=pl.lit(None, dtype=pl.Float64)
        )
    cap = policy.household_cap.limit
    limit = pl.col("new_limit")
    df = df.with_columns(
        _soft=counted & pl.col("action").is_in(["keep", "increase"]),
        _hard=counted & (pl.col("action") == "decrease"),
    )
    # Materialised first: each window is one hash pass over the household key.
    df = df.with_columns(
        _p_soft=pl.when("_soft").then(limit).otherwise(0.0).sum().over("_hh"),
        _p_hard=pl.when("_hard").then(limit).otherwise(0.0).sum().over("_hh"),
    )
    p_soft, p_hard = pl.col("_p_soft"), pl.col("_p_hard")
    total = p_soft + p_hard
    f_soft = pl.when(p_hard >= cap).then(0.0).otherwise((cap - p_hard) / p_soft)
    f_hard = pl.when(p_hard > cap).then(cap / p_hard).otherwise(1.0)
    factor = pl.when("_soft").then(f_soft).when("_hard").then(f_hard).otherwise(1.0)
    scaled = round_down(limit * factor, policy.line.round_to)
    over = pl.col("_soft") | pl.col("_hard")
    capped = pl.when(over & (total > cap) & (scaled < limit)).then(scaled).otherwise(limit)
    return df.with_columns(_capped=capped, _hh_total=total)
