"""Initial portfolio tables and the loads log.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Frozen copy of the table shapes at this revision (later changes to ``tables.py`` need a
new revision, not an edit here).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _ts() -> sa.types.TypeEngine:
    # UTC instants: timestamptz in PostgreSQL, integer microseconds since epoch in SQLite.
    return sa.DateTime(timezone=True).with_variant(sa.BigInteger(), "sqlite")


def _id() -> sa.types.TypeEngine:
    # Identifiers compare bytewise in PostgreSQL (as in SQLite): locale-aware collation
    # makes key and foreign-key checks about twice as slow on millions of events.
    return sa.Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "borrowers",
        sa.Column("borrower_id", _id(), primary_key=True),
        sa.Column("household_id", sa.Text, nullable=True),
        sa.Column("birth_year", sa.BigInteger, nullable=False),
        sa.Column("city", sa.Text, nullable=True),
        sa.Column("declared_monthly_income", sa.Double, nullable=False),
        sa.Column("income_verified", sa.Boolean, nullable=False),
        sa.Column("employment", sa.Text, nullable=False),
        sa.Column("registered_at", _ts(), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("account_id", _id(), primary_key=True),
        sa.Column("borrower_id", _id(), sa.ForeignKey("borrowers.borrower_id"), nullable=False),
        sa.Column("product", sa.Text, nullable=False),
        sa.Column("opened_at", _ts(), nullable=False),
        sa.Column("credit_limit", sa.Double, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
    )
    op.create_table(
        "events",
        sa.Column("event_id", _id(), primary_key=True),
        sa.Column("account_id", _id(), sa.ForeignKey("accounts.account_id"), nullable=False),
        sa.Column("ts", _ts(), nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("amount", sa.Double, nullable=False),
        sa.Column("loan_id", sa.Text, nullable=True),
        sa.Column("term_months", sa.BigInteger, nullable=True),
        sa.Column("apr", sa.Double, nullable=True),
        sa.Column("counterparty", sa.Text, nullable=True),
        sa.Column("city", sa.Text, nullable=True),
    )
    op.create_table(
        "links",
        sa.Column("borrower_id", _id(), sa.ForeignKey("borrowers.borrower_id"), primary_key=True),
        sa.Column(
            "other_borrower_id",
            _id(),
            sa.ForeignKey("borrowers.borrower_id"),
            primary_key=True,
        ),
        sa.Column("kind", sa.Text, primary_key=True),
    )
    op.create_table(
        "macro",
        sa.Column("month", _id(), primary_key=True),
        sa.Column("stress_index", sa.Double, nullable=False),
    )
    op.create_table(
        "loads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("loaded_at", _ts(), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    for name in ("loads", "macro", "links", "events", "accounts", "borrowers"):
        op.drop_table(name)
