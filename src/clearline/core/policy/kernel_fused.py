"""Steps 1-3 of the decision kernel and the income cap, fused into one row loop (numba).

:mod:`clearline.core.policy.kernel` runs each step as whole-column numpy passes: about
twenty passes over a million rows, each reading and writing full arrays. Here one
compiled loop walks every row once and keeps the row's state in registers: grade,
matrix entry, hysteresis, sizing, the business and macro overlays and the income-share
cap. The rule conditions (the policy's own expressions) are still evaluated by
:mod:`~clearline.core.policy.evaluate` and come in as the index of the first rule that
holds; the household cap needs grouping and stays in :mod:`.regulatory`.

The result equals the numpy steps exactly (same float operations in the same order;
``tests/test_decide_fused.py`` compares every field of the state on random books), so
the numpy steps remain the reference and the fallback where numba is missing.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from clearline.core.policy import buckets
from clearline.core.policy.buckets import read_only
from clearline.core.policy.compiled import CLOSE, DEC, INC, KEEP, Compiled
from clearline.core.policy.evaluate import Columns
from clearline.core.policy.kernel import _ROUND_EPS, State, first_match, history
from clearline.core.policy.model import Policy
from clearline.core.policy.regulatory import household_cap

try:
    from numba import njit

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is absent
    HAVE_NUMBA = False

#: Income-cap modes for unverified income, as the kernel's ``income[2]`` codes.
_UNVERIFIED = {"skip": 0.0, "no_increase": 1.0, "zero": 2.0}


def _size(old: float, want: int, factor: float, line: np.ndarray) -> tuple[int, float]:
    """One row of :func:`kernel.size`: ``(action, limit)`` after sizing."""
    if want != INC and want != DEC:  # only these move the limit: skip the division
        return want, (0.0 if want == CLOSE else old)
    sized = np.floor(old * factor / line[2] + _ROUND_EPS) * line[2]
    if sized == sized:  # np.clip keeps NaN
        sized = min(max(sized, line[0]), line[1])
    act = want
    if want == INC and not sized > old:
        act = KEEP
    elif want == DEC and not sized < old:
        act = KEEP
    if act == INC or act == DEC:
        return act, sized
    if act == CLOSE:
        return act, 0.0
    return act, old


def _rows(
    rule, biz_in, score, pd_, util, old, days, adverse, closed, monthly, verified,  # inputs
    g_score, g_pd, cuts, table, src_action, src_factor, n_rules,  # individual tables
    hyst, line, biz_action, biz_factor, macro_action, macro_factor, income,  # settings
    grade, entry_out, src_out, intended_out, action_out, limit_out, held_out,  # outputs
    sized_out, biz_out, macro_out, before_macro_out, line_cap_out, before_reg_out, path_out,
):  # fmt: skip
    n_grades = g_score.shape[0]
    n_biz = biz_action.shape[0] + 1
    no_score, no_pd = np.isnan(g_score), np.isnan(g_pd)
    n_bins = cuts.shape[0] + 1
    has_history = days.shape[0] > 0
    for i in range(rule.shape[0]):
        s, o = score[i], old[i]
        # The first grade whose bounds hold, by selects from the worst up (the numpy
        # step's order), and the band by counting the cuts at or below the utilisation.
        g = n_grades - 1
        for k in range(n_grades - 2, -1, -1):
            ok = (no_score[k] | (s >= g_score[k])) & (no_pd[k] | (pd_[i] <= g_pd[k]))
            g = k if ok else g
        u = util[i]
        b = 0
        for j in range(cuts.shape[0]):  # sorted cuts: searchsorted(side="right")
            b += cuts[j] <= u
        b = cuts.shape[0] if math.isnan(u) else b  # NaN sorts last
        entry = table[g * n_bins + b]
        r = rule[i]
        is_rule = r >= 0
        src = r if is_rule else n_rules + entry
        intended = src_action[src]
        held = False
        if hyst[0] > 0.0 and not is_rule and (intended == INC or intended == DEC):
            recent = cooling = False
            if has_history:
                recent = days[i] < hyst[1]
                cooling = adverse[i] and days[i] < hyst[2]
            if intended == INC:
                clears = not s < g_score[g] + hyst[3]
                held = not clears or cooling or recent
            else:
                upper = (np.nan if g == 0 else g_score[g - 1]) - hyst[4]
                held = (s >= upper) or recent
        wanted = KEEP if held else intended
        act, lim = _size(o, wanted, src_factor[src], line)
        grade[i] = g
        entry_out[i] = -1 if is_rule else entry
        src_out[i] = src
        intended_out[i] = intended
        held_out[i] = held
        sized_out[i] = act != wanted
        bz = biz_in[i]
        biz_out[i] = -1
        if bz >= 0:
            a2, l2 = _size(o, biz_action[bz], biz_factor[bz], line)
            if a2 > act or (a2 == DEC and act == DEC and l2 < lim):
                act, lim = a2, l2
                biz_out[i] = bz
        before_macro_out[i] = act
        macro_out[i] = False
        if macro_action.shape[0] > 0 and macro_action[g] >= 0:
            a2, l2 = _size(o, macro_action[g], macro_factor[g], line)
            if a2 > act or (a2 == DEC and act == DEC and l2 < lim):
                act, lim = a2, l2
                macro_out[i] = True
        before_reg_out[i] = lim
        line_cap_out[i] = 0
        if income[0] > 0.0 and not closed[i] and act <= DEC:  # a drawable line
            v = verified[i]
            if v:
                cap = np.floor(income[1] * (monthly[i] * 12.0) / line[2] + _ROUND_EPS) * line[2]
            else:
                cap = np.inf if income[2] == 0.0 else (o if income[2] == 1.0 else 0.0)
            if lim > cap:
                lim = cap
                line_cap_out[i] = 1 if v else 2
        action_out[i] = act
        limit_out[i] = lim
        # trace.path_keys up to the line cap (the household cap adds the last digit)
        key = (src * 2 + sized_out[i]) * 2 + held
        key = ((key * n_biz + biz_out[i] + 1) * 2 + macro_out[i]) * 3 + line_cap_out[i]
        path_out[i] = key


if HAVE_NUMBA:
    _size = njit(cache=True, nogil=True, inline="always")(_size)  # type: ignore[assignment]
    _rows = njit(cache=True, nogil=True)(_rows)  # type: ignore[assignment]


def _settings(policy: Policy) -> tuple[np.ndarray, ...]:
    """The scalar settings as small float arrays (numba takes few, typed arguments)."""
    h, line = policy.hysteresis, policy.line
    hyst = np.zeros(5)
    if h is not None:
        hyst[:] = (1.0, h.min_days_between_changes, h.adverse_cooldown_days,
                   h.increase_margin, h.decrease_margin)  # fmt: skip
    reg = policy.regulatory
    cap = reg.income_share_cap if reg is not None else None
    income = np.zeros(3)
    if cap is not None:
        income[:] = (1.0, cap.max_share, _UNVERIFIED[cap.unverified])
    limits = np.array([line.min_limit, line.max_limit, line.round_to], dtype=np.float64)
    return hyst, limits, income


def layers(
    policy: Policy,
    c: Compiled,
    cols: Columns,
    base: dict[str, np.ndarray],
    closed: np.ndarray,
    macro_active: bool,
) -> tuple[State, np.ndarray]:
    """Steps 1-3 and the income cap in one pass: ``(state, limit before the caps)``.

    The state equals that of ``individual``, ``business``, ``macro`` and ``income_cap``
    run in turn; ``regulatory.settle`` finishes step 4.
    """
    n = cols.n
    rule = first_match(c.rule_exprs, cols)
    biz_in = first_match(c.biz_exprs, cols) if c.biz_ids else np.full(n, -1, dtype=np.int16)
    past = history(cols) if policy.hysteresis is not None else None
    days, adverse = past if past is not None else (np.empty(0), np.empty(0, dtype=bool))
    hyst, limits, income = _settings(policy)
    if income[0]:
        verified, monthly = cols.boolean("income_verified")[0], cols.number("monthly_income")
    else:
        verified, monthly = np.empty(0, dtype=bool), np.empty(0)
    use_macro = macro_active and policy.macro is not None
    m_action = c.macro_action if use_macro else np.empty(0, dtype=np.int8)
    cuts, table = c.matrix_cuts, c.matrix_table
    i8, i16, f8, b1 = np.int8, np.int16, np.float64, np.bool_
    st = State(
        old=base["old"], rule=rule, grade=np.empty(n, i8), entry=np.empty(n, i16),
        src=np.empty(n, i16), intended=np.empty(n, i8), action=np.empty(n, i8),
        limit=np.empty(n, f8), held=np.empty(n, b1), sized_to_keep=np.empty(n, b1),
        biz=np.empty(n, i8), macro=np.empty(n, b1), before_macro=np.empty(n, i8),
        extra={"line_cap": np.empty(n, i8)},
    )  # fmt: skip
    before, path = np.empty(n), np.empty(n, dtype=np.int64)
    ro = read_only
    _rows(
        ro(rule), ro(biz_in), ro(base["score"]), ro(base["pd"]), ro(base["utilisation"]),
        ro(base["old"]), ro(days), ro(adverse), ro(closed), ro(monthly), ro(verified),
        ro(c.grade_min_score), ro(c.grade_max_pd), ro(cuts), ro(table), ro(c.src_action),
        ro(c.src_factor), c.n_rules, ro(hyst), ro(limits), ro(c.biz_action), ro(c.biz_factor),
        ro(m_action), ro(c.macro_factor), ro(income),
        st.grade, st.entry, st.src, st.intended, st.action, st.limit, st.held,
        st.sized_to_keep, st.biz, st.macro, st.before_macro, st.extra["line_cap"], before, path,
    )  # fmt: skip
    st.extra["path_part"] = path
    return st, before


def _rederive(limit, before, old, action):  # type: ignore[no-untyped-def]
    for i in range(limit.shape[0]):
        if limit[i] < before[i]:
            action[i] = DEC if limit[i] < old[i] else (INC if limit[i] > old[i] else KEEP)


if HAVE_NUMBA:
    _rederive = njit(cache=True, nogil=True)(_rederive)


def settle(
    policy: Policy, keys: pl.Series, st: State, closed: np.ndarray, before: np.ndarray
) -> None:
    """:func:`regulatory.settle` with the action re-derived in one compiled pass."""
    household_cap(policy, keys, st, closed)
    _rederive(st.limit, before, read_only(st.old), st.action)


def _money_rows(action, limit, old, closed, outstanding, pd_, lgd, out):  # type: ignore[no-untyped-def]
    act_out, lim_out, owed_out, exp_out, el_out = out
    for i in range(action.shape[0]):
        c = closed[i]
        a = KEEP if c else action[i]
        nl = old[i] if c else limit[i]
        o = outstanding[i]
        o = 0.0 if math.isnan(o) else o
        e = o
        if not c and a <= DEC and not nl < o:  # np.maximum: NaN limit stays NaN
            e = nl
        act_out[i], lim_out[i], owed_out[i], exp_out[i] = a, nl, o, e
        el_out[i] = pd_[i] * lgd * e


if HAVE_NUMBA:
    _money_rows = njit(cache=True, nogil=True)(_money_rows)


def money(
    st: State, closed: np.ndarray, outstanding: np.ndarray, pd_: np.ndarray, lgd: float
) -> tuple[np.ndarray, ...]:
    """:func:`kernel.money` in one compiled pass."""
    n = closed.shape[0]
    out = (np.empty(n, np.int8), np.empty(n), np.empty(n), np.empty(n), np.empty(n))
    ro = read_only
    _money_rows(
        ro(st.action), ro(st.limit), ro(st.old), ro(closed), ro(outstanding), ro(pd_),
        float(lgd), out,
    )  # fmt: skip
    return out


def warm() -> None:
    """Compile the loops now (or load them from numba's cache), with the argument types
    :func:`layers` and :func:`settle` use: a service worker calls this as it starts, so
    its first review does not wait for the compiler."""
    if not HAVE_NUMBA:
        return
    f8, i8, i16, i64, b1 = (
        np.empty(0, dtype=t) for t in (np.float64, np.int8, np.int16, np.int64, np.bool_)
    )
    ro = read_only
    _rows(
        ro(i16), ro(i16), ro(f8), ro(f8), ro(f8), ro(f8), ro(f8), ro(b1), ro(b1), ro(f8),
        ro(b1), ro(f8), ro(f8), ro(f8), ro(i16), ro(i8), ro(f8), 0, ro(f8), ro(f8), ro(i8),
        ro(f8), ro(i8), ro(f8), ro(f8),
        i8, i16, i16, i8, i8, f8, b1, b1, i8, b1, i8, i8, f8, i64,
    )  # fmt: skip
    _rederive(f8, f8, ro(f8), i8)
    _money_rows(ro(i8), ro(f8), ro(f8), ro(b1), ro(f8), ro(f8), 0.45, (i8, f8, f8, f8, f8))
    buckets.warm()
