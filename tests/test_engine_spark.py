"""The Spark engine decides every account as the local engine does.

pyspark is a declared dev dependency: without it this file fails (import error), it
does not skip. One ``local[2]`` session serves the whole module.
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyspark  # noqa: F401  (a missing pyspark must fail this file, not skip it)
import pytest

from clearline.core.features import build_features
from clearline.core.labels import default_labels
from clearline.core.policy import Policy, load_policy, parse_policy
from clearline.core.portfolio import Portfolio
from clearline.core.scoring.scorecard import Scorecard
from clearline.engines import ENGINES, check_engine, decide_portfolio
from clearline.engines.batch import late_borrowers, relink
from clearline.engines.spark import spark_session
from clearline.services.train import CANDIDATE_FEATURES
from clearline.sim import SimConfig, simulate

POLICIES = Path(__file__).resolve().parents[1] / "policies"
AS_OF = date(2025, 6, 30)  # the simulation runs 18 months from 2024-01-01
FLOAT_RTOL = 1e-12  # see _assert_same_decisions


@pytest.fixture(scope="module")
def spark():
    return spark_session("local[2]", shuffle_partitions=2)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return simulate(SimConfig(borrowers=600, months=18, seed=5)).portfolio


@pytest.fixture(scope="module")
def model(portfolio: Portfolio) -> Scorecard:
    obs = date(2024, 6, 30)
    table = build_features(portfolio, obs).join(
        default_labels(portfolio, AS_OF), on="account_id", how="inner"
    )
    y = table.get_column("default").cast(pl.Int8).to_numpy()
    return Scorecard(random_state=0).fit(table.select(CANDIDATE_FEATURES), y)


@pytest.fixture(scope="module")
def policies() -> list[Policy]:
    baseline = load_policy(POLICIES / "baseline.yaml")
    # The shipped cap (200 000) binds no household of this small portfolio; a tight one
    # makes the regulatory layer, which spans a household's accounts, actually fire.
    capped = baseline.model_dump(mode="json", by_alias=True)
    capped["name"], capped["household_cap"]["limit"] = "capped", 12000
    return [baseline, load_policy(POLICIES / "tightened.yaml"), parse_policy(capped)]


def _close(a: Any, b: Any) -> bool:
    """Equal JSON values, floats to within FLOAT_RTOL."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=FLOAT_RTOL, abs_tol=1e-9)
    return type(a) is type(b) and a == b


def _assert_same_decisions(local: pl.DataFrame, spark: pl.DataFrame) -> None:
    """Same columns, types and rows in the same order; every non-float column exactly.

    Floats (and the numbers inside ``trace``) may differ in the last bit: the core sums
    floats per account with polars group-bys whose summation order depends on the frame's
    layout, so even two local runs over differently shaped frames can differ by one ulp.
    Decisions (action, limits, grade, reasons, layer) must be identical.
    """
    assert local.schema == spark.schema
    assert local.get_column("account_id").equals(spark.get_column("account_id"))
    for name, dtype in local.schema.items():
        a, b = local.get_column(name), spark.get_column(name)
        if name == "trace":
            bad = [
                i
                for i, (x, y) in enumerate(zip(a, b, strict=True))
                if not _close(json.loads(x), json.loads(y))
            ]
            assert not bad, (
                f"trace differs for {local['account_id'][bad[0]]}: {a[bad[0]]} != {b[bad[0]]}"
            )
        elif dtype == pl.Float64:
            assert a.is_null().equals(b.is_null()), name
            x, y = a.drop_nulls().to_numpy(), b.drop_nulls().to_numpy()
            assert np.allclose(x, y, rtol=FLOAT_RTOL, atol=0.0), name
        else:
            assert a.equals(b), f"column {name} differs"
    for name in ("old_limit", "new_limit"):  # limits are decisions: exact
        assert local.get_column(name).equals(spark.get_column(name)), name


