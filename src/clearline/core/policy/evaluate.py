"""Evaluating parsed expressions over whole columns with numpy.

Unknown values follow three-valued (Kleene) logic, so a missing feature never makes a
rule fire by accident: a condition is a pair of masks ``(T, F)`` (known true, known
false); rows in neither are unknown. ``and``/``or``/``not`` combine the pairs, and a
rule fires only where its condition is known true. Numbers are float64 with NaN for
null (arithmetic propagates it; ``x / 0`` is null). Text columns stay polars Series:
comparing them with a literal is one vectorised pass.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from clearline.core.policy import series
from clearline.core.policy.expr import (
    Arith,
    BoolOp,
    Cmp,
    Field,
    In,
    IsNull,
    Kind,
    Lit,
    Neg,
    Node,
    Not,
)

Pred = tuple[np.ndarray, np.ndarray]


class Columns:
    """Feature columns of one frame, converted to numpy once and cached.

    ``kinds`` gives each field's kind; a field absent from the frame reads as all null
    (used for the optional history columns ``last_action``, ``days_since_last_change``).
    """

    def __init__(self, frame: pl.DataFrame, kinds: Mapping[str, Kind]) -> None:
        self.frame = frame
        self.kinds = kinds
        self.n = frame.height
        self._num: dict[str, np.ndarray] = {}
        self._bool: dict[str, Pred] = {}

    def has(self, name: str) -> bool:
        return name in self.frame.columns

    def number(self, name: str) -> np.ndarray:
        if name not in self._num:
            if not self.has(name):
                self._num[name] = np.full(self.n, np.nan)
            else:
                s = self.frame.get_column(name)
                if s.dtype == pl.Boolean:
                    s = s.cast(pl.Float64)
                # Zero-copy where polars allows, hence possibly read-only: the kernel
                # never writes into a feature column (a write would raise, not corrupt).
                self._num[name] = s.cast(pl.Float64).to_numpy()
        return self._num[name]

    def boolean(self, name: str) -> Pred:
        if name not in self._bool:
            if not self.has(name):
                none = np.zeros(self.n, dtype=bool)
                self._bool[name] = (none, none)
            else:
                s = self.frame.get_column(name).cast(pl.Boolean)
                self._bool[name] = (series.known_true(s), series.known_false(s))
        return self._bool[name]

    def string(self, name: str) -> pl.Series:
        if not self.has(name):  # built in polars: a Python list of n Nones is slow
            return pl.repeat(None, self.n, dtype=pl.String, eager=True).alias(name)
        return self.frame.get_column(name).cast(pl.String)


def _full(n: int, value: bool) -> np.ndarray:
    return np.full(n, value, dtype=bool)


def number(node: Node, cols: Columns) -> np.ndarray | float:
    """A numeric expression: an array (or a scalar for a constant)."""
    if isinstance(node, Lit):
        return float(node.value)  # type: ignore[arg-type]
    if isinstance(node, Field):
        return cols.number(node.name)
    if isinstance(node, Neg):
        return -np.asarray(number(node.arg, cols))
    assert isinstance(node, Arith)
    a, b = number(node.left, cols), number(node.right, cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        if node.op == "+":
            return np.add(a, b)
        if node.op == "-":
            return np.subtract(a, b)
        if node.op == "*":
            return np.multiply(a, b)
        # Division by zero is unknown, not infinite: a ratio with no denominator.
        return np.where(np.asarray(b) == 0, np.nan, np.divide(a, b))


def _num_cmp(op: str, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    if op == "<":
        return np.less(a, b)
    if op == "<=":
        return np.less_equal(a, b)
    if op == ">":
        return np.greater(a, b)
    if op == ">=":
        return np.greater_equal(a, b)
    if op == "==":
        return np.equal(a, b)
    return np.not_equal(a, b)


def _kind(node: Node, cols: Columns) -> Kind:
    if isinstance(node, Lit):
        v = node.value
        return "bool" if isinstance(v, bool) else "string" if isinstance(v, str) else "number"
    if isinstance(node, Field):
        return cols.kinds[node.name]
    if isinstance(node, Neg | Arith):
        return "number"
    return "bool"


def _text(node: Node, cols: Columns) -> pl.Series | str:
    if isinstance(node, Lit):
        return str(node.value)
    assert isinstance(node, Field)
    return cols.string(node.name)


def _series_pred(result: pl.Series, known: pl.Series) -> Pred:
    k = known.to_numpy()
    return series.known_true(result) & k, series.known_false(result) & k


def _broadcast(n: int, x: np.ndarray | float) -> np.ndarray:
    return np.broadcast_to(np.asarray(x, dtype=float), (n,))


def predicate(node: Node, cols: Columns) -> Pred:
    """``(known true, known false)`` masks of a condition over every row."""
    n = cols.n
    if isinstance(node, Lit):
        return _full(n, bool(node.value)), _full(n, not node.value)
    if isinstance(node, Field):
        return cols.boolean(node.name)
    if isinstance(node, Not):
        t, f = predicate(node.arg, cols)
        return f, t
    if isinstance(node, BoolOp):
        preds = [predicate(a, cols) for a in node.args]
        t, f = preds[0]
        for t2, f2 in preds[1:]:
            if node.op == "and":
                t, f = t & t2, f | f2
            else:
                t, f = t | t2, f & f2
        return t, f
    if isinstance(node, IsNull):
        kind = _kind(node.arg, cols)
        if kind == "number":
            null = np.isnan(_broadcast(n, number(node.arg, cols)))
        elif kind == "bool":
            t, f = predicate(node.arg, cols)
            null = ~(t | f)
        else:
            s = _text(node.arg, cols)
            null = s.is_null().to_numpy() if isinstance(s, pl.Series) else _full(n, False)
        return (~null, null) if node.negated else (null, ~null)
    if isinstance(node, In):
        return _in(node, cols)
    assert isinstance(node, Cmp)
    return _cmp(node, cols)


def _in(node: In, cols: Columns) -> Pred:
    n = cols.n
    if _kind(node.arg, cols) == "number":
        x = _broadcast(n, number(node.arg, cols))
        known = ~np.isnan(x)
        hit = np.isin(x, np.asarray(node.values, dtype=float)) & known
    else:
        s = _text(node.arg, cols)
        if not isinstance(s, pl.Series):
            s = pl.Series([s] * n, dtype=pl.String)
        known = s.is_not_null().to_numpy()
        hit = series.is_in(s, [str(v) for v in node.values]) & known
    miss = known & ~hit
    return (miss, hit) if node.negated else (hit, miss)


def _cmp(node: Cmp, cols: Columns) -> Pred:
    n = cols.n
    kind = _kind(node.left, cols)
    if kind == "number":
        a, b = number(node.left, cols), number(node.right, cols)
        known = ~(np.isnan(a) | np.isnan(b))
        hit = np.asarray(_num_cmp(node.op, a, b))
        t, f = hit & known, ~hit & known
        if t.ndim == 0:  # a comparison of two constants
            return _full(n, bool(t)), _full(n, bool(f))
        return t, f
    if kind == "bool":
        ta, fa = predicate(node.left, cols)
        tb, fb = predicate(node.right, cols)
        eq, ne = (ta & tb) | (fa & fb), (ta & fb) | (fa & tb)
        return (eq, ne) if node.op == "==" else (ne, eq)
    left, right = _text(node.left, cols), _text(node.right, cols)
    if not isinstance(left, pl.Series):
        left, right = right, left
    if not isinstance(left, pl.Series):  # two literals
        same = left == right
        return _full(n, same == (node.op == "==")), _full(n, same != (node.op == "=="))
    same_s = left == right if isinstance(right, str) else left.eq(right)
    known_s = (
        left.is_not_null() if isinstance(right, str) else left.is_not_null() & right.is_not_null()
    )
    t, f = _series_pred(same_s, known_s)
    return (t, f) if node.op == "==" else (f, t)


def holds(node: Node, cols: Columns) -> np.ndarray:
    """Rows where the condition is known to hold (unknown is not a match).

    The same as ``predicate(node, cols)[0]`` without building the known-false masks
    where they cannot matter: a conjunction is known true where every part is, a
    disjunction where one is, and a numeric comparison with a null is false for every
    operator but ``!=``, so there the comparison itself is the known-true mask.
    """
    if isinstance(node, BoolOp):
        parts = [holds(a, cols) for a in node.args]
        out = parts[0]
        for p in parts[1:]:
            out = out & p if node.op == "and" else out | p
        return out
    if isinstance(node, Cmp) and node.op != "!=" and _kind(node.left, cols) == "number":
        with np.errstate(invalid="ignore"):
            hit = np.asarray(_num_cmp(node.op, number(node.left, cols), number(node.right, cols)))
        return _full(cols.n, bool(hit)) if hit.ndim == 0 else hit
    return predicate(node, cols)[0]
