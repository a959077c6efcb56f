"""Audit trail and reason strings of a decision, as polars expressions.

Decide keeps reasons in three parts while the layers run, so no per-row list has to be
rebuilt at each step: ``_lead`` (codes that go first, ``;``-joined: cap, macro, then the
rule's or increase's own code), ``_n_lead`` (how many), ``_scodes`` (the score reasons
as catalogue codes) and ``_tail`` (a matrix entry's code, after the score reasons).
"""

from __future__ import annotations

import polars as pl

from clearline.core.policy import apply as P
from clearline.core.policy.model import Policy
from clearline.core.reasons import FALLBACK_FEATURE_CODE, feature_codes

MAX_REASONS = 4


def score_codes(column: str = "score_reasons") -> pl.Expr:
    """Scorecard feature names -> catalogue codes, order kept, duplicates dropped."""
    # Null entries pad a short explanation (``explain`` gives None past the last reason).
    mapped = (
        pl.element()
        .drop_nulls()
        .replace_strict(feature_codes(), default=FALLBACK_FEATURE_CODE, return_dtype=pl.String)
    )
    return (
        pl.col(column).fill_null([]).list.eval(mapped.drop_nulls()).list.unique(maintain_order=True)
    )


def prepend(code: str | None, applied: pl.Expr) -> dict[str, pl.Expr]:
    """Columns that put ``code`` in front of the lead codes where ``applied``."""
    parts = [pl.lit(code, pl.String), pl.col("_lead")]
    lead = pl.concat_str(parts, separator=";", ignore_nulls=True)
    return {
        "_lead": pl.when(applied).then(lead).otherwise(pl.col("_lead")),
        "_n_lead": pl.when(applied).then(pl.col("_n_lead") + 1).otherwise(pl.col("_n_lead")),
    }


def reasons_expr() -> pl.Expr:
    """Lead codes, then score codes, then the tail code: the first four, ``;``-joined."""
    room = (MAX_REASONS - pl.col("_n_lead")).clip(0)
    scores = pl.col("_scodes").list.head(room).list.join(";")
    scores = pl.when(scores != "").then(scores)
    fits = (pl.col("_n_lead") + pl.col("_scodes").list.len()) < MAX_REASONS
    tail = pl.when(fits).then(pl.col("_tail"))
    return pl.concat_str([pl.col("_lead"), scores, tail], separator=";", ignore_nulls=True)


def trace_expr(policy: Policy, macro_active: bool) -> pl.Expr:
    """Compact JSON of what fired and the inputs it saw (fixed keys, easy to audit).

    ``inputs`` holds every feature any rule tests, so the trace also shows why earlier
    rules did not fire; ``band`` is the matrix band used (null when a rule decided).
    """
    rules = policy.all_rules
    inputs = sorted({c.feature for r in rules for c in r.when})
    stress = policy.macro.stress_index if policy.macro is not None else None
    cap = policy.household_cap.limit if policy.household_cap is not None else None
    bands = [b for _, b, _ in P.matrix_entries(policy)]
    macro = (
        pl.struct(stress_index=pl.lit(stress), overruled=pl.col("_from_action"))
        if macro_active
        else pl.lit(None)
    )
    fields: dict[str, pl.Expr] = {
        "score": pl.col("score"),
        "grade": pl.col("grade"),
        "rule": P.lookup(pl.col("_rule"), [r.id for r in rules], pl.String()),
        "inputs": pl.struct([pl.col(f) for f in inputs]) if inputs else pl.lit(None),
        "band": pl.when(pl.col("_rule").is_null()).then(
            P.lookup(pl.col("_band"), bands, pl.Int32())
        ),
        "utilisation": pl.col("utilisation"),
        "sized_to_keep": pl.col("_sized_to_keep"),
        "macro": pl.when(pl.col("_macro")).then(macro),
        "cap": pl.when(pl.col("_cap")).then(
            pl.struct(limit=pl.lit(cap), household_total=pl.col("_hh_total"))
        ),
    }
    live = pl.struct([e.alias(k) for k, e in fields.items()]).struct.json_encode()
    return pl.when(pl.col("status") == "closed").then(pl.lit('{"closed":true}')).otherwise(live)
