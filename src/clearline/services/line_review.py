"""Use case: review one account now, in one transaction, and keep the frozen record.

A line is reviewed together with its household: the regulatory cap is a household total,
so deciding one line alone could break it. The household's rows are locked first (no
concurrent review can read a limit this one is about to change), then the household
slice is read, featured, scored and decided by the same vectorised code as a portfolio
review; each decision is stored, applied to its line and audited before commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Sequence
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
from clearline.store.household import (
    UnknownAccount,
    household_slice,
    households_of,
    lock_lines,
)

__all__ = [
    "Deferred",
    "Deployment",
    "MemberSource",
    "NotReviewable",
    "ReviewRequest",
    "UnknownAccount",
    "review_account",
    "review_many",
]


#: ``(conn, account_ids, as_of) -> feature rows or None``
FeatureSource = Callable[[sa.Connection, Sequence[str], date], pl.DataFrame | None]
#: ``(conn, account_ids) -> {account id: its household's sorted ids}``, as households_of
MemberSource = Callable[[sa.Connection, Collection[str]], dict[str, list[str]]]


class NotReviewable(ValueError):
    """The account exists but cannot be decided at that date (with the reason)."""


@dataclass(frozen=True)
class Deployment:
    """What the service decides with: one scorer and one policy, loaded once at start."""

    model: Any
    model_version: str
    policy: Policy
    stress_index: float | None = None


@dataclass(frozen=True)
class ReviewRequest:
    """One account to review, and who asked (recorded with its decisions)."""

    account_id: str
    as_of: date
    actor: str
    request_id: str


class Deferred(Exception):
    """The account's household is already in this batch; review it in the next one (it
    must see the decisions this batch makes)."""


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
    request = ReviewRequest(account_id, as_of, actor, request_id)
    (result,) = review_many(conn, deployment, [request], now=now, snapshot=snapshot)
    if isinstance(result, Exception):
        raise result
    return result


#: account id -> (decision, input row), as one ``decide`` pass gives them.
Decided = dict[str, tuple[dict[str, Any], dict[str, Any]]]


def review_many(
    conn: sa.Connection,
    deployment: Deployment,
    requests: Sequence[ReviewRequest],
    *,
    now: datetime,
    snapshot: FeatureSource | None = None,
    members: MemberSource | None = None,
) -> list[list[dict[str, Any]] | Exception]:
    """Review several accounts' households in one pass: one lock statement, one feature
    read and one ``decide`` per as-of day, one write of all decisions and audit entries.

    Households are independent in every policy layer, so each gets the decisions it
    would get alone. Per request: its stored rows, or the exception that refused it
    (:class:`UnknownAccount`, :class:`NotReviewable`, :class:`Deferred` when its
    household was already taken by an earlier request of the batch). ``members`` (see
    :mod:`clearline.services.household_index`) gives the households, else they are read.
    """
    known = (members or households_of)(conn, {r.account_id for r in requests})
    results, households = _grouped(requests, known)
    # Locked in id order in one statement: concurrent batches cannot deadlock.
    lines = lock_lines(conn, sorted({a for ids in households.values() for a in ids}))
    for as_of, same_day in _by_day(requests, households).items():
        ids = [a for i in same_day for a in households[i]]
        inputs = _inputs(conn, ids, lines, as_of, snapshot)
        decided = _decide_inputs(deployment, inputs, as_of)
        for i in same_day:
            r = requests[i]
            if r.account_id not in decided:
                results[i] = NotReviewable(f"account {r.account_id} was not open on {as_of}")
                continue
            rows = [
                _record(*decided[a], now=now, actor=r.actor, request_id=r.request_id)
                for a in households[i]
                if a in decided
            ]
            rows.sort(key=lambda row, a=r.account_id: row["account_id"] != a)
            results[i] = rows
    _write(conn, [res for res in results if isinstance(res, list)], lines, now)
    return [res if res is not None else AssertionError("unreached") for res in results]


def _grouped(
    requests: Sequence[ReviewRequest], known: dict[str, list[str]]
) -> tuple[list[list[dict[str, Any]] | Exception | None], dict[int, list[str]]]:
    """Per request its refusal (unknown account, household already taken) or None, and
    the household ids of each request that goes ahead."""
    results: list[list[dict[str, Any]] | Exception | None] = [None] * len(requests)
    households: dict[int, list[str]] = {}
    taken: set[str] = set()
    for i, r in enumerate(requests):
        ids = known.get(r.account_id)
        if ids is None:
            results[i] = UnknownAccount(r.account_id)
        elif taken.intersection(ids):
            results[i] = Deferred(r.account_id)
        else:
            taken.update(ids)
            households[i] = ids
    return results, households


def _by_day(
    requests: Sequence[ReviewRequest], households: dict[int, list[str]]
) -> dict[date, list[int]]:
    by_day: dict[date, list[int]] = {}
    for i in households:
        by_day.setdefault(requests[i].as_of, []).append(i)
    return by_day


def _inputs(
    conn: sa.Connection,
    ids: list[str],
    lines: pl.DataFrame,
    as_of: date,
    snapshot: FeatureSource | None,
) -> pl.DataFrame:
    """The rows ``decide`` reads for accounts ``ids`` at ``as_of``: features, the line
    as ``lines`` has it, and the decision history."""
    features = snapshot(conn, ids, as_of) if snapshot is not None else None
    if features is None:
        portfolio = household_slice(conn, ids, as_of_cutoff(as_of))
        features = build_features(portfolio, as_of).filter(pl.col("account_id").is_in(ids))
    features = with_line_state(features, _aligned(lines, features))
    if features.height == 0:
        return features
    past = records.history(conn, features.get_column("account_id").to_list(), as_of)
    # One row per id, in the order asked: side by side, no join needed.
    return features.hstack([c for c in past.get_columns() if c.name != "account_id"])


def _aligned(lines: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """``lines`` in the order of the feature rows, which lets ``with_line_state`` skip
    its join (a batch locks its lines in id order, its rows come household by
    household); as given when an account has no line row."""
    want = features.get_column("account_id")
    have = lines.get_column("account_id")
    if have.equals(want):
        return lines
    at = {a: i for i, a in enumerate(have.to_list())}
    rows = [at.get(a) for a in want.to_list()]
    return lines if None in rows else lines.gather(rows)


def _decide_inputs(deployment: Deployment, inputs: pl.DataFrame, as_of: date) -> Decided:
    """account id -> (decision, input row) for every account ``inputs`` holds."""
    if inputs.height == 0:
        return {}
    model = deployment.model
    table = decide(
        inputs,
        score_accounts(inputs, model, names=False),
        deployment.policy,
        model_version=deployment.model_version,
        as_of=as_of,
        stress_index=deployment.stress_index,
        trace="full",
        score_features=list(model.features_),
    )
    return {
        d["account_id"]: (d, f) for d, f in zip(table.to_dicts(), inputs.to_dicts(), strict=True)
    }


def _write(
    conn: sa.Connection, batches: list[list[dict[str, Any]]], lines: pl.DataFrame, now: datetime
) -> None:
    """Store the decisions, apply them to their (locked) lines and audit both, in
    request order."""
    rows = [row for batch in batches for row in batch]
    records.insert(conn, rows)
    current = {a: (lim, st) for a, lim, st in lines.iter_rows()}
    changes = {c["decision_id"]: c for c in records.line_changes(rows, current)}
    records.apply_changes(conn, list(changes.values()))
    entries = []
    for row in rows:
        actor = row["requested_by"]
        entries.append(audit.Entry(actor, "decision.create", row["decision_id"], _summary(row)))
        change = changes.get(row["decision_id"])
        if change is not None:
            payload = {k: v for k, v in change.items() if k != "account_id"}
            entries.append(audit.Entry(actor, "line.change", row["account_id"], payload))
    audit.append(conn, entries, at=now)


def _record(
    d: dict[str, Any], features: dict[str, Any], *, now: datetime, actor: str, request_id: str
) -> dict[str, Any]:
    inputs = audit.canonical({k: _stable(v) for k, v in features.items() if k != "as_of"})
    return {
        "decision_id": records.new_id(),
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
