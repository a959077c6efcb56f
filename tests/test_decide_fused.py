"""The fused decision loop (numba) gives exactly the state and decisions of the numpy steps.

Random books are built to sit on the edges that matter: scores on, just inside and just
outside every grade bound and hysteresis margin, utilisation on the band thresholds,
null utilisation and income, unverified income, recent and adverse history, closed
accounts, households over the cap. Each policy variant switches on a different part of
the kernel (macro, business cuts, PD bounds, each unverified-income mode, no hysteresis).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearline.core import decide as D
from clearline.core.policy import buckets, kernel_fused
from clearline.core.policy import kernel as K
from clearline.core.policy.compiled import compile_policy
from clearline.core.policy.evaluate import Columns
from clearline.core.policy.fields import CONDITION_FIELDS
from clearline.core.policy.load import parse_policy
from clearline.core.policy.regulatory import household_ids, regulatory
from clearline.core.policy.trace import path_keys

POLICIES = Path(__file__).resolve().parents[1] / "policies"
pytestmark = pytest.mark.skipif(not kernel_fused.HAVE_NUMBA, reason="numba not installed")


def _variant(name: str, edit) -> object:
    data = yaml.safe_load((POLICIES / f"{name}.yaml").read_text())
    data = copy.deepcopy(data)
    edit(data)
    return parse_policy(data, name, base_dir=POLICIES)


def _income(mode: str):
    def edit(d: dict) -> None:
        d["regulatory"] = {
            "preset": "test",
            "version": "1",
            "jurisdiction": "CN",
            "max_apr": 0.24,
            "household_cap": {"limit": 150000, "reason": "REG_HOUSEHOLD_CAP"},
            "income_share_cap": {
                "max_share": 0.25,
                "reason": "REG_INCOME_SHARE_CAP",
                "unverified": mode,
                **({} if mode == "skip" else {"unverified_reason": "REG_INCOME_UNVERIFIED"}),
            },
        }

    return edit


def _business_cut(d: dict) -> None:
    d["business"] = [
        {"id": "BIZ_WIND_DOWN", "when": "product == 'instalment_line'", "action": "decrease",
         "limit_factor": 0.5, "reason": "BIZ_PRODUCT_WIND_DOWN"},
        {"id": "BIZ_CLOSE_OLD", "when": "dpd_worst >= 100", "action": "close",
         "reason": "BIZ_PRODUCT_WIND_DOWN"},
    ]  # fmt: skip


def _pd_bounds(d: dict) -> None:
    d["grades"][1]["max_pd"] = 0.025
    d["grades"][2] = {"grade": "C", "max_pd": 0.06}


def _no_hysteresis(d: dict) -> None:
    d.pop("hysteresis")


VARIANTS = {
    "baseline": lambda: _variant("baseline", lambda d: None),
    "tightened": lambda: _variant("tightened", lambda d: None),
    "business_contraction": lambda: _variant("business_contraction", lambda d: None),
    "business_cut_macro": lambda: _variant("tightened", _business_cut),
    "income_skip": lambda: _variant("tightened", _income("skip")),
    "income_zero": lambda: _variant("baseline", _income("zero")),
    "pd_bounds": lambda: _variant("tightened", _pd_bounds),
    "no_hysteresis": lambda: _variant("baseline", _no_hysteresis),
}


def book(n: int, seed: int, history: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Features and scores with many rows on the policies' thresholds."""
    rng = np.random.default_rng(seed)
    bounds = np.array([630.0, 600, 570, 540])
    near = np.concatenate([bounds, bounds + 5, bounds - 5, bounds + 4.999, bounds - 5.001])
    score = np.where(rng.random(n) < 0.5, rng.choice(near, n), rng.normal(590, 40, n))
    pd_ = 1.0 / (1.0 + 50.0 * 2.0 ** ((score - 600.0) / 20.0))
    pd_ = np.where(rng.random(n) < 0.2, rng.choice([0.025, 0.06, 0.0251], n), pd_)
    util = np.where(
        rng.random(n) < 0.3,
        rng.choice([0.5, 0.7, np.nextafter(0.5, 0), np.nan, np.inf], n),
        rng.uniform(0, 1.2, n),
    )
    limit = rng.choice([0.0, 1000, 1100, 5000, 20000, 90000, 100000, 150000], n)
    income = np.where(rng.random(n) < 0.1, np.nan, rng.lognormal(9.0, 0.8, n).round(2))
    dpd = np.where(rng.random(n) < 0.1, rng.choice([29, 30, 89, 90, 120], n), 0)
    cols = {
        "account_id": [f"a{i}" for i in range(n)],
        "borrower_id": [f"b{i}" for i in range(n)],
        "household_id": [None if i % 7 == 0 else f"h{i // 3}" for i in range(n)],
        "product": rng.choice(["cash_line", "instalment_line"], n),
        "status": rng.choice(["active", "frozen", "closed"], n, p=[0.9, 0.05, 0.05]),
        "credit_limit": limit,
        "dpd_now": dpd,
        "dpd_worst": dpd + rng.choice([0, 0, 40, 100], n),
        "good_standing": dpd == 0,
        "outstanding": np.where(
            rng.random(n) < 0.05, np.nan, (limit * rng.uniform(0, 1.2, n)).round(2)
        ),
        "utilisation": util,
        "transfer_out_share_7d": rng.uniform(0, 1, n),
        "new_counterparties_30d": rng.poisson(1.5, n),
        "inquiries_30d": rng.poisson(2.0, n),
        "monthly_income": income,
        "income_verified": pl.Series(
            rng.choice([True, False, None], n, p=[0.6, 0.3, 0.1]).tolist(), dtype=pl.Boolean
        ),
    }
    if history:
        days = np.where(rng.random(n) < 0.2, np.nan, rng.choice([0.0, 89, 90, 179, 180, 400], n))
        cols["days_since_last_change"] = days
        cols["last_action"] = rng.choice(["increase", "decrease", "freeze", "close", "keep"], n)
    features = pl.DataFrame(cols)
    scored = pl.DataFrame(
        {"account_id": features["account_id"], "score": score, "pd": pd_,
         "score_reasons": [["dpd_worst", "utilisation"][: i % 3] for i in range(n)]}
    )  # fmt: skip
    return features, scored


