"""Champion / challenger: deterministic arms from a stable hash, recorded in decisions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_decide_support import AS_OF, BASELINE, TIGHT, frames

from clearline.core.decide import OUTPUT_COLUMNS, decide
from clearline.core.policy import load_policy
from clearline.core.policy.experiment import assign_arm, decide_experiment, stable_hash

IDS = pl.Series([f"acc-{i}" for i in range(100_000)])


def reference_hash(text: str) -> int:
    """The documented hash, byte by byte in plain Python (FNV-1a 64, then fmix64)."""
    mask = 2**64 - 1
    h = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * 0x100000001B3) & mask
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & mask
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & mask
    return h ^ (h >> 33)


def test_the_vectorised_hash_matches_the_documented_one_byte_by_byte() -> None:
    ids = ["a", "acc-000017", "账户-7", "", "x" * 40]
    got = stable_hash(pl.Series(ids), "spring-2026")
    assert [int(h) for h in got] == [reference_hash(f"spring-2026:{i}") for i in ids]


def test_the_same_id_and_experiment_always_get_the_same_arm() -> None:
    arms = assign_arm(IDS, "exp-a", 0.3)
    # Same ids in another order, another container and a slice: arm follows the id.
    perm = np.random.default_rng(1).permutation(len(IDS))
    assert np.array_equal(assign_arm(IDS.gather(perm), "exp-a", 0.3), arms[perm])
    assert np.array_equal(assign_arm(IDS.to_numpy(), "exp-a", 0.3), arms)
    assert np.array_equal(assign_arm(IDS.slice(500, 100), "exp-a", 0.3), arms[500:600])


def test_integer_ids_agree_with_their_text_form() -> None:
    ints = np.arange(1000)
    assert np.array_equal(assign_arm(ints, "e", 0.5), assign_arm(ints.astype(str), "e", 0.5))


@pytest.mark.parametrize("share", [0.0, 0.05, 0.5, 0.9, 1.0])
def test_the_challenger_share_is_within_binomial_tolerance(share: float) -> None:
    n = len(IDS)
    got = assign_arm(IDS, "exp-share", share).sum()
    sd = np.sqrt(n * share * (1 - share))
    assert abs(got - n * share) <= 4 * sd  # 4 sd: fails by chance about once in 16,000


def test_a_larger_share_only_adds_challengers() -> None:
    # Growing an experiment keeps everyone already on the challenger there.
    small, large = assign_arm(IDS, "grow", 0.1), assign_arm(IDS, "grow", 0.2)
    assert not (small & ~large).any()


def test_changing_the_experiment_name_reshuffles_the_arms() -> None:
    a, b = assign_arm(IDS, "exp-a", 0.5), assign_arm(IDS, "exp-b", 0.5)
    agree = (a == b).mean()
    assert 0.49 < agree < 0.51  # independent arms agree about half the time


def test_bad_arm_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="within"):
        assign_arm(IDS, "e", 1.5)
    with pytest.raises(ValueError, match="name"):
        assign_arm(IDS, "", 0.5)
    with pytest.raises(ValueError, match="null"):
        assign_arm(pl.Series(["a", None]), "e", 0.5)


def book(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    # Grade D (score 560) accounts with a 10,000 line: the baseline cuts them by 0.75
    # (to 7,500), the tightened policy's macro overlay deeper, by 0.6 (to 6,000), so
    # the arm is visible in the new limit.
    rows = [
        {"account_id": f"a{i}", "borrower_id": f"b{i}", "household_id": f"h{i // 2}"}
        for i in range(n)
    ]
    return frames([{**r, "score": 560.0, "utilisation": 0.3} for r in rows])


def test_each_account_is_decided_by_its_arms_policy_and_the_arm_is_recorded() -> None:
    features, scored = book(400)
    base = load_policy(BASELINE)
    out = decide_experiment(
        features,
        scored,
        base,
        TIGHT,
        experiment="tight-q3",
        share=0.5,
        model_version="m",
        as_of=AS_OF,
    )
    assert out.columns == [*OUTPUT_COLUMNS, "arm", "experiment"]
    assert out["account_id"].to_list() == features["account_id"].to_list()  # order kept
    assert set(out["experiment"]) == {"tight-q3"}
    hh = features["household_id"]
    expected = np.where(assign_arm(hh, "tight-q3", 0.5), "challenger", "champion")
    assert out["arm"].to_list() == expected.tolist()
    for arm, policy in (("champion", base), ("challenger", TIGHT)):
        mine = out.filter(pl.col("arm") == arm)
        alone = decide(features, scored, policy, model_version="m", as_of=AS_OF)
        alone = alone.filter(pl.col("account_id").is_in(mine["account_id"].implode()))
        assert mine.select(OUTPUT_COLUMNS).equals(alone)
        assert set(mine["policy_version"]) == {policy.version}
    limits = dict(out.group_by("arm").agg(pl.col("new_limit").unique()).iter_rows())
    assert limits == {"champion": [7_500.0], "challenger": [6_000.0]}


def test_a_household_is_never_split_across_arms() -> None:
    features, scored = book(600)
    out = decide_experiment(
        features,
        scored,
        load_policy(BASELINE),
        TIGHT,
        experiment="e",
        share=0.5,
        model_version="m",
        as_of=AS_OF,
    )
    arms_per_household = (
        out.join(features, on="account_id").group_by("household_id").agg(pl.col("arm").n_unique())
    )
    assert arms_per_household["arm"].max() == 1


def test_account_level_arms_that_would_split_a_capped_household_are_refused() -> None:
    features, scored = book(200)
    with pytest.raises(ValueError, match="splits .* households"):
        decide_experiment(
            features,
            scored,
            load_policy(BASELINE),
            TIGHT,
            experiment="e",
            share=0.5,
            model_version="m",
            as_of=AS_OF,
            unit="account",
        )


def test_account_level_arms_work_when_no_household_is_shared() -> None:
    features, scored = book(200)
    features = features.with_columns(household_id=pl.col("borrower_id"))
    out = decide_experiment(
        features,
        scored,
        load_policy(BASELINE),
        TIGHT,
        experiment="e",
        share=0.25,
        model_version="m",
        as_of=AS_OF,
        unit="account",
    )
    expected = assign_arm(features["account_id"], "e", 0.25)
    assert np.array_equal(out["arm"].to_numpy() == "challenger", expected)


def test_a_share_of_zero_puts_everyone_on_the_champion() -> None:
    features, scored = book(50)
    out = decide_experiment(
        features,
        scored,
        load_policy(BASELINE),
        TIGHT,
        experiment="e",
        share=0.0,
        model_version="m",
        as_of=AS_OF,
    )
    assert set(out["arm"]) == {"champion"} and out.height == 50
