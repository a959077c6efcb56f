"""What a distributed engine runs on one batch of households: plain polars, no Spark.

An engine splits the portfolio into batches of whole households (the household cap spans
a household's accounts) and maps the pure core over them. Two inputs cross batches:

* ``linked_arrears_share`` needs the arrears of linked borrowers who may live in another
  batch. A first pass computes each batch's features (with no links); the borrowers with
  an account at ``dpd_now > 0`` are gathered into one small table, shared with every
  batch, and :func:`relink` recomputes ``n_links`` and ``linked_arrears_share`` from it
  with the core's own :func:`~clearline.core.features.linked_arrears`.
* A ``loan_id`` is global in the ledger (repayments count whatever account they were
  booked on; a loan drawn twice keeps its first drawdown), so the engine copies the
  events of a loan seen in several batches into each of them. The copies carry their own
  ``account_id``, which is not an account of the receiving batch, so they only complete
  that loan's history there.

Everything here is importable and testable without Spark.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from clearline.core.decide import decide
from clearline.core.features import FEATURE_COLUMNS, FEATURE_SCHEMA, linked_arrears
from clearline.core.policy import Policy, parse_policy
from clearline.core.portfolio import Portfolio, empty_table, polars_schema
from clearline.core.scoring.apply import score_accounts
from clearline.core.scoring.scorecard import Scorecard

__all__ = [
    "POLICY_COLUMN",
    "ROW_COLUMN",
    "TABLE_COLUMN",
    "decide_features",
    "late_borrowers",
    "model_from_json",
    "model_to_json",
    "policies_from_json",
    "policies_to_json",
    "portfolio_from_long",
    "relink",
]

#: Which contract table a row of a "long" (unioned) batch frame belongs to.
TABLE_COLUMN = "_table"
#: Index of the policy (in the caller's list) a decision row was made under.
POLICY_COLUMN = "_policy"
#: A row's position in its table of the original portfolio. Batches put their rows back
#: in this order: the core sums floats in row order, and the last bit must not depend on
#: how a shuffle happened to deliver the rows.
ROW_COLUMN = "_row"
_BATCH_TABLES = ("borrowers", "accounts", "events", "links")
_UTC = "UTC"


# ----------------------------------------------------------------- plain-data transport
def _model_classes() -> dict[str, Any]:
    from clearline.core.scoring.calibrated import CalibratedModel
    from clearline.core.scoring.gbm import GBMChallenger

    return {c.__name__: c for c in (Scorecard, GBMChallenger, CalibratedModel)}


def model_to_json(model: Any) -> str:
    """The model as JSON text (its own ``to_dict``): what travels to workers, no pickle."""
    name = type(model).__name__
    if name not in _model_classes():
        raise TypeError(f"cannot ship a {name} to workers")
    return json.dumps({"class": name, "model": model.to_dict()})


def model_from_json(text: str) -> Any:
    doc = json.loads(text)
    return _model_classes()[doc["class"]].from_dict(doc["model"])


def policies_to_json(policies: Sequence[Policy]) -> str:
    """Policies as JSON text; refuses one whose round trip would change its version."""
    dumped = [p.model_dump(mode="json", by_alias=True) for p in policies]
    for p, back in zip(policies, policies_from_json(json.dumps(dumped)), strict=True):
        if back.version != p.version:  # a policy must mean the same thing on every worker
            raise ValueError(f"policy {p.version} does not survive JSON ({back.version})")
    return json.dumps(dumped)


def policies_from_json(text: str) -> list[Policy]:
    return [parse_policy(d, "<engine policy>") for d in json.loads(text)]


# ----------------------------------------------------------------------- batch frames
def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """``frame`` restricted to ``schema``'s columns and types; timestamps back in UTC.

    Spark hands timestamps over in its session time zone; converting (not casting) keeps
    the instant, so a batch sees exactly the timestamps the portfolio had.
    """
    cols = []
    for name, dtype in schema.items():
        col = pl.col(name)
        got = frame.schema[name]
        if isinstance(dtype, pl.Datetime) and isinstance(got, pl.Datetime):
            col = (
                col.dt.replace_time_zone(_UTC)
                if got.time_zone is None
                else col.dt.convert_time_zone(_UTC)
            )
        cols.append(col.cast(dtype))
    return frame.select(cols)


def portfolio_from_long(frame: pl.DataFrame) -> Portfolio:
    """Rebuild a batch ``Portfolio`` from rows tagged with :data:`TABLE_COLUMN`.

    ``frame`` has the union of the contract tables' columns (nulls where a table lacks
    one). ``macro`` is empty: neither features nor decisions read it.
    """
    parts = frame.partition_by(TABLE_COLUMN, as_dict=True, include_key=False)
    tables: dict[str, pl.DataFrame] = {}
    for name in _BATCH_TABLES:
        part = parts.get((name,))
        schema = polars_schema(name)
        if part is None:
            tables[name] = empty_table(name)
            continue
        if ROW_COLUMN in part.columns:
            part = part.sort(ROW_COLUMN)
        tables[name] = _typed(part, schema)
    return Portfolio(**tables, macro=empty_table("macro"), source="batch")


def late_borrowers(features: pl.DataFrame) -> pl.DataFrame:
    """``borrower_id`` of every borrower with an account at ``dpd_now > 0``.

    The same test ``linked_arrears`` applies: an account is late when its days past due
    at the as-of date are positive; a borrower is late when any of its accounts is.
    """
    return features.filter(pl.col("dpd_now") > 0).select("borrower_id").unique(maintain_order=True)


def relink(features: pl.DataFrame, links: pl.DataFrame, late: pl.DataFrame) -> pl.DataFrame:
    """Recompute ``n_links`` and ``linked_arrears_share`` from portfolio-wide arrears.

    Parameters
    ----------
    features
        A batch's feature rows (any link columns are replaced).
    links
        Every link touching a borrower of the batch (either side).
    late
        ``borrower_id`` of every late borrower of the whole portfolio
        (:func:`late_borrowers` over all batches).

    Returns
    -------
    pl.DataFrame
        ``features`` with the two columns as ``build_features`` on the whole portfolio
        would give them, same row order and schema.
    """
    # Each late borrower becomes one pseudo-account in arrears: linked_arrears only asks
    # whether a linked borrower has any account with dpd_now > 0.
    ids = late.get_column("borrower_id")
    accounts = pl.DataFrame({"account_id": ids, "borrower_id": ids})
    arrears = pl.DataFrame({"account_id": ids, "dpd_now": pl.repeat(1, ids.len(), eager=True)})
    shares = linked_arrears(links, accounts, arrears)
    return (
        features.drop("n_links", "linked_arrears_share")
        .join(shares, on="borrower_id", how="left", maintain_order="left")
        # As in build_features: no link is 0 links and a null share.
        .with_columns(pl.col("n_links").fill_null(0))
        .select(pl.col(c).cast(FEATURE_SCHEMA[c]) for c in FEATURE_COLUMNS)
    )


def decide_features(
    features: pl.DataFrame,
    as_of: date,
    model: Scorecard,
    model_version: str,
    policies: Sequence[Policy],
    *,
    stress_index: float | None = None,
) -> pl.DataFrame:
    """Score once, decide under every policy; rows tagged with :data:`POLICY_COLUMN`.

    ``features`` must hold whole households (the cap spans them). Rows come out in
    ``features`` order within each policy.
    """
    # Reasons travel as indices into the model's features: no string work per row.
    scored = score_accounts(features, model, names=False) if features.height else _empty_scored()
    names = list(model.features_) if features.height else None
    out = [
        decide(
            features,
            scored,
            p,
            model_version=model_version,
            as_of=as_of,
            score_features=names,
            stress_index=stress_index,
        ).with_columns(pl.lit(i, dtype=pl.Int32).alias(POLICY_COLUMN))
        for i, p in enumerate(policies)
    ]
    return pl.concat(out) if out else pl.DataFrame()


def _empty_scored() -> pl.DataFrame:
    # The scorecard refuses zero rows; an empty batch still has a typed decision table.
    return pl.DataFrame(
        schema={
            "account_id": pl.String(),
            "score": pl.Float64(),
            "pd": pl.Float64(),
            "score_reasons": pl.List(pl.String()),
        }
    )


def decision_schema(policy: Policy) -> dict[str, Any]:
    """Column -> polars dtype of a decision table (``decide`` on zero accounts)."""
    empty = decide(
        pl.DataFrame(schema=FEATURE_SCHEMA),
        _empty_scored(),
        policy,
        model_version="",
        as_of=date(2000, 1, 1),
    )
    return dict(empty.schema)