def _inputs(policy, features, scored):
    df = D._join(features, scored, D._SCORED_COLUMNS, aligned=True)
    cols = Columns(df, CONDITION_FIELDS)
    old = np.nan_to_num(cols.number("credit_limit"), nan=0.0)
    base = {"score": cols.number("score"), "pd": cols.number("pd"),
            "utilisation": cols.number("utilisation"), "old": old}  # fmt: skip
    closed = (df.get_column("status") == "closed").fill_null(False).to_numpy()
    return compile_policy(policy), cols, base, closed, household_ids(df)


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("history", [True, False])
def test_the_fused_loop_leaves_the_state_of_the_numpy_steps(name: str, history: bool) -> None:
    policy = VARIANTS[name]()
    features, scored = book(6000, seed=len(name), history=history)
    c, cols, base, closed, keys = _inputs(policy, features, scored)
    for active in (True, False):
        ref = K.individual(policy, c, cols, base)
        K.business(policy, c, cols, ref)
        K.macro(policy, c, ref, active)
        regulatory(policy, cols, keys, ref, closed)
        got, before = kernel_fused.layers(policy, c, cols, base, closed, active)
        kernel_fused.settle(policy, keys, got, closed, before)
        for field in ("grade", "rule", "entry", "src", "intended", "action", "limit", "held",
                      "sized_to_keep", "biz", "macro", "before_macro"):  # fmt: skip
            a, b = getattr(ref, field), getattr(got, field)
            assert a.dtype == b.dtype, field
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, field, active)
        for key in ("line_cap", "hh_cap", "hh_total"):
            a, b = ref.extra[key], got.extra[key]
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (name, key, active)
        # the loop's part of the path key gives the key the numpy state gives
        assert "path_part" in got.extra and "path_part" not in ref.extra
        assert np.array_equal(path_keys(c, ref, closed)[0], path_keys(c, got, closed)[0])
    # The book reaches the branches the loop has: otherwise equality proves little.
    assert got.held.any() == (policy.hysteresis is not None)
    assert (got.extra["line_cap"] > 0).any() and got.sized_to_keep.any()


def test_every_branch_is_reached_somewhere_in_the_variants() -> None:
    seen = {"biz": False, "macro": False, "unverified": False, "hh_cap": False}
    for name, make in VARIANTS.items():
        policy = make()
        features, scored = book(6000, seed=len(name))
        c, cols, base, closed, keys = _inputs(policy, features, scored)
        st, before = kernel_fused.layers(policy, c, cols, base, closed, True)
        kernel_fused.settle(policy, keys, st, closed, before)
        seen["biz"] |= bool((st.biz >= 0).any())
        seen["macro"] |= bool(st.macro.any())
        seen["unverified"] |= bool((st.extra["line_cap"] == 2).any())
        seen["hh_cap"] |= bool(st.extra["hh_cap"].any())
    assert all(seen.values()), seen


