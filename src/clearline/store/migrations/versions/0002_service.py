"""Service tables: API keys, frozen decisions, hash-chained audit log, idempotency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Frozen copy of the shapes in ``service_tables.py`` at this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _ts() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _id() -> sa.types.TypeEngine:
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("key_id", _id(), primary_key=True),
        sa.Column("secret_sha256", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("borrower_id", _id(), nullable=True),
        sa.Column("label", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("revoked_at", _ts(), nullable=True),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", _id(), primary_key=True),
        sa.Column("account_id", _id(), nullable=False),
        sa.Column("borrower_id", _id(), nullable=False),
        sa.Column("decided_at", _ts(), nullable=False),
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
    op.create_index("ix_decisions_account_id", "decisions", ["account_id"])
    op.create_index("ix_decisions_borrower_id", "decisions", ["borrower_id"])
    op.create_index("ix_decisions_request_id", "decisions", ["request_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", _ts(), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        sa.Column("base_seq", sa.BigInteger, nullable=False),
        sa.Column("base_hash", sa.Text, nullable=False),
    )
    op.execute(
        "INSERT INTO audit_head (id, seq, hash, base_seq, base_hash) "
        f"VALUES (1, 0, '{'0' * 64}', 0, '{'0' * 64}')"
    )
    op.create_table(
        "idempotency",
        sa.Column("key_id", _id(), primary_key=True),
        sa.Column("idem_key", sa.Text, primary_key=True),
        sa.Column("request_sha256", sa.Text, nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
    )
    # Reviews read an account's events and a household's accounts on every request.
    op.create_index("ix_events_account_ts", "events", ["account_id", "ts"])
    op.create_index("ix_accounts_borrower", "accounts", ["borrower_id"])
    op.create_index("ix_borrowers_household", "borrowers", ["household_id"])
    op.create_index("ix_links_other", "links", ["other_borrower_id"])


def downgrade() -> None:
    for ix, table in (
        ("ix_links_other", "links"),
        ("ix_borrowers_household", "borrowers"),
        ("ix_accounts_borrower", "accounts"),
        ("ix_events_account_ts", "events"),
    ):
        op.drop_index(ix, table_name=table)
    for table in ("idempotency", "audit_head", "audit_log", "decisions", "api_keys"):
        op.drop_table(table)
