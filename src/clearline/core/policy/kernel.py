"""The decision kernel: compiled policy + feature columns -> actions and limits (numpy).

Layers run in a fixed order, each only able to tighten what the one before decided:

1. individual / event: the first rule that holds, else the grade x utilisation matrix,
   with hysteresis on matrix increases and decreases, then line sizing;
2. business: product contractions (class-wide);
3. macro: the stress overlay per grade;
4. regulatory (:mod:`clearline.core.policy.regulatory`): caps, last, never overridden.

Every step is a handful of whole-column numpy operations; nothing loops over accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from clearline.core.policy import series
from clearline.core.policy.compiled import CLOSE, DEC, INC, KEEP, Compiled, entries_by_scan
from clearline.core.policy.evaluate import Columns, holds
from clearline.core.policy.model import Policy

#: Guards the floor in limit rounding against values like 699.9999999 meaning 700.
_ROUND_EPS = 1e-9
_ADVERSE = ("decrease", "freeze", "close")


def round_down(x: np.ndarray, unit: float) -> np.ndarray:
    """Round down to a multiple of ``unit`` (limits are never rounded up past a bound)."""
    return np.floor(x / unit + _ROUND_EPS) * unit


@dataclass
class State:
    """Per-row decision state while the layers run (all arrays of length n)."""

    old: np.ndarray
    grade: np.ndarray  # int8 grade index
    rule: np.ndarray  # int16 rule index, -1 none
    entry: np.ndarray  # int16 matrix entry index, -1 when a rule decided
    src: np.ndarray  # rule index, or n_rules + entry
    intended: np.ndarray  # int8 action the source asked for
    action: np.ndarray  # int8 current action
    limit: np.ndarray  # float64 current new limit
    held: np.ndarray  # bool: hysteresis turned a matrix action into keep
    sized_to_keep: np.ndarray  # bool: sizing could not move the limit
    biz: np.ndarray  # int8 business rule applied, -1 none
    macro: np.ndarray  # bool: the macro overlay applied
    before_macro: np.ndarray  # int8 action before the macro overlay
    extra: dict[str, np.ndarray] = field(default_factory=dict)


def size(
    policy: Policy, old: np.ndarray, action: np.ndarray, factor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(action, limit)`` after sizing: scale, round down, clip to the line bounds.

    An increase or decrease that cannot move the limit in its direction (a cut of a line
    already at ``min_limit``) becomes keep; freeze keeps the limit on record (it is not
    drawable), close sets it to 0.
    """
    line = policy.line
    with np.errstate(invalid="ignore"):
        sized = np.clip(round_down(old * factor, line.round_to), line.min_limit, line.max_limit)
        moved = action.copy()
        moved[(action == INC) & ~(sized > old)] = KEEP
        moved[(action == DEC) & ~(sized < old)] = KEEP
    limit = np.where((moved == INC) | (moved == DEC), sized, old)
    limit[moved == CLOSE] = 0.0
    return moved, limit


def grades(c: Compiled, score: np.ndarray, pd_: np.ndarray) -> np.ndarray:
    """Grade index: the first band whose bounds hold; the last band catches the rest."""
    n = score.shape[0]
    g = np.full(n, len(c.grade_names) - 1, dtype=np.int8)
    for i in range(len(c.grade_names) - 2, -1, -1):
        ok = np.ones(n, dtype=bool)
        if not np.isnan(c.grade_min_score[i]):
            ok &= score >= c.grade_min_score[i]
        if not np.isnan(c.grade_max_pd[i]):
            ok &= pd_ <= c.grade_max_pd[i]
        g[ok] = i
    return g


def first_match(exprs: tuple, cols: Columns) -> np.ndarray:
    """Index of the first expression that holds per row, -1 if none (last to first)."""
    idx = np.full(cols.n, -1, dtype=np.int16)
    for i in range(len(exprs) - 1, -1, -1):
        idx[holds(exprs[i], cols)] = i
    return idx


def _entries_by_scan(c: Compiled, g: np.ndarray, util: np.ndarray) -> np.ndarray:
    """Matrix entry per row by the entry-by-entry scan (the reference for
    :func:`matrix_entries`)."""
    return entries_by_scan(c.entry_grade, c.entry_below, g, util)


def matrix_entries(c: Compiled, g: np.ndarray, util: np.ndarray) -> np.ndarray:
    """:func:`_entries_by_scan` in two passes instead of three per entry: each row reads
    ``c.matrix_table`` at its grade and utilisation bin. NaN and +inf utilisation fall
    into the top bin, as in the scan: they are below no finite threshold.
    """
    cuts, table = c.matrix_cuts, c.matrix_table
    with np.errstate(invalid="ignore"):
        bins = np.searchsorted(cuts, util, side="right")  # NaN sorts last: top bin
    return table[g.astype(np.intp) * (cuts.shape[0] + 1) + bins]


