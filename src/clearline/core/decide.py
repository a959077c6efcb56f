"""Features + scores + policy -> one line decision per account, with reasons and a trace.

The decision is built in layers, each able only to overrule the one before in a fixed
direction, so the ``layer`` column can say which one drove the final action:

1. **individual / event**: the first knock-out or rule that holds, else the grade x
   utilisation matrix (grade from the score);
2. **macro**: the overlay for the policy's stress scenario, which only tightens;
3. **regulatory**: the household cap, which only lowers limits and is never overridden.

Closed accounts stay closed (``keep``, limit unchanged, layer ``business``). Everything
is a polars expression over whole columns; one account goes through the same code.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from clearline.core.policy import apply as P
from clearline.core.policy import trace as T
from clearline.core.policy.fields import REQUIRED_FEATURE_COLUMNS
from clearline.core.policy.model import Policy
from clearline.core.schema import ACTIONS, ADVERSE_ACTIONS, DECISION_COLUMNS

CLOSED_CODE = "BIZ_ACCOUNT_CLOSED"
OUTPUT_COLUMNS = (*DECISION_COLUMNS, "outstanding", "exposure", "expected_loss", "trace")
_SCORED_COLUMNS = ("account_id", "score", "pd", "score_reasons")


def _check_inputs(features: pl.DataFrame, scored: pl.DataFrame, policy: Policy) -> None:
    used = {c.feature for r in policy.all_rules for c in r.when} - {"score", "pd"}
    missing = sorted((set(REQUIRED_FEATURE_COLUMNS) | used) - set(features.columns))
    if missing:
        raise ValueError(f"features frame lacks columns {missing}")
    missing = sorted(set(_SCORED_COLUMNS) - set(scored.columns))
    if missing:
        raise ValueError(f"scored frame lacks columns {missing}")
    for name, frame in (("features", features), ("scored", scored)):
        if frame["account_id"].n_unique() != frame.height:
            dup = frame.filter(pl.col("account_id").is_duplicated())["account_id"][0]
            raise ValueError(f"{name} frame has duplicate account_id, e.g. {dup!r}")


def _check_scored(df: pl.DataFrame) -> None:
    unscored = df.filter(pl.col("score").is_null() | pl.col("pd").is_null())
    if unscored.height:
        ids = unscored["account_id"].head(3).to_list()
        raise ValueError(f"{unscored.height} accounts have no score or pd, e.g. {ids}")


def _individual(df: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Step 1: rules (first match wins), else the matrix; then line sizing."""
    rules = policy.all_rules
    entries = [e for _, _, e in P.matrix_entries(policy)]
    n_rules = len(rules)
    df = df.with_columns(
        _rule=P.rule_index_expr(policy), _band=P.matrix_index_expr(policy)
    ).with_columns(_src=pl.coalesce(pl.col("_rule"), pl.col("_band") + n_rules))
    src = pl.col("_src")
    outcomes = [*rules, *entries]
    df = df.with_columns(
        _action=P.lookup(src, [o.action for o in outcomes], pl.String()),
        _factor=P.lookup(src, [o.limit_factor for o in outcomes], pl.Float64()),
        _code=P.lookup(src, [o.reason for o in outcomes], pl.String()),
        _layer=P.lookup(src, [r.layer for r in rules] + ["individual"] * len(entries), pl.String()),
    )
    action, limit = P.size(policy, pl.col("old_limit"), pl.col("_action"), pl.col("_factor"))
    is_rule = pl.col("_rule").is_not_null()
    # A matrix entry whose action sizing turned into keep no longer explains the result.
    code = pl.when(is_rule | (action == pl.col("_action"))).then(pl.col("_code"))
    # Rule: its code leads. Matrix: the score reasons lead (they say what cost points),
    # except for an increase, which the matrix entry's own code explains better.
    lead_first = is_rule | (pl.col("_action") == "increase")
    return df.with_columns(
        action=action,
        new_limit=limit,
        _sized_to_keep=action != pl.col("_action"),
        _scodes=T.score_codes(),
        _lead=pl.when(lead_first).then(code),
        _tail=pl.when(~lead_first).then(code),
    ).with_columns(_n_lead=pl.col("_lead").is_not_null().cast(pl.Int8))


def _macro(df: pl.DataFrame, policy: Policy, active: bool) -> pl.DataFrame:
    """Step 2: the overlay wins where it is harsher (or, both cutting, cuts deeper)."""
    overlay = P.macro_overlay(policy, pl.col("grade"), pl.col("old_limit"))
    if overlay is None or not active or policy.macro is None:
        return df.with_columns(_macro=pl.lit(False))
    m_action, m_limit = overlay
    df = df.with_columns(_m_action=m_action, _m_limit=m_limit)
    harsher = P.severity(pl.col("_m_action")) > P.severity(pl.col("action"))
    deeper = (pl.col("_m_action") == "decrease") & (pl.col("action") == "decrease")
    deeper = deeper & (pl.col("_m_limit") < pl.col("new_limit"))
    applied = (harsher | deeper).fill_null(False)
    return df.with_columns(
        _macro=applied,
        _from_action=pl.col("action"),
        action=pl.when(applied).then(pl.col("_m_action")).otherwise(pl.col("action")),
        new_limit=pl.when(applied).then(pl.col("_m_limit")).otherwise(pl.col("new_limit")),
        **T.prepend(policy.macro.reason, applied),
    )


