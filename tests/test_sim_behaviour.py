"""The simulated behaviour: innocents, misusers, shares, macro stress, ledger agreement."""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta

import polars as pl
import pytest

from clearline.sim import SimConfig, SimResult, simulate
from clearline.sim.diagnostics import reach90


@pytest.fixture(scope="module")
def run() -> SimResult:
    return simulate(SimConfig(borrowers=2000, months=12, seed=5))


def _add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _instalment(amount: float, apr: float, n: int) -> float:
    r = apr / 12
    return round(amount / n if r == 0 else amount * r / (1 - (1 + r) ** -n), 2)


def test_innocent_look_alikes_pay_every_instalment_on_or_before_its_due_date(
    run: SimResult,
) -> None:
    # Plain Python, independent of the simulator's own ledger: walk each loan's
    # repayments in time order and find when each instalment is covered.
    p = run.portfolio
    innocent = set(run.truth.filter(pl.col("type") == "innocent")["borrower_id"])
    accounts = set(p.accounts.filter(pl.col("borrower_id").is_in(innocent))["account_id"])
    ev = p.events.filter(pl.col("account_id").is_in(accounts))
    payments: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for row in ev.filter(pl.col("type") == "repayment").sort("ts").iter_rows(named=True):
        payments[row["loan_id"]].append((row["ts"].date(), row["amount"]))
    window_end = date(2025, 1, 1)
    checked = 0
    for loan in ev.filter(pl.col("type") == "drawdown").iter_rows(named=True):
        inst = _instalment(loan["amount"], loan["apr"], loan["term_months"])
        paid = payments[loan["loan_id"]]
        for k in range(1, loan["term_months"] + 1):
            due = _add_months(loan["ts"].date(), k)
            if due >= window_end:
                break
            need, total, paid_on = k * inst - 0.01 * k, 0.0, None
            for day, amount in paid:
                total += amount
                if total >= need - 1e-9:
                    paid_on = day
                    break
            assert paid_on is not None and paid_on <= due, (loan["loan_id"], k, due, paid_on)
            checked += 1
    assert checked > 200  # the check really covered many instalments


def test_innocent_look_alikes_include_transfer_bursts_inquiry_bursts_and_movers(
    run: SimResult,
) -> None:
    p = run.portfolio
    innocent = run.truth.filter(pl.col("type") == "innocent").select("borrower_id")
    ev = p.events.join(p.accounts.select("account_id", "borrower_id"), on="account_id").join(
        innocent, on="borrower_id"
    )
    new_cp = ev.filter(pl.col("counterparty").str.starts_with("N"))
    assert new_cp["borrower_id"].n_unique() > 0.2 * innocent.height
    busy = ev.filter(pl.col("type") == "external_inquiry").group_by("borrower_id").len()
    assert (busy["len"] >= 4).sum() > 0.15 * innocent.height
    cities = ev.drop_nulls("city").group_by("borrower_id").agg(pl.col("city").n_unique())
    assert (cities["city"] > 1).sum() > 0.15 * innocent.height


def _burst_share(run: SimResult, kind: str) -> float:
    """Share of a type's borrowers with a drawdown followed within 7 days by transfers
    out to counterparties never used before summing to at least half of it."""
    p = run.portfolio
    who = run.truth.filter(pl.col("type") == kind).select("borrower_id")
    acc = p.accounts.select("account_id", "borrower_id").join(who, on="borrower_id")
    ev = p.events.join(acc, on="account_id").sort("ts")
    out = ev.filter(pl.col("type") == "transfer_out").with_columns(
        (pl.col("ts") == pl.col("ts").min().over("borrower_id", "counterparty")).alias("first")
    )
    dd = ev.filter(pl.col("type") == "drawdown").select(
        "borrower_id", "loan_id", pl.col("ts").alias("t0"), pl.col("amount").alias("drawn")
    )
    pairs = dd.join(out.filter("first"), on="borrower_id").filter(
        (pl.col("ts") > pl.col("t0")) & (pl.col("ts") <= pl.col("t0") + timedelta(days=7))
    )
    bursts = pairs.group_by("borrower_id", "loan_id").agg(
        pl.col("amount").sum(), pl.col("drawn").first(), pl.len()
    )
    hit = bursts.filter((pl.col("amount") >= 0.5 * pl.col("drawn")) & (pl.col("len") >= 2))
    with_draw = dd["borrower_id"].n_unique()
    return hit["borrower_id"].n_unique() / max(with_draw, 1)


def test_misusers_move_most_of_a_drawdown_to_new_counterparties_within_days(
    run: SimResult,
) -> None:
    assert _burst_share(run, "misuser") > 0.8
    assert _burst_share(run, "steady") < 0.05