def individual(policy: Policy, c: Compiled, cols: Columns, base: dict[str, np.ndarray]) -> State:
    """Step 1: rules (first match wins), else the matrix; hysteresis; sizing."""
    n = cols.n
    score, pd_, util, old = base["score"], base["pd"], base["utilisation"], base["old"]
    rule = first_match(c.rule_exprs, cols)
    g = grades(c, score, pd_)
    entry = matrix_entries(c, g, util)
    is_rule = rule >= 0
    src = np.where(is_rule, rule, c.n_rules + entry).astype(np.int16)
    intended = c.src_action[src]
    factor = c.src_factor[src]
    held = _hysteresis(policy, c, cols, g, score, intended, is_rule)
    wanted = np.where(held, np.int8(KEEP), intended)
    action, limit = size(policy, old, wanted, factor)
    empty = np.full(n, -1, dtype=np.int8)
    return State(
        old=old,
        grade=g,
        rule=rule,
        entry=np.where(is_rule, -1, entry).astype(np.int16),
        src=src,
        intended=intended,
        action=action,
        limit=limit,
        held=held,
        sized_to_keep=action != wanted,
        biz=empty,
        macro=np.zeros(n, dtype=bool),
        before_macro=action,
    )


def history(cols: Columns) -> tuple[np.ndarray, np.ndarray] | None:
    """``(days since the last change, whether it was adverse)``; None without history.

    NaN days (no history for the account) are never "recent".
    """
    if not cols.has("days_since_last_change"):
        return None
    days = cols.number("days_since_last_change")
    adverse = series.is_in(cols.string("last_action"), _ADVERSE)
    return days, adverse


def _hysteresis(
    policy: Policy,
    c: Compiled,
    cols: Columns,
    g: np.ndarray,
    score: np.ndarray,
    intended: np.ndarray,
    is_rule: np.ndarray,
) -> np.ndarray:
    """Matrix increases/decreases held back to keep (see :class:`Hysteresis`)."""
    h = policy.hysteresis
    if h is None:
        return np.zeros(cols.n, dtype=bool)
    past = history(cols)
    if past is not None:
        days, adverse = past
        recent = days < h.min_days_between_changes
        cooling = adverse & (days < h.adverse_cooldown_days)
    else:  # no history at all: nothing is recent or cooling (skip the passes)
        recent = cooling = np.zeros(cols.n, dtype=bool)
    with np.errstate(invalid="ignore"):
        floor = c.grade_min_score[g] + h.increase_margin
        clears = ~(score < floor)  # no score bound (NaN floor): nothing to clear
        upper = np.concatenate([[np.nan], c.grade_min_score[:-1]])[g] - h.decrease_margin
        below = ~(score >= upper)  # best grade (NaN bound): nothing above to fall from
    matrix = ~is_rule
    inc_held = matrix & (intended == INC) & (~clears | cooling | recent)
    dec_held = matrix & (intended == DEC) & (~below | recent)
    return inc_held | dec_held


def overlay(policy: Policy, st: State, want: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """Apply an overlay's per-row wish where it is harsher (or, both cutting, deeper).

    ``want`` is -1 where the overlay says nothing. Returns the rows it applied to.
    """
    live = want >= 0
    if not live.any():
        return live
    act, lim = size(policy, st.old, np.where(live, want, KEEP).astype(np.int8), factor)
    harsher = act > st.action
    deeper = (act == DEC) & (st.action == DEC) & (lim < st.limit)
    applied = live & (harsher | deeper)
    st.action = np.where(applied, act, st.action)
    st.limit = np.where(applied, lim, st.limit)
    return applied


def business(policy: Policy, c: Compiled, cols: Columns, st: State) -> None:
    """Step 2: product contractions, first matching business rule per account."""
    if not c.biz_ids:
        return
    b = first_match(c.biz_exprs, cols)
    has = b >= 0
    idx = np.where(has, b, 0)
    want = np.where(has, c.biz_action[idx], -1).astype(np.int8)
    applied = overlay(policy, st, want, np.where(has, c.biz_factor[idx], np.nan))
    st.biz = np.where(applied, b, -1).astype(np.int8)


def macro(policy: Policy, c: Compiled, st: State, active: bool) -> None:
    """Step 3: the stress overlay for the account's grade."""
    st.before_macro = st.action.copy()
    if not active or policy.macro is None:
        return
    st.macro = overlay(policy, st, c.macro_action[st.grade], c.macro_factor[st.grade])


def money(
    st: State, closed: np.ndarray, outstanding: np.ndarray, pd_: np.ndarray, lgd: float
) -> tuple[np.ndarray, ...]:
    """``(action, new limit, outstanding, exposure, expected loss)`` of the final state.

    Closed accounts stay closed (keep, limit unchanged). A frozen, closing or closed line
    can no longer be drawn: only the balance is at risk; a drawable one risks the larger
    of its new limit and its balance (a null balance counts as 0).
    """
    action = np.where(closed, np.int8(KEEP), st.action)
    new_limit = np.where(closed, st.old, st.limit)
    owed = np.nan_to_num(outstanding, nan=0.0)
    drawable = ~closed & (action <= DEC)
    exposure = np.where(drawable, np.maximum(new_limit, owed), owed)
    return action, new_limit, owed, exposure, pd_ * lgd * exposure