@pytest.mark.parametrize("name", ["tightened", "business_cut_macro", "income_zero"])
def test_decide_gives_the_same_table_with_and_without_the_fused_loop(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = VARIANTS[name]()
    features, scored = book(3000, seed=5)
    kw = {"model_version": "m", "as_of": None, "trace": "full"}
    features = features.with_columns(as_of=pl.lit(np.datetime64("2025-06-30")).cast(pl.Date))
    fused = D.decide(features, scored, policy, **kw)
    monkeypatch.setattr(kernel_fused, "HAVE_NUMBA", False)
    plain = D.decide(features, scored, policy, **kw)
    assert fused.equals(plain)
    assert (fused["layer"] == "regulatory").any() and (fused["action"] == "close").any()


def test_the_compiled_bucket_pass_flags_the_rows_the_numpy_pass_flags() -> None:
    rng = np.random.default_rng(4)
    n = 50_000
    keys = pl.Series([f"h{i}" for i in rng.integers(0, n // 2, n)])
    limit = rng.choice([0.0, 50_000, 100_000, 150_000], n)
    action = rng.integers(0, 5, n).astype(np.int8)
    closed = rng.random(n) < 0.05
    for cap in (100_000.0, 200_000.0, 10.0**9):
        args = (keys.hash().to_numpy(), limit, action, closed, cap)
        got, ref = buckets.suspects(*args), buckets.suspects_numpy(*args)
        assert np.array_equal(got, ref)
        assert got.any() == (cap < 10.0**9)


def test_distinct_hashes_are_told_from_repeated_ones_including_the_zero_marker() -> None:
    rng = np.random.default_rng(9)
    h = rng.integers(1, 2**63, 100_000, dtype=np.uint64)
    assert buckets.all_distinct(h)
    assert not buckets.all_distinct(np.append(h, h[12345]))
    assert buckets.all_distinct(np.append(h, np.uint64(0)))
    assert not buckets.all_distinct(np.array([0, 5, 0], dtype=np.uint64))
    # colliding low bits (same slot) but different values are still distinct
    same_slot = np.uint64(1 << 40) * np.arange(1, 50, dtype=np.uint64) + np.uint64(7)
    assert buckets.all_distinct(same_slot)
    assert not buckets.all_distinct(np.append(same_slot, same_slot[-1]))


def test_warm_compiles_the_one_version_decide_then_uses() -> None:
    kernel_fused.warm()
    loops = (kernel_fused._rows, kernel_fused._rederive, kernel_fused._money_rows)
    loops += (buckets._suspect_rows,)
    loops += (buckets._all_distinct,)
    assert all(len(f.signatures) == 1 for f in loops)
    features, scored = book(500, seed=2)
    kw = {"model_version": "m", "as_of": np.datetime64("2025-06-30").item(), "trace": "path"}
    D.decide(features, scored, VARIANTS["tightened"](), **kw)
    assert [len(f.signatures) for f in loops] == [1] * len(loops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    name=st.sampled_from(["tightened", "business_cut_macro", "income_zero", "pd_bounds"]),
)
def test_small_books_decide_the_same_with_and_without_the_fused_loop(
    seed: int, n: int, name: str
) -> None:
    policy = VARIANT_CACHE.setdefault(name, VARIANTS[name]())
    features, scored = book(n, seed=seed, history=seed % 2 == 0)
    kw = {"model_version": "m", "as_of": np.datetime64("2025-06-30").item(), "trace": "full"}
    fused = D.decide(features, scored, policy, **kw)
    kernel_fused.HAVE_NUMBA = False
    try:
        plain = D.decide(features, scored, policy, **kw)
    finally:
        kernel_fused.HAVE_NUMBA = True
    assert fused.equals(plain)


VARIANT_CACHE: dict[str, object] = {}


@pytest.mark.parametrize("name", ["tightened", "business_cut_macro", "income_zero"])
def test_households_decided_alone_get_the_rows_they_get_in_the_whole_book(name: str) -> None:
    # A review decides one household: a few rows, through the short-column paths of
    # ``policy.series``; the whole book goes through polars. They must agree to the byte.
    policy = VARIANT_CACHE.setdefault(name, VARIANTS[name]())
    features, scored = book(3000, seed=11, history=True)
    kw = {"model_version": "m", "as_of": np.datetime64("2025-06-30").item(), "trace": "full"}
    whole = D.decide(features, scored, policy, **kw)
    keys = household_ids(features)
    capped = whole.filter(pl.col("layer") == "regulatory")["account_id"].head(20).to_list()
    picked = set(keys.filter(features["account_id"].is_in(capped)).to_list())
    picked |= set(keys.unique(maintain_order=True).head(40).to_list())
    assert len(picked) > 20
    ordered = sorted(picked)
    # one household alone, and batches of several (as a batch of reviews decides them)
    for group in [[k] for k in ordered] + [ordered[i : i + 6] for i in range(0, len(ordered), 6)]:
        rows = keys.is_in(group).to_numpy()
        assert rows.sum() <= 64  # the short-column paths (policy.series.SMALL)
        alone = D.decide(features.filter(rows), scored.filter(rows), policy, **kw)
        assert alone.equals(whole.filter(rows)), group
    assert whole.filter(pl.col("layer") == "regulatory").height > 0
