"""Hand-built features and scores for the policy, decide and what-if tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import strategies as st

from clearline.core.decide import decide
from clearline.core.policy import Policy, load_policy

ROOT = Path(__file__).resolve().parents[1]
# Tests pin their own copies: the shipped examples may be retuned without breaking the
# hand-worked expectations below.
BASELINE = ROOT / "tests" / "fixtures" / "policies" / "baseline.yaml"
TIGHTENED = ROOT / "tests" / "fixtures" / "policies" / "tightened.yaml"
AS_OF = date(2025, 6, 30)
TIGHT = load_policy(TIGHTENED)

# A clean account: grade C (score 590), nothing past due, moderate use, no event signal.
DEFAULTS: dict[str, Any] = {
    "product": "cash_line",
    "status": "active",
    "credit_limit": 10_000.0,
    "dpd_now": 0,
    "dpd_worst": 0,
    "good_standing": True,
    "outstanding": 3_000.0,
    "utilisation": 0.3,
    "transfer_out_share_7d": 0.0,
    "new_counterparties_30d": 0,
    "inquiries_30d": 0,
    "score": 590.0,
    "pd": 0.028,
    "score_reasons": [],
}


def pd_at(score: float) -> float:
    """PD on the scale 600 = 50:1 good:bad, 20 points to double the odds."""
    return 1.0 / (1.0 + 50.0 * 2.0 ** ((score - 600.0) / 20.0))


def frames(rows: list[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Features and scored frames from partial rows (missing keys take DEFAULTS)."""
    full = []
    for i, r in enumerate(rows):
        row = {**DEFAULTS, **r}
        row.setdefault("account_id", f"a{i}")
        row.setdefault("borrower_id", f"b{i}")
        row.setdefault("household_id", row["borrower_id"])
        if "score" in r and "pd" not in r:
            row["pd"] = pd_at(row["score"])
        full.append(row)
    schema = {
        "account_id": pl.String,
        "borrower_id": pl.String,
        "household_id": pl.String,
        "product": pl.String,
        "status": pl.String,
        "credit_limit": pl.Float64,
        "dpd_now": pl.Int64,
        "dpd_worst": pl.Int64,
        "good_standing": pl.Boolean,
        "outstanding": pl.Float64,
        "utilisation": pl.Float64,
        "transfer_out_share_7d": pl.Float64,
        "new_counterparties_30d": pl.Int64,
        "inquiries_30d": pl.Int64,
        "score": pl.Float64,
        "pd": pl.Float64,
        "score_reasons": pl.List(pl.String),
    }
    df = pl.DataFrame(full, schema=schema)
    scored = df.select("account_id", "score", "pd", "score_reasons")
    return df.drop("score", "pd", "score_reasons"), scored


def run(rows: list[dict[str, Any]], policy: Policy | None = None, **kw: Any) -> pl.DataFrame:
    features, scored = frames(rows)
    pol = policy if policy is not None else load_policy(BASELINE)
    return decide(features, scored, pol, model_version="m-test", as_of=AS_OF, **kw)


def one(row: dict[str, Any], policy: Policy | None = None, **kw: Any) -> dict[str, Any]:
    return run([row], policy, **kw).row(0, named=True)


def random_book(draw: Callable[..., Any], n: int) -> list[dict[str, Any]]:
    """``n`` random accounts in about n/3 households, for property tests."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "account_id": f"a{i}",
                "borrower_id": f"b{i}",
                "household_id": f"h{draw(st.integers(0, max(1, n // 3)))}",
                "status": draw(st.sampled_from(["active", "active", "frozen", "closed"])),
                "credit_limit": float(draw(st.integers(0, 1_500)) * 100),
                "dpd_now": draw(st.sampled_from([0, 0, 0, 10, 30, 95])),
                "utilisation": draw(st.one_of(st.none(), st.floats(0, 1.5))),
                "outstanding": float(draw(st.integers(0, 50_000))),
                "good_standing": draw(st.booleans()),
                "transfer_out_share_7d": draw(st.floats(0, 1)),
                "new_counterparties_30d": draw(st.integers(0, 5)),
                "inquiries_30d": draw(st.integers(0, 9)),
                "score": draw(st.floats(480, 700)),
                "score_reasons": draw(
                    st.lists(st.sampled_from(["dpd_worst", "utilisation", "age", "x"]), max_size=5)
                ),
            }
        )
    return rows