def test_the_spark_engine_decides_every_account_as_the_local_engine_does(
    spark, portfolio: Portfolio, model: Scorecard, policies: list[Policy]
) -> None:
    local = decide_portfolio(portfolio, AS_OF, model, "m@1", policies, engine="local")
    distributed = decide_portfolio(
        portfolio, AS_OF, model, "m@1", policies, engine="spark", partitions=4
    )
    assert len(distributed) == len(policies)
    for lo, sp, policy in zip(local, distributed, policies, strict=True):
        assert lo.height == portfolio.accounts.height
        assert lo.get_column("account_id").is_sorted()
        assert (sp.get_column("policy_version") == policy.version).all()
        _assert_same_decisions(lo, sp)
    # The comparison covers the parts that span rows: the household cap fired under the
    # capped policy, and linked borrowers exist across households.
    assert (local[2].get_column("layer") == "regulatory").sum() > 0
    assert (local[1].get_column("layer") == "macro").sum() > 0
    households = build_features(portfolio, AS_OF).get_column("household_id")
    assert (households.value_counts().get_column("count") > 1).any()
    assert portfolio.links.height > 0


def test_a_loan_id_repaid_from_another_household_is_settled_as_in_the_local_engine(
    spark, portfolio: Portfolio, model: Scorecard, policies: list[Policy]
) -> None:
    # Book some repayments on another household's loan: the ledger counts a repayment
    # for its loan_id whatever account it was booked on, so those loans' balances must
    # see events living in other buckets.
    ev = portfolio.events
    loans = ev.filter(pl.col("type") == "drawdown").get_column("loan_id").unique().sort()
    repay = ev.with_row_index("_i").filter(pl.col("type") == "repayment").head(40)
    donor = pl.Series(loans.sample(40, seed=3, with_replacement=True))
    moved = repay.with_columns(loan_id=donor).drop("_i")
    events = pl.concat([ev.filter(~pl.col("event_id").is_in(repay["event_id"].implode())), moved])
    shared = Portfolio(
        portfolio.borrowers, portfolio.accounts, events, portfolio.links, portfolio.macro
    )
    before = build_features(portfolio, AS_OF).get_column("outstanding")
    after = build_features(shared, AS_OF).get_column("outstanding")
    assert (before != after).sum() > 0  # the edit changes balances: the test has teeth

    local = decide_portfolio(shared, AS_OF, model, "m@1", policies[:1], engine="local")
    distributed = decide_portfolio(
        shared, AS_OF, model, "m@1", policies[:1], engine="spark", partitions=4
    )
    _assert_same_decisions(local[0], distributed[0])


def test_relinking_a_batch_recovers_the_link_features_of_the_whole_portfolio(
    portfolio: Portfolio,
) -> None:
    whole = build_features(portfolio, AS_OF)
    assert whole.get_column("linked_arrears_share").drop_nulls().max() > 0
    households = whole.select("borrower_id", "household_id").unique()
    half = households.filter(pl.col("household_id").hash(seed=0) % 2 == 0)["borrower_id"]
    parts = []
    for inside in (True, False):
        keep = pl.col("borrower_id").is_in(half.implode())
        keep = keep if inside else ~keep
        accounts = portfolio.accounts.filter(keep)
        batch = Portfolio(
            portfolio.borrowers.filter(keep),
            accounts,
            portfolio.events.filter(pl.col("account_id").is_in(accounts["account_id"].implode())),
            portfolio.links.clear(),
            portfolio.macro,
        )
        parts.append(build_features(batch, AS_OF))
    late = pl.concat([late_borrowers(p) for p in parts])
    relinked = pl.concat([relink(p, portfolio.links, late) for p in parts]).sort("account_id")
    for name in ("n_links", "linked_arrears_share"):
        assert relinked.get_column(name).equals(whole.get_column(name)), name


def test_an_unknown_engine_is_refused_with_the_engines_it_knows(
    portfolio: Portfolio, model: Scorecard, policies: list[Policy]
) -> None:
    with pytest.raises(ValueError, match=r"unknown engine 'dask'.*local, spark"):
        decide_portfolio(portfolio, AS_OF, model, "m@1", policies, engine="dask")
    assert check_engine("spark") == "spark"
    assert ENGINES == ("local", "spark")


@pytest.mark.parametrize("partitions", [0, -3])
def test_a_partition_count_below_one_is_refused(
    portfolio: Portfolio, model: Scorecard, policies: list[Policy], partitions: int
) -> None:
    with pytest.raises(ValueError, match="partitions must be a positive integer"):
        decide_portfolio(
            portfolio, AS_OF, model, "m@1", policies, engine="spark", partitions=partitions
        )