def _cap(df: pl.DataFrame, policy: Policy) -> pl.DataFrame:
    """Step 3: the household cap, after everything else; never overridden."""
    counted = (pl.col("status") != "closed") & pl.col("action").is_in(
        ["keep", "increase", "decrease"]
    )
    df = P.household_cap(
        policy, df.with_columns(_hh=pl.coalesce("household_id", "borrower_id")), counted
    )
    applied = pl.col("_capped") < pl.col("new_limit")
    old, new = pl.col("old_limit"), pl.col("_capped")
    action = (
        pl.when(new < old)
        .then(pl.lit("decrease"))
        .when(new > old)
        .then(pl.lit("increase"))
        .otherwise(pl.lit("keep"))
    )
    code = policy.household_cap.reason if policy.household_cap else None
    return df.with_columns(
        _cap=applied,
        action=pl.when(applied).then(action).otherwise(pl.col("action")),
        new_limit=new,
        **T.prepend(code, applied),
    )


def decide(
    features: pl.DataFrame,
    scored: pl.DataFrame,
    policy: Policy,
    *,
    model_version: str,
    as_of: date | None = None,
    stress_index: float | None = None,
) -> pl.DataFrame:
    """Decide every account's line: keep, increase, decrease, freeze or close.

    Parameters
    ----------
    features
        One row per account (columns of the Features table; at least
        :data:`~clearline.core.policy.fields.REQUIRED_FEATURE_COLUMNS` and every feature
        the policy's rules name).
    scored
        ``account_id, score, pd, score_reasons`` for every account in ``features``.
    policy
        A validated :class:`Policy`.
    model_version
        Written to every row.
    as_of
        Review date written to every row; defaults to a single ``as_of`` column of
        ``features`` if it has one.
    stress_index
        Observed macro stress. ``None`` applies the policy's overlay as written (the
        policy *is* the scenario); a number applies it only when it reaches the
        overlay's ``stress_index``.

    Returns
    -------
    pl.DataFrame
        :data:`OUTPUT_COLUMNS`, one row per account in ``features`` order.
    """
    _check_inputs(features, scored, policy)
    if as_of is None:
        if "as_of" not in features.columns or features["as_of"].n_unique() != 1:
            raise ValueError("decide needs as_of= (features has no single as_of column)")
        as_of = features["as_of"][0]
    macro_active = policy.macro is not None and (
        stress_index is None or stress_index >= policy.macro.stress_index
    )
    s = scored.select(_SCORED_COLUMNS).with_columns(
        pl.col("score").cast(pl.Float64), pl.col("pd").cast(pl.Float64)
    )
    base = features.drop([c for c in ("score", "pd", "as_of") if c in features.columns])
    if s["account_id"].equals(base["account_id"]):
        # Scores usually come in feature order: skip the join (a third of the run).
        joined = base.hstack(s.drop("account_id").get_columns())
    else:
        joined = base.join(s, on="account_id", how="left", maintain_order="left")
    df = joined.with_columns(
        old_limit=pl.col("credit_limit").cast(pl.Float64).fill_null(0.0),
        grade=P.grade_expr(policy),
    )
    _check_scored(df)
    df = _cap(_macro(_individual(df, policy), policy, macro_active), policy)
    closed = pl.col("status") == "closed"
    adverse = pl.col("action").is_in(ADVERSE_ACTIONS)
    layer = (
        pl.when(closed)
        .then(pl.lit("business"))
        .when(pl.col("_cap"))
        .then(pl.lit("regulatory"))
        .when(pl.col("_macro"))
        .then(pl.lit("macro"))
        .otherwise(pl.col("_layer"))
    )
    reasons = pl.when(closed).then(pl.lit(CLOSED_CODE)).otherwise(T.reasons_expr())
    outstanding = pl.col("outstanding").cast(pl.Float64).fill_null(0.0)
    df = df.with_columns(
        action=pl.when(closed).then(pl.lit("keep")).otherwise(pl.col("action")),
        new_limit=pl.when(closed).then(pl.col("old_limit")).otherwise(pl.col("new_limit")),
        layer=layer,
        reasons=reasons,
        trace=T.trace_expr(policy, macro_active),
    )
    # A frozen, closing or closed line can no longer be drawn: only the balance is at risk.
    drawable = ~closed & ~pl.col("action").is_in(["freeze", "close"])
    exposure = (
        pl.when(drawable).then(pl.max_horizontal("new_limit", outstanding)).otherwise(outstanding)
    )
    out = df.with_columns(
        as_of=pl.lit(as_of, dtype=pl.Date),
        outstanding=outstanding,
        exposure=exposure,
        policy_version=pl.lit(policy.version),
        model_version=pl.lit(model_version),
        good_standing=pl.col("good_standing").cast(pl.Boolean),
    ).with_columns(expected_loss=pl.col("pd") * policy.lgd * pl.col("exposure"))
    out = out.select(OUTPUT_COLUMNS)
    _check_output(out, adverse_expr=adverse)
    return out


def _check_output(out: pl.DataFrame, *, adverse_expr: pl.Expr) -> None:
    """Invariants a decision table must keep; a failure here is a bug, not bad input."""
    bad = out.filter(adverse_expr & (pl.col("reasons") == ""))
    if bad.height:
        raise AssertionError(f"adverse action without a reason: {bad['account_id'][0]}")
    if not out["action"].is_in(ACTIONS).all():
        raise AssertionError("unknown action in decisions")
