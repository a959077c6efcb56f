"""Tables of the running service: API keys, frozen decisions, the audit chain, idempotency.

The portfolio tables (``tables.py``) hold what the lender knows about borrowers; these
hold what clearline did with it. Decisions and audit entries are written once and never
updated; the line a decision changes is updated in ``accounts`` in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from clearline.store.tables import id_type, metadata

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_us(value: datetime) -> int:
    """Integer microseconds since the epoch: how SQLite stores an instant."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class UtcInstant(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime: timestamptz in PostgreSQL, integer microseconds since the
    epoch in SQLite (as the portfolio tables), so both give back the same value."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcInstant needs an aware datetime")
        if dialect.name == "sqlite":
            return epoch_us(value)
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return _EPOCH + timedelta(microseconds=int(value))
        return value.astimezone(UTC)


# Keys are random 256-bit secrets; only their SHA-256 is stored (a slow password hash
# buys nothing against guessing a 256-bit secret and would cost every request).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("key_id", id_type(), primary_key=True),
    sa.Column("secret_sha256", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("borrower_id", id_type(), nullable=True),
    sa.Column("label", sa.Text, nullable=False, server_default=""),
    sa.Column("created_at", UtcInstant(), nullable=False),
    sa.Column("revoked_at", UtcInstant(), nullable=True),
)

# The frozen record of one decision: audit, appeals and notices read it, never recompute.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("decision_id", id_type(), primary_key=True),
    sa.Column("account_id", id_type(), nullable=False),
    sa.Column("borrower_id", id_type(), nullable=False),
    sa.Column("decided_at", UtcInstant(), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("old_limit", sa.Double, nullable=False),
    sa.Column("new_limit", sa.Double, nullable=False),
    sa.Column("score", sa.Double, nullable=False),
    sa.Column("pd", sa.Double, nullable=False),
    sa.Column("grade", sa.Text, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("layer", sa.Text, nullable=False),
    sa.Column("good_standing", sa.Boolean, nullable=False),
    sa.Column("class_wide", sa.Boolean, nullable=False),
    sa.Column("policy_version", sa.Text, nullable=False),
    sa.Column("model_version", sa.Text, nullable=False),
    sa.Column("inputs_hash", sa.Text, nullable=False),
    sa.Column("trace", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),
    sa.Column("request_id", sa.Text, nullable=False),
)
# No index on borrower_id or request_id: no query reads decisions by them (a borrower's
# decisions are reached through its accounts), and each index costs every insert a write
# to a random leaf page (migration 0004).

# A decision that changed its line (the policy's hysteresis counts days since the last).
# Text, not bound parameters: SQLite uses a partial index only for a query whose WHERE
# repeats the index's own condition word for word.
LINE_CHANGED = sa.text("(new_limit <> old_limit OR action IN ('freeze', 'close'))")

# A review reads each account's last decision and its last line change: with these, an
# index seek each, however long the account's history (see decisions.history).
sa.Index(
    "ix_decisions_account_decided",
    decisions.c.account_id,
    decisions.c.decided_at,
    decisions.c.decision_id,
)
sa.Index(
    "ix_decisions_account_changes",
    decisions.c.account_id,
    decisions.c.decided_at,
    decisions.c.decision_id,
    sqlite_where=LINE_CHANGED,
    postgresql_where=LINE_CHANGED,
)

# Append-only, hash-chained: entry n carries the hash of entry n-1 (docs/service.md).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", UtcInstant(), nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.Text, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
)

# One row: the chain's last entry (locked by every append, so appends serialise and a
# deleted tail is detected) and where the chain starts after retention pruning.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.Text, nullable=False),
    sa.Column("base_seq", sa.BigInteger, nullable=False),
    sa.Column("base_hash", sa.Text, nullable=False),
)

# A write replayed with the same Idempotency-Key returns the stored response.
idempotency = sa.Table(
    "idempotency",
    metadata,
    sa.Column("key_id", id_type(), primary_key=True),
    sa.Column("idem_key", sa.Text, primary_key=True),
    sa.Column("request_sha256", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UtcInstant(), nullable=False),
)

GENESIS = "0" * 64
