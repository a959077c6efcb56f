"""Champion / challenger: a deterministic share of accounts gets the challenger policy.

The arm of an account depends only on the experiment name and an id, never on the
order of the table, the run or the library version, so a review re-run next month puts
every account in the same arm and anyone can recompute the split. The hash is spelled
out (not polars' ``hash``, which is not stable across versions):

    h = FNV-1a-64(utf8(experiment + ":" + id))      offset 0xcbf29ce484222325,
                                                     prime 0x100000001b3
    h = fmix64(h)                                    MurmurHash3's 64-bit finaliser
    challenger  <=>  (h >> 11) / 2**53 < share

FNV-1a alone mixes the last bytes poorly (ids often differ only there), hence the
finaliser. It runs over whole columns: one numpy pass per byte position, not per id.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa

from clearline.core.decide import OUTPUT_COLUMNS, decide
from clearline.core.policy.model import Policy

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
ARMS = ("champion", "challenger")


def _fnv_prefix(prefix: bytes) -> np.uint64:
    h = int(_FNV_OFFSET)
    for byte in prefix:  # a handful of bytes, once per call
        h = ((h ^ byte) * int(_FNV_PRIME)) & 0xFFFFFFFFFFFFFFFF
    return np.uint64(h)


def _fmix64(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(33))
    h = h * _M1
    h = h ^ (h >> np.uint64(33))
    h = h * _M2
    return h ^ (h >> np.uint64(33))


def _as_strings(account_ids: pl.Series | np.ndarray) -> pa.LargeStringArray:
    s = account_ids if isinstance(account_ids, pl.Series) else pl.Series(np.asarray(account_ids))
    if s.null_count():
        raise ValueError(f"account ids must not be null ({s.null_count()} are)")
    arr = s.cast(pl.String).to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def stable_hash(account_ids: pl.Series | np.ndarray, experiment: str) -> np.ndarray:
    """uint64 hash of ``experiment + ":" + id`` for every id (see the module docstring)."""
    arr = _as_strings(account_ids)
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data_buf = arr.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = np.full(n, _fnv_prefix(f"{experiment}:".encode()), dtype=np.uint64)
    if data.size:
        last = data.size - 1
        for j in range(int(lengths.max(initial=0))):
            live = lengths > j
            byte = data[np.minimum(starts + j, last)].astype(np.uint64)
            h = np.where(live, (h ^ byte) * _FNV_PRIME, h)
    return _fmix64(h)


def assign_arm(
    account_ids: pl.Series | np.ndarray, experiment: str, challenger_share: float
) -> np.ndarray:
    """True where the id is in the challenger arm of ``experiment``.

    Parameters
    ----------
    account_ids
        Ids (any dtype; compared as their text form, so 17 and "17" agree).
    experiment
        The experiment's name; a new name reshuffles the arms.
    challenger_share
        Expected share of challenger ids, in [0, 1].
    """
    if not experiment:
        raise ValueError("an experiment needs a name (it seeds the split)")
    if not 0.0 <= challenger_share <= 1.0:
        raise ValueError(f"challenger_share must be within [0, 1], got {challenger_share}")
    u = (stable_hash(account_ids, experiment) >> np.uint64(11)).astype(np.float64) / 2.0**53
    return u < challenger_share


def pick_arms(
    champion: pl.DataFrame,
    challenger: pl.DataFrame,
    keys: pl.Series,
    *,
    experiment: str,
    share: float,
) -> pl.DataFrame:
    """Each row takes its arm's decision: ``challenger`` where ``keys`` (aligned with
    ``champion``'s rows) hash into the challenger share, else ``champion``; adds ``arm``
    and ``experiment``. Both tables decide the same accounts, in any order."""
    arm = assign_arm(keys, experiment, share)
    aligned = champion.select("account_id").join(
        challenger.select(champion.columns), on="account_id", how="left", maintain_order="left"
    )
    mask = pl.Series(arm)
    return (
        pl.concat(
            [
                champion.with_row_index("_i").filter(~mask),
                aligned.with_row_index("_i").filter(mask),
            ]
        )
        .sort("_i")
        .drop("_i")
        .with_columns(arm=pl.Series(np.where(arm, ARMS[1], ARMS[0])), experiment=pl.lit(experiment))
    )


def _household_key(features: pl.DataFrame) -> pl.Series:
    if "household_id" not in features.columns:
        return features["borrower_id"]
    hh = pl.col("household_id").replace("", None)
    return features.select(pl.coalesce(hh, pl.col("borrower_id")))[:, 0]


def decide_experiment(
    features: pl.DataFrame,
    scored: pl.DataFrame,
    champion: Policy,
    challenger: Policy,
    *,
    experiment: str,
    share: float,
    model_version: str,
    as_of: date | None = None,
    unit: Literal["household", "account"] = "household",
) -> pl.DataFrame:
    """Decide each account with its arm's policy; adds ``arm`` and ``experiment``.

    Parameters
    ----------
    unit
        What is randomised. ``"household"`` (default) hashes the household key
        (``household_id``, else ``borrower_id``), so a household is never split and
        each policy's household cap holds exactly. ``"account"`` hashes the account
        id, and is refused when it would split a household under a household cap
        (two policies each capping their part could together exceed the cap).

    Returns
    -------
    pl.DataFrame
        ``decide``'s columns then ``arm`` ("champion"/"challenger") and
        ``experiment``, one row per account in ``features`` order; ``policy_version``
        names the policy that decided the row.
    """
    key = features["account_id"] if unit == "account" else _household_key(features)
    if unit == "account" and (champion.household_cap or challenger.household_cap):
        arm = pl.Series("_challenger", assign_arm(key, experiment, share))
        mixed = (
            features.select(hh=_household_key(features), c=arm)
            .group_by("hh")
            .agg(pl.col("c").n_unique() > 1)
            .filter(pl.col("c"))
        )
        if mixed.height:
            raise ValueError(
                f"unit='account' splits {mixed.height} households across arms "
                f"(e.g. {mixed['hh'][0]!r}) under a household cap; use unit='household'"
            )
    # Households are never split (or no cap is at stake), so deciding every row under
    # both policies and keeping each row's arm equals deciding each arm on its own rows.
    order = features.select("account_id")
    base, rival = (
        order.join(
            decide(features, scored, p, model_version=model_version, as_of=as_of),
            on="account_id",
            how="left",
            maintain_order="left",
        )
        for p in (champion, challenger)
    )
    picked = pick_arms(base, rival, key, experiment=experiment, share=share)
    return picked.select(*OUTPUT_COLUMNS, "arm", "experiment")