def test_misusers_never_repay_after_the_burst_and_mostly_default(run: SimResult) -> None:
    t = run.truth
    misusers = t.filter(pl.col("type") == "misuser")
    # Their first instalment falls a month after the drawdown; 90 dpd needs 4 months, so
    # the ones who struck in the last months of a 12-month window are not yet defaulted.
    assert misusers["defaulted"].mean() > 0.6
    assert (
        misusers["defaulted"].mean() > 5 * t.filter(pl.col("type") == "steady")["defaulted"].mean()
    )


def test_type_shares_are_respected_approximately() -> None:
    shares = {"steady": 0.5, "innocent": 0.3, "misuser": 0.2}
    t = simulate(SimConfig(borrowers=3000, months=2, seed=2, type_shares=shares)).truth
    counts = dict(t.group_by("type").len().iter_rows())
    assert set(counts) == set(shares)
    for name, share in shares.items():
        sd = (share * (1 - share) / 3000) ** 0.5
        assert abs(counts[name] / 3000 - share) < 4 * sd, name


def test_shares_need_not_sum_to_one() -> None:
    t = simulate(SimConfig(borrowers=200, months=1, type_shares={"innocent": 7})).truth
    assert set(t["type"]) == {"innocent"}


def test_a_macro_bad_spell_raises_defaults_against_a_flat_macro() -> None:
    flat = simulate(SimConfig(borrowers=4000, seed=9, macro_peak=1.0))
    stressed = simulate(SimConfig(borrowers=4000, seed=9, macro_peak=1.6))
    assert (flat.portfolio.macro["stress_index"] == 1.0).all()
    spell = stressed.portfolio.macro.filter(pl.col("stress_index") > 1.0)
    assert 3 <= spell.height <= 6 and spell["stress_index"].max() == pytest.approx(1.6, 0.01)
    assert stressed.truth["defaulted"].sum() > 1.1 * flat.truth["defaulted"].sum()


def test_truth_and_account_status_agree_with_a_ledger_recomputed_from_the_events(
    run: SimResult,
) -> None:
    p = run.portfolio
    r = reach90(p, date(2024, 12, 31)).join(
        p.accounts.select("account_id", "borrower_id", "status"), on="account_id"
    )
    bad = r["reach90"].is_not_null()
    assert bad.sum() > 0
    assert (r.filter(bad)["status"].is_in(["frozen", "closed"])).all()
    assert (r.filter(~bad)["status"] == "active").all()
    by_borrower = r.group_by("borrower_id").agg(pl.col("reach90").is_not_null().any().alias("d"))
    joined = run.truth.join(by_borrower, on="borrower_id")
    assert (joined["defaulted"] == joined["d"]).all()


def test_drawdowns_never_exceed_the_available_line(run: SimResult) -> None:
    p = run.portfolio
    ev = p.events
    dd = ev.filter(pl.col("type") == "drawdown").select(
        "account_id", "loan_id", "ts", "amount", "term_months", "apr"
    )
    dd = dd.with_columns(
        pl.struct("amount", "apr", "term_months")
        .map_elements(
            lambda s: _instalment(s["amount"], s["apr"], s["term_months"]), return_dtype=pl.Float64
        )
        .alias("inst")
    )
    rep = ev.filter(pl.col("type") == "repayment").select(
        "loan_id", pl.col("ts").alias("rts"), pl.col("amount").alias("paid")
    )
    # For each drawdown, every earlier loan of the account and what was repaid on it
    # before the drawdown.
    earlier = dd.join(dd, on="account_id", suffix="_old").filter(pl.col("ts_old") < pl.col("ts"))
    repaid = (
        earlier.join(rep, left_on="loan_id_old", right_on="loan_id", how="left")
        .filter(pl.col("rts").is_null() | (pl.col("rts") < pl.col("ts")))
        .group_by("loan_id", "loan_id_old")
        .agg(
            pl.col("paid").sum(),
            pl.col("amount_old").first(),
            pl.col("inst_old").first(),
            pl.col("term_months_old").first(),
        )
    )
    principal = (
        pl.col("amount_old")
        - pl.col("paid") * pl.col("amount_old") / (pl.col("term_months_old") * pl.col("inst_old"))
    ).clip(lower_bound=0)
    outstanding = repaid.group_by("loan_id").agg(principal.sum().alias("out"))
    check = (
        dd.join(outstanding, on="loan_id", how="left")
        .join(p.accounts.select("account_id", "credit_limit"), on="account_id")
        .with_columns(pl.col("out").fill_null(0.0))
    )
    assert check.height > 100
    assert (check["amount"] + check["out"] <= check["credit_limit"] + 0.01).all()
