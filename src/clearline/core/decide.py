"""Features + scores + policy -> one line decision per account, with reasons and a trace.

The decision is built in layers, each only able to tighten what the one before decided,
so the ``layer`` column can say which one drove the final action (``docs/policy.md``):

1. **individual / event**: the first knock-out or rule that holds, else the grade x
   utilisation matrix (grade from score and/or PD), with hysteresis, then line sizing;
2. **business**: product contractions, marked ``class_wide``;
3. **macro**: the overlay for the policy's stress scenario;
4. **regulatory**: income-share and household caps, last, never overridden.

Closed accounts stay closed (``keep``, limit unchanged, layer ``business``). The policy
is compiled once into numpy tables; rule conditions are whole-column array operations,
and steps 1-3 with the income cap run as one compiled row loop
(:mod:`~clearline.core.policy.kernel_fused`, equal to the numpy steps in
:mod:`~clearline.core.policy.kernel`, which run where numba is missing). One account
goes through the same code as a million.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Literal

import numpy as np
import polars as pl

from clearline.core.policy import buckets, kernel_fused, series
from clearline.core.policy import kernel as K
from clearline.core.policy import trace as T
from clearline.core.policy.compiled import ACTION_NAMES, Compiled, compile_policy
from clearline.core.policy.evaluate import Columns
from clearline.core.policy.fields import CONDITION_FIELDS, HISTORY_KINDS, REQUIRED_FEATURE_COLUMNS
from clearline.core.policy.model import Policy
from clearline.core.policy.reasoning import (
    code_tuples,
    index_tuples,
    reason_strings,
    score_code_matrix,
)
from clearline.core.policy.regulatory import household_ids, regulatory
from clearline.core.schema import ADVERSE_ACTIONS, DECISION_COLUMNS, LAYERS

CLOSED_CODE = T.CLOSED_CODE
OUTPUT_COLUMNS = (
    *DECISION_COLUMNS,
    "outstanding",
    "exposure",
    "expected_loss",
    "trace",
    "class_wide",
    "max_apr",
)
_SCORED_COLUMNS = ("account_id", "score", "pd", "score_reasons")
#: with ``score_features=``: reason indices into that list instead of names.
_SCORED_IDX_COLUMNS = ("account_id", "score", "pd", "score_reason_idx")


def _scored_columns(score_features: Sequence[str] | None) -> tuple[str, ...]:
    return _SCORED_COLUMNS if score_features is None else _SCORED_IDX_COLUMNS


def _check_inputs(
    features: pl.DataFrame,
    scored: pl.DataFrame,
    policy: Policy,
    score_features: Sequence[str] | None = None,
) -> bool:
    """Refuse what decide cannot use; returns whether ``scored`` has the ids of
    ``features`` in the same order (then no join is needed)."""
    used = compile_policy(policy).fields - {"score", "pd"} - set(HISTORY_KINDS)
    if policy.regulatory is not None and policy.regulatory.income_share_cap is not None:
        used |= {"monthly_income", "income_verified"}  # the income cap reads them
    missing = sorted((set(REQUIRED_FEATURE_COLUMNS) | used) - set(features.columns))
    if missing:
        raise ValueError(f"features frame lacks columns {missing}")
    missing = sorted(set(_scored_columns(score_features)) - set(scored.columns))
    if missing:
        raise ValueError(f"scored frame lacks columns {missing}")
    aligned = scored.get_column("account_id").equals(features.get_column("account_id"))
    for name, frame in (("features", features), ("scored", scored)):
        if name == "scored" and aligned:
            continue  # same ids in the same order: already checked
        ids = frame.get_column("account_id")
        if not _unique(ids):
            dup = frame.filter(ids.is_duplicated())["account_id"][0]
            raise ValueError(f"{name} frame has duplicate account_id, e.g. {dup!r}")
    return aligned


def _unique(ids: pl.Series) -> bool:
    """Whether ids are distinct; distinct 64-bit hashes prove it without string hashing."""
    if len(ids) <= series.SMALL:
        return len(set(ids.to_list())) == len(ids)
    if buckets.all_distinct(ids.hash().to_numpy()):
        return True
    return ids.n_unique() == ids.len()  # a hash collision or a real duplicate


def _join(
    features: pl.DataFrame, scored: pl.DataFrame, columns: tuple[str, ...], aligned: bool
) -> pl.DataFrame:
    # Series operations, not a select: a one-household review pays the query engine's
    # fixed cost on every call.
    s = [scored.get_column(c) for c in columns[1:]]
    s = [x.cast(pl.Float64) if x.name in ("score", "pd") else x for x in s]
    stale = [c for c in ("score", "pd", "as_of") if c in features.columns]
    # Rebuilding a frame of ~30 columns costs more than all the rest of the join.
    base = (
        pl.DataFrame([c for c in features.get_columns() if c.name not in stale])
        if stale
        else features
    )
    if aligned:
        # Scores usually come in feature order: skip the join.
        return base.hstack(s)
    right = pl.DataFrame([scored.get_column("account_id"), *s])
    return base.join(right, on="account_id", how="left", maintain_order="left")


def decide(
    features: pl.DataFrame,
    scored: pl.DataFrame,
    policy: Policy,
    *,
    model_version: str,
    as_of: date | None = None,
    stress_index: float | None = None,
    trace: Literal["full", "path"] = "full",
    score_features: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Decide every account's line: keep, increase, decrease, freeze or close.

    Parameters
    ----------
    features
        One row per account (columns of the Features table; at least
        :data:`~clearline.core.policy.fields.REQUIRED_FEATURE_COLUMNS` and every feature
        the policy's conditions name; the history columns ``last_action`` and
        ``days_since_last_change`` are optional).
    scored
        ``account_id, score, pd, score_reasons`` for every account in ``features``;
        with ``score_features``, ``score_reason_idx`` replaces ``score_reasons``.
    policy
        A validated :class:`Policy`.
    model_version
        Written to every row.
    as_of
        Review date written to every row; defaults to a single ``as_of`` column of
        ``features`` if it has one.
    stress_index
        Observed macro stress (e.g. :func:`clearline.core.policy.overlays.stress_for`).
        ``None`` applies the policy's overlay as written (the policy *is* the scenario);
        a number applies it only when it reaches the overlay's ``stress_index``.
    trace
        ``"full"``: per-row JSON with the path, score, grade, rule inputs and household
        total; ``"path"``: the path only (one JSON per distinct path, much faster).
    score_features
        The scorer's feature names (``model.features_``). When given, the reasons are
        read from ``scored``'s ``score_reason_idx`` (List/Array of ints indexing this
        list, -1 or null for none, as :func:`~clearline.core.scoring.apply.score_accounts`
        emits) with no string work; the decisions equal those from ``score_reasons``.

    Returns
    -------
    pl.DataFrame
        :data:`OUTPUT_COLUMNS`, one row per account in ``features`` order.
    """
    aligned = _check_inputs(features, scored, policy, score_features)
    if as_of is None:
        if "as_of" not in features.columns or features["as_of"].n_unique() != 1:
            raise ValueError("decide needs as_of= (features has no single as_of column)")
        as_of = features["as_of"][0]
    macro_active = policy.macro is not None and (
        stress_index is None or stress_index >= policy.macro.stress_index
    )
    df = _join(features, scored, _scored_columns(score_features), aligned)
    n = df.height
    cols = Columns(df, CONDITION_FIELDS)
    score, pd_ = cols.number("score"), cols.number("pd")
    if np.isnan(score).any() or np.isnan(pd_).any():
        bad = df.filter(pl.col("score").is_null() | pl.col("pd").is_null())
        ids = bad["account_id"].head(3).to_list()
        raise ValueError(f"{bad.height} accounts have no score or pd, e.g. {ids}")
    old = np.nan_to_num(cols.number("credit_limit"), nan=0.0)
    base = {"score": score, "pd": pd_, "utilisation": cols.number("utilisation"), "old": old}
    c = compile_policy(policy)
    closed = series.known_true(df.get_column("status") == "closed")

    st = _layers(policy, c, cols, base, closed, macro_active, household_ids(df))
    outstanding = cols.number("outstanding")
    money = kernel_fused.money if kernel_fused.HAVE_NUMBA else K.money
    action, new_limit, outstanding, exposure, expected_loss = money(
        st, closed, outstanding, pd_, policy.lgd
    )
    path_ids, table = T.paths(policy, c, st, closed)
    tuples = (
        code_tuples(score_code_matrix(df.get_column("score_reasons")))
        if score_features is None
        else index_tuples(df.get_column("score_reason_idx"), score_features)
    )
    reasons = reason_strings(path_ids, [(p.lead, p.tail) for p in table], *tuples)
    layer = np.array([p.layer for p in table], dtype=np.int8)[path_ids]
    class_wide = np.array([p.class_wide for p in table], dtype=bool)[path_ids]
    trace_col = (
        T.full_trace(policy, c, df, st, path_ids, table, closed)
        if trace == "full"
        else T.path_trace(policy, path_ids, table)
    )
    out = _frame(
        {
            "account_id": df.get_column("account_id"),
            "borrower_id": df.get_column("borrower_id"),
            "as_of": _constant(as_of, n, pl.Date),
            "action": series.take(ACTION_NAMES, action, pl.String),
            "old_limit": old,
            "new_limit": new_limit,
            "score": score,
            "pd": pd_,
            "grade": series.take(c.grade_names, st.grade, pl.String),
            "reasons": reasons,
            "layer": series.take(LAYERS, layer, pl.String),
            "good_standing": df.get_column("good_standing").cast(pl.Boolean),
            "policy_version": _constant(policy.version, n, pl.String),
            "model_version": _constant(model_version, n, pl.String),
            "outstanding": outstanding,
            "exposure": exposure,
            "expected_loss": expected_loss,
            "trace": trace_col,
            "class_wide": class_wide,
            "max_apr": _constant(policy.max_apr, n, pl.Float64),
        }
    )
    _check_output(out, action)
    return out


