"""The demo report (`clearline-report/index.html`): model, review, what-if, harm."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from clearline.core.reasons import wording
from clearline.core.schema import ACTIONS, LAYERS
from clearline.report.html import esc, kpis, page, table
from clearline.report.model import model_section

if TYPE_CHECKING:
    from clearline.services.train import TrainResult


def crosstab(frame: pl.DataFrame, row: str, col: str, cols: tuple[str, ...]) -> list[list[Any]]:
    counts = frame.group_by(row, col).len()
    rows = []
    for key in sorted(frame.get_column(row).unique().to_list(), key=str):
        sub = counts.filter(pl.col(row) == key)
        got = dict(zip(sub.get_column(col).to_list(), sub.get_column("len").to_list(), strict=True))
        rows.append([key, *[got.get(c, 0) for c in cols], sum(got.values())])
    return rows


def review_section(review: pl.DataFrame, summary: dict) -> str:
    policy = review.get_column("policy_version")[0]
    return (
        f'<p class="note">Policy {esc(policy)}. Adverse = decrease, freeze or close.</p>'
        + kpis(
            [
                ("accounts", summary["accounts"]),
                ("adverse actions", summary["adverse"]),
                ("adverse, good standing", summary["adverse_good_standing"]),
            ],
            harm=("adverse, good standing",),
        )
        + "<h3>Actions by grade</h3>"
        + table(["grade", *ACTIONS, "total"], crosstab(review, "grade", "action", ACTIONS))
        + "<h3>Actions by layer that drove them</h3>"
        + table(["layer", *ACTIONS, "total"], crosstab(review, "layer", "action", ACTIONS))
    )


def whatif_section(diff: pl.DataFrame, s: dict) -> str:
    moves = crosstab(diff, "action_baseline", "action_candidate", ACTIONS)
    reasons = [
        (code, wording(code, "en"), wording(code, "zh"), n)
        for code, n in sorted(s["by_reason"].items(), key=lambda kv: -kv[1])
    ]
    return (
        kpis(
            [
                ("accounts changed", s["changed"]),
                ("changed to adverse", s["adverse"]),
                ("innocent harm: adverse, never missed a payment", s["adverse_good_standing"]),
                ("of which worse than the baseline for the borrower", s["worse_good_standing"]),
                ("exposure before", float(s["exposure_before"])),
                ("exposure after", float(s["exposure_after"])),
                ("expected loss before", float(s["expected_loss_before"])),
                ("expected loss after", float(s["expected_loss_after"])),
            ],
            harm=("innocent harm: adverse, never missed a payment",),
        )
        + "<h3>Baseline action (rows) to candidate action (columns)</h3>"
        + table(["baseline \\ candidate", *ACTIONS, "total"], moves)
        + "<h3>Changed-to-adverse accounts by the candidate's main reason</h3>"
        + table(
            ["reason", "borrower wording (en)", "借款人说明 (zh-CN)", "accounts"], reasons, left=3
        )
    )


def truth_section(review: pl.DataFrame, diff: pl.DataFrame, truth: pl.DataFrame) -> str:
    """Join the simulator's ground truth (never seen by the engine) to show who is hit."""
    accounts = review.select("account_id", "borrower_id", "action", "good_standing")
    joined = accounts.join(
        truth.select(pl.col("borrower_id").cast(pl.String), "type", "defaulted"),
        on="borrower_id",
        how="left",
    ).join(diff.select("account_id", "adverse_change"), on="account_id", how="left")
    adverse = pl.col("action").is_in(["decrease", "freeze", "close"])
    rows = (
        joined.group_by("type")
        .agg(
            pl.len().alias("accounts"),
            adverse.sum().alias("adverse (baseline)"),
            (adverse & pl.col("good_standing")).sum().alias("adverse, good standing"),
            pl.col("adverse_change").sum().alias("changed to adverse (what-if)"),
            pl.col("defaulted").cast(pl.Int64).sum().alias("defaulted in simulation"),
        )
        .sort("type")
    )
    return (
        '<p class="note">From the simulator\'s truth file, which the engine never reads: '
        "who the decisions actually hit. Innocent look-alikes are good payers whose "
        "behaviour looks risky.</p>" + table(rows.columns, rows.rows())
    )


def write_demo_report(
    path: Path,
    *,
    trained: TrainResult,
    review: pl.DataFrame,
    review_summary: dict,
    diff: pl.DataFrame,
    whatif_summary: dict,
    truth: pl.DataFrame,
    counts: dict[str, int],
    as_of: date,
    timings: dict[str, float],
) -> Path:
    body = (
        kpis([(k, v) for k, v in counts.items()] + [("as of", as_of.isoformat())])
        + "<h2>1. Model quality</h2>"
        + model_section(trained)
        + "<h2>2. Line review under the baseline policy</h2>"
        + review_section(review, review_summary)
        + "<h2>3. What-if: tightened policy against baseline</h2>"
        + whatif_section(diff, whatif_summary)
        + "<h2>4. Who is hit (simulation ground truth)</h2>"
        + truth_section(review, diff, truth)
        + "<h2>Run</h2>"
        + table(["step", "seconds"], [(k, f"{v:.1f}") for k, v in timings.items()])
        + f'<p class="note">Layers: {", ".join(LAYERS)}.</p>'
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(page("clearline demo report", body), encoding="utf-8")
    tmp.replace(path)
    return path
