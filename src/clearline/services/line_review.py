"""Use case: review one account now, in one transaction, and keep the frozen record.

A line is reviewed together with its household: the regulatory cap is a household total,
so deciding one line alone could break it. The household's rows are locked first (no
concurrent review can read a limit this one is about to change), then the household
slice is read, featured, scored and decided by the same vectorised code as a portfolio
review; each decision is stored, applied to its line and audited before commit.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa

from clearline.core.decide import decide
from clearline.core.features import build_features, with_line_state
from clearline.core.ledger import as_of_cutoff
from clearline.core.policy import Policy
from clearline.core.scoring.apply import score_accounts
from clearline.store import audit
from clearline.store import decisions as records
from clearline.store.household import UnknownAccount, household_lines, household_slice

__all__ = ["Deployment", "NotReviewable", "UnknownAccount", "review_account"]


#: ``(conn, account_ids, as_of) -> feature rows or None``
FeatureSource = Callable[[sa.Connection, Sequence[str], date], pl.DataFrame | None]


class NotReviewable(ValueError):
    """The account exists but cannot be decided at that date (with the reason)."""


@dataclass(frozen=True)
class Deployment:
    """What the service decides with: one scorer and one policy, loaded once at start."""

    model: Any
    model_version: str
    policy: Policy
    stress_index: float | None = None


def review_account(
    conn: sa.Connection,
    deployment: Deployment,
    account_id: str,
    *,
    as_of: date,
    now: datetime,
    actor: str,
    request_id: str,
    snapshot: FeatureSource | None = None,
) -> list[dict[str, Any]]:
    """Decide ``account_id``'s household at ``as_of``; the stored decision rows, the
    requested account's first. Runs inside the caller's (write) transaction.

    ``snapshot`` may supply the household's feature rows (see
    :mod:`clearline.services.feature_snapshot`); otherwise, or when it returns None,
    they are built from the household's events."""
    lines = household_lines(conn, account_id, lock=True)
    ids = lines["account_id"].to_list()
    features = snapshot(conn, ids, as_of) if snapshot is not None else None
    if features is None:
        portfolio = household_slice(conn, ids, as_of_cutoff(as_of))
        features = build_features(portfolio, as_of).filter(pl.col("account_id").is_in(ids))
    features = with_line_state(features, lines)
    if account_id not in set(features["account_id"]):
        raise NotReviewable(f"account {account_id} was not open on {as_of}")
    features = features.join(
        records.history(conn, features["account_id"].to_list(), as_of),
        on="account_id",
        how="left",
        maintain_order="left",
    )
    model = deployment.model
    table = decide(
        features,
        score_accounts(features, model),
        deployment.policy,
        model_version=deployment.model_version,
        as_of=as_of,
        stress_index=deployment.stress_index,
        trace="full",
        score_features=list(model.features_),
    )
    rows = [
        _record(d, f, now=now, actor=actor, request_id=request_id)
        for d, f in zip(table.to_dicts(), features.to_dicts(), strict=True)
    ]
    rows.sort(key=lambda r: r["account_id"] != account_id)
    records.insert(conn, rows)
    entries = []
    for row in rows:
        entries.append(audit.Entry(actor, "decision.create", row["decision_id"], _summary(row)))
        change = records.apply_line(conn, row)
        if change is not None:
            change["decision_id"] = row["decision_id"]
            entries.append(audit.Entry(actor, "line.change", row["account_id"], change))
    audit.append(conn, entries, at=now)
    return rows


def _record(
    d: dict[str, Any], features: dict[str, Any], *, now: datetime, actor: str, request_id: str
) -> dict[str, Any]:
    inputs = audit.canonical({k: _stable(v) for k, v in features.items() if k != "as_of"})
    return {
        "decision_id": "d-" + uuid.uuid4().hex,
        "account_id": d["account_id"],
        "borrower_id": d["borrower_id"],
        "decided_at": now,
        "as_of": d["as_of"],
        "action": d["action"],
        "old_limit": float(d["old_limit"]),
        "new_limit": float(d["new_limit"]),
        "score": float(d["score"]),
        "pd": float(d["pd"]),
        "grade": d["grade"],
        "reasons": d["reasons"],
        "layer": d["layer"],
        "good_standing": bool(d["good_standing"]),
        "class_wide": bool(d["class_wide"]),
        "policy_version": d["policy_version"],
        "model_version": d["model_version"],
        "inputs_hash": hashlib.sha256(inputs.encode()).hexdigest(),
        "trace": d["trace"],
        "requested_by": actor,
        "request_id": request_id,
    }


def _stable(value: Any) -> Any:
    """Floats to 12 significant digits: a feature summed in another order (a household's
    rows vs the whole portfolio's) differs in the last bit, not in what was decided."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "account_id",
        "action",
        "old_limit",
        "new_limit",
        "layer",
        "reasons",
        "policy_version",
        "model_version",
        "inputs_hash",
        "request_id",
    )
    return {k: row[k] for k in keys}