def _layers(
    policy: Policy,
    c: Compiled,
    cols: Columns,
    base: dict[str, np.ndarray],
    closed: np.ndarray,
    macro_active: bool,
    households: pl.Series,
) -> K.State:
    """Steps 1-4: one fused compiled pass where numba is installed, else numpy passes
    (the two give the same state; ``tests/test_decide_fused.py``)."""
    if kernel_fused.HAVE_NUMBA:
        st, before = kernel_fused.layers(policy, c, cols, base, closed, macro_active)
        kernel_fused.settle(policy, households, st, closed, before)
        return st
    st = K.individual(policy, c, cols, base)
    K.business(policy, c, cols, st)
    K.macro(policy, c, st, macro_active)
    regulatory(policy, cols, households, st, closed)
    return st


def _frame(columns: dict[str, pl.Series | np.ndarray]) -> pl.DataFrame:
    """``pl.DataFrame(columns)``, faster on a household's few rows: named series skip
    the dict path's per-column checks (numpy arrays get the same dtypes either way)."""
    return pl.DataFrame(
        [v.alias(k) if isinstance(v, pl.Series) else pl.Series(k, v) for k, v in columns.items()]
    )


def _constant(value: object, n: int, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    """A column of ``n`` copies of ``value`` (several times faster than ``pl.repeat``)."""
    one = _one(value, dtype)
    return one.new_from_index(0, n) if n else one.clear()


@lru_cache(maxsize=64)
def _one(value: object, dtype: pl.DataType | type[pl.DataType]) -> pl.Series:
    # The same few values (review date, versions, APR cap) come back on every review, and
    # building a series from Python values costs ten times the copy.
    return pl.Series([value], dtype=dtype)


_IS_ADVERSE = np.array([a in ADVERSE_ACTIONS for a in ACTION_NAMES], dtype=bool)


def _check_output(out: pl.DataFrame, action: np.ndarray) -> None:
    """Invariants a decision table must keep; a failure here is a bug, not bad input."""
    adverse = _IS_ADVERSE[action]  # a table lookup: faster than np.isin
    if adverse.any():
        empty = (out.get_column("reasons") == "").to_numpy() & adverse
        if empty.any():
            bad = out["account_id"][int(np.flatnonzero(empty)[0])]
            raise AssertionError(f"adverse action without a reason: {bad}")
