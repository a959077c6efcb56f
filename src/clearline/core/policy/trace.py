"""Decision paths: the compact per-row record of what fired, and the trace built from it.

A *path* says which rule or matrix entry decided, whether hysteresis held it or sizing
turned it into keep, and which business rule, macro overlay and caps then applied. It is
one small integer per row; everything that depends only on it (layer, class-wide flag,
lead and tail reason codes, the fixed part of the trace) is computed once per distinct
path. ``trace="path"`` writes just that (inputs are the features table's own columns);
``trace="full"`` adds the row's score, grade, inputs and household total.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from clearline.core.policy import json_text, series
from clearline.core.policy.compiled import INC, LCODE, Compiled
from clearline.core.policy.kernel import State
from clearline.core.policy.model import Policy
from clearline.core.policy.reasoning import dense
from clearline.core.policy.regulatory import LINE_INCOME, LINE_UNVERIFIED
from clearline.core.reasons import catalogue_version

CLOSED_CODE = "BIZ_ACCOUNT_CLOSED"
CLOSED_TRACE = '{"closed":true}'
ACTIONS = ["increase", "keep", "decrease", "freeze", "close"]


@dataclass(frozen=True)
class Path:
    lead: tuple[str, ...]
    tail: str | None
    layer: int
    class_wide: bool
    trace: dict[str, Any]


def path_keys(c: Compiled, st: State, closed: np.ndarray) -> tuple[np.ndarray, int]:
    """Mixed-radix path key per row and the size of the key space (closed: the last)."""
    nb = len(c.biz_ids) + 1
    key = st.extra.get("path_part")  # the fused loop has done all but the last digit
    if key is None:
        key = st.src.astype(np.int64)
        key = key * 2 + st.sized_to_keep
        key = key * 2 + st.held
        key = key * nb + (st.biz.astype(np.int64) + 1)
        key = key * 2 + st.macro
        key = key * 3 + st.extra["line_cap"]
    key = key * 2 + st.extra["hh_cap"]
    space = len(c.src_action) * 2 * 2 * nb * 2 * 3 * 2
    return np.where(closed, space, key), space + 1


def decode(policy: Policy, c: Compiled, key: int, space: int) -> Path:
    """What path ``key`` means (built once per distinct path)."""
    if key == space - 1:
        empty = dict.fromkeys(("rule", "band", "business", "macro", "cap", "income_cap"))
        trace = {**empty, "held": False, "sized_to_keep": False, "closed": True}
        return Path((CLOSED_CODE,), None, LCODE["business"], False, trace)
    nb = len(c.biz_ids) + 1
    key, hh = divmod(key, 2)
    key, line = divmod(key, 3)
    key, mac = divmod(key, 2)
    key, biz = divmod(key, nb)
    key, held = divmod(key, 2)
    src, sized = divmod(key, 2)
    is_rule = src < c.n_rules
    code = c.src_code[src] if is_rule or not (sized or held) else None
    first = is_rule or c.src_action[src] == INC
    lead: list[str] = []
    reg = policy.regulatory
    cap = policy.effective_household_cap
    if hh and cap is not None:
        lead.append(cap.reason)
    income = reg.income_share_cap if reg is not None else None
    if line == LINE_INCOME and income is not None:
        lead.append(income.reason)
    if line == LINE_UNVERIFIED and income is not None and income.unverified_reason:
        lead.append(income.unverified_reason)
    if mac and policy.macro is not None:
        lead.append(policy.macro.reason)
    if biz:
        lead.append(c.biz_code[biz - 1])
    if first and code is not None:
        lead.append(code)
    if hh or line:
        layer = LCODE["regulatory"]
    elif mac:
        layer = LCODE["macro"]
    elif biz:
        layer = LCODE["business"]
    else:
        layer = int(c.src_layer[src])
    trace = {
        "rule": c.rule_ids[src] if is_rule else None,
        "band": None if is_rule else c.entries[src - c.n_rules][1],
        "held": bool(held),
        "sized_to_keep": bool(sized),
        "business": c.biz_ids[biz - 1] if biz else None,
        "macro": {"stress_index": policy.macro.stress_index} if mac and policy.macro else None,
        "cap": {"limit": cap.limit} if hh and cap is not None else None,
        "income_cap": {1: "verified", 2: "unverified"}.get(line),
    }
    return Path(
        tuple(lead),
        None if first else code,
        layer,
        bool(biz or mac) and layer in (LCODE["business"], LCODE["macro"]),
        trace,
    )


def paths(
    policy: Policy, c: Compiled, st: State, closed: np.ndarray
) -> tuple[np.ndarray, list[Path]]:
    """Dense path id per row and the decoded distinct paths."""
    key, space = path_keys(c, st, closed)
    ids, distinct = dense(key, space)
    return ids, [decode(policy, c, int(k), space) for k in distinct.tolist()]


def _common(policy: Policy) -> dict[str, Any]:
    return {
        "policy": policy.version,
        "catalogue": catalogue_version(),
        "max_apr": policy.max_apr,
    }


def path_trace(policy: Policy, ids: np.ndarray, table: list[Path]) -> pl.Series:
    """Trace JSON per row from its path only (no per-row values)."""
    common = _common(policy)
    texts = [
        CLOSED_TRACE
        if p.trace.get("closed")
        else json.dumps({**p.trace, **common}, separators=(",", ":"), ensure_ascii=False)
        for p in table
    ]
    return series.take(texts, ids, pl.String, "trace")


def full_trace(
    policy: Policy,
    c: Compiled,
    frame: pl.DataFrame,
    st: State,
    ids: np.ndarray,
    table: list[Path],
    closed: np.ndarray,
) -> pl.Series:
    """Trace JSON per row with the path plus the score, grade, inputs and totals."""
    inputs = sorted(f for f in c.fields if f in frame.columns)
    schema = frame.schema
    plain = all(schema[f] in json_text.PLAIN_TYPES for f in (*inputs, "utilisation"))
    if len(ids) <= series.SMALL and plain:
        return _few_rows(policy, c, frame, st, ids, table, closed, inputs)

    def col(name: str, values: list[Any], dtype: pl.DataType) -> pl.Series:
        return series.take(values, ids, dtype, name)

    has_macro = col("_m", [p.trace["macro"] is not None for p in table], pl.Boolean())
    has_cap = col("_c", [p.trace["cap"] is not None for p in table], pl.Boolean())
    cap = policy.effective_household_cap
    df = pl.DataFrame(
        {
            "score": frame.get_column("score"),
            "grade": series.take(c.grade_names, st.grade, pl.String),
            "rule": col("rule", [p.trace["rule"] for p in table], pl.String()),
            "band": col("band", [p.trace["band"] for p in table], pl.Int32()),
            "utilisation": frame.get_column("utilisation"),
            "held": col("held", [p.trace["held"] for p in table], pl.Boolean()),
            "sized_to_keep": col("s", [p.trace["sized_to_keep"] for p in table], pl.Boolean()),
            "business": col("business", [p.trace["business"] for p in table], pl.String()),
            "_m": has_macro,
            "_c": has_cap,
            "_from": series.take(ACTIONS, st.before_macro, pl.String),
            "_hh": st.extra["hh_total"],
            "income_cap": col("ic", [p.trace["income_cap"] for p in table], pl.String()),
        }
    )
    stress = policy.macro.stress_index if policy.macro is not None else None
    fields: dict[str, pl.Expr] = {
        k: pl.col(k) for k in ("score", "grade", "rule", "band", "utilisation", "held")
    }
    fields["inputs"] = (
        pl.struct([frame.get_column(f).alias(f) for f in inputs]) if inputs else pl.lit(None)
    )
    fields |= {
        "sized_to_keep": pl.col("sized_to_keep"),
        "business": pl.col("business"),
        "macro": pl.when("_m").then(pl.struct(stress_index=pl.lit(stress), overruled="_from")),
        "cap": pl.when("_c").then(
            pl.struct(limit=pl.lit(cap.limit if cap else None), household_total="_hh")
        ),
        "income_cap": pl.col("income_cap"),
    }
    common = _common(policy)
    fields |= {k: pl.lit(v) for k, v in common.items()}
    live = df.select(pl.struct([e.alias(k) for k, e in fields.items()]).struct.json_encode())
    out = live.to_series().alias("trace")
    if not closed.any():
        return out
    shut = pl.Series(closed)
    return pl.select(pl.when(shut).then(pl.lit(CLOSED_TRACE)).otherwise(out)).to_series()


def _few_rows(
    policy: Policy,
    c: Compiled,
    frame: pl.DataFrame,
    st: State,
    ids: np.ndarray,
    table: list[Path],
    closed: np.ndarray,
    inputs: list[str],
) -> pl.Series:
    """What :func:`full_trace` gives, written row by row in Python (a review's few rows;
    the same text, see :mod:`~clearline.core.policy.json_text`)."""
    stress = policy.macro.stress_index if policy.macro is not None else None
    cap = policy.effective_household_cap
    common = _common(policy)
    values = {f: frame.get_column(f).to_list() for f in inputs}
    score = frame.get_column("score").to_list()
    utilisation = frame.get_column("utilisation").to_list()
    grades, before = st.grade.tolist(), st.before_macro.tolist()
    household_total = st.extra["hh_total"].tolist()
    texts = []
    for i, (path_id, shut) in enumerate(zip(ids.tolist(), closed.tolist(), strict=True)):
        if shut:
            texts.append(CLOSED_TRACE)
            continue
        p = table[path_id].trace
        band = p["band"]
        row = {
            "score": score[i],
            "grade": c.grade_names[grades[i]],
            "rule": p["rule"],
            "band": None if band is None else int(band),
            "utilisation": utilisation[i],
            "held": p["held"],
            "inputs": {f: values[f][i] for f in inputs} if inputs else None,
            "sized_to_keep": p["sized_to_keep"],
            "business": p["business"],
            "macro": None
            if p["macro"] is None
            else {"stress_index": stress, "overruled": ACTIONS[before[i]]},
            "cap": None
            if p["cap"] is None
            else {"limit": cap.limit if cap else None, "household_total": household_total[i]},
            "income_cap": p["income_cap"],
            **common,
        }
        texts.append(json_text.dumps(row))
    return pl.Series("trace", texts, dtype=pl.String)
