"""A policy compiled once into small numpy tables, for the vectorised decide.

Actions are int8 codes in order of severity (increase 0 ... close 4), so "harsher" is a
plain ``>``. The *sources* of an individual decision are the rules (knock-outs first)
followed by every matrix entry; per-source tables give the action, limit factor, reason
code and layer, so one gather per column replaces a chain of ``when/then``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearline.core.policy import expr as E
from clearline.core.policy.model import MatrixEntry, Policy
from clearline.core.schema import LAYERS

ACTION_NAMES = ("increase", "keep", "decrease", "freeze", "close")
INC, KEEP, DEC, FREEZE, CLOSE = range(5)
ACODE = {a: i for i, a in enumerate(ACTION_NAMES)}
LCODE = {name: i for i, name in enumerate(LAYERS)}


@dataclass(frozen=True)
class Compiled:
    """Everything ``decide`` needs from a policy, as arrays and small lists."""

    rule_ids: tuple[str, ...]
    rule_exprs: tuple[E.Node, ...]
    grade_names: tuple[str, ...]
    grade_min_score: np.ndarray  # NaN: no score bound
    grade_max_pd: np.ndarray  # NaN: no PD bound
    entries: tuple[tuple[int, int, MatrixEntry], ...]  # (grade index, band, entry)
    entry_grade: np.ndarray
    entry_below: np.ndarray  # +inf: catch-all band
    src_action: np.ndarray  # int8 per source (rules, then entries)
    src_factor: np.ndarray  # NaN where none
    src_code: tuple[str | None, ...]
    src_layer: np.ndarray  # int8 layer code
    biz_ids: tuple[str, ...]
    biz_exprs: tuple[E.Node, ...]
    biz_action: np.ndarray  # keep for no_increase
    biz_factor: np.ndarray
    biz_code: tuple[str, ...]
    macro_action: np.ndarray  # per grade, -1 where no entry
    macro_factor: np.ndarray
    fields: frozenset[str]  # every feature the conditions read
    matrix_cuts: np.ndarray  # the distinct finite band thresholds, ascending
    matrix_table: np.ndarray  # matrix entry per (grade, utilisation bin): see _matrix

    @property
    def n_rules(self) -> int:
        return len(self.rule_ids)


def _f(x: float | None) -> float:
    return np.nan if x is None else float(x)


def entries_by_scan(
    entry_grade: np.ndarray, entry_below: np.ndarray, g: np.ndarray, util: np.ndarray
) -> np.ndarray:
    """Matrix entry per row: the first entry of its grade whose band holds, -1 if none."""
    entry = np.full(g.shape[0], -1, dtype=np.int16)
    for k in range(len(entry_grade) - 1, -1, -1):
        m = g == entry_grade[k]
        if np.isfinite(entry_below[k]):
            m &= util < entry_below[k]  # null utilisation falls to the catch-all band
        entry[m] = k
    return entry


def _matrix(
    entry_grade: np.ndarray, entry_below: np.ndarray, n_grades: int
) -> tuple[np.ndarray, np.ndarray]:
    """``(cuts, table)``: the matrix entry of grade ``g`` in utilisation bin ``b`` is
    ``table[g * (len(cuts) + 1) + b]``, bin ``b`` holding ``[cuts[b-1], cuts[b])``.

    The entry depends only on the grade and on which band thresholds the utilisation
    is below, i.e. on its bin among the distinct thresholds. The scan is run once on
    one representative per (grade, bin) to fill the table.
    """
    cuts = np.unique(entry_below[np.isfinite(entry_below)])
    reps = np.concatenate([[-np.inf], cuts])
    grid_g = np.repeat(np.arange(n_grades, dtype=np.int8), reps.shape[0])
    return cuts, entries_by_scan(entry_grade, entry_below, grid_g, np.tile(reps, n_grades))


def compile_policy(policy: Policy) -> Compiled:
    """Compile (and cache on the policy object: it is immutable) the decision tables."""
    cached = policy._compiled
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    rules = policy.all_rules
    names = policy.grade_names
    entries = tuple(
        (gi, b, e) for gi, g in enumerate(names) for b, e in enumerate(policy.grade_actions[g])
    )
    outcomes = [*rules, *(e for _, _, e in entries)]
    layers = [r.layer for r in rules] + ["individual"] * len(entries)
    biz = policy.business
    macro_action = np.full(len(names), -1, dtype=np.int8)
    macro_factor = np.full(len(names), np.nan)
    if policy.macro is not None:
        for g, m in policy.macro.grades.items():
            macro_action[names.index(g)] = ACODE[m.action]
            macro_factor[names.index(g)] = _f(m.limit_factor)
    exprs = tuple(r.expr for r in rules)
    biz_exprs = tuple(b.expr for b in biz)
    fields = frozenset().union(*(E.field_names(x) for x in (*exprs, *biz_exprs)))
    entry_grade = np.array([gi for gi, _, _ in entries], dtype=np.int8)
    entry_below = np.array(
        [np.inf if e.utilisation_below is None else e.utilisation_below for _, _, e in entries]
    )
    cuts, table = _matrix(entry_grade, entry_below, len(names))
    compiled = Compiled(
        rule_ids=tuple(r.id for r in rules),
        rule_exprs=exprs,
        grade_names=tuple(names),
        grade_min_score=np.array([_f(g.min_score) for g in policy.grades]),
        grade_max_pd=np.array([_f(g.max_pd) for g in policy.grades]),
        entries=entries,
        entry_grade=entry_grade,
        entry_below=entry_below,
        matrix_cuts=cuts,
        matrix_table=table,
        src_action=np.array([ACODE[o.action] for o in outcomes], dtype=np.int8),
        src_factor=np.array([_f(o.limit_factor) for o in outcomes]),
        src_code=tuple(o.reason for o in outcomes),
        src_layer=np.array([LCODE[x] for x in layers], dtype=np.int8),
        biz_ids=tuple(b.id for b in biz),
        biz_exprs=biz_exprs,
        biz_action=np.array(
            [KEEP if b.action == "no_increase" else ACODE[b.action] for b in biz], dtype=np.int8
        ),
        biz_factor=np.array([_f(b.limit_factor) for b in biz]),
        biz_code=tuple(b.reason for b in biz),
        macro_action=macro_action,
        macro_factor=macro_factor,
        fields=frozenset(fields),
    )
    policy._compiled = compiled
    return compiled
