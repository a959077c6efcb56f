"""Add ``loads.scope`` (the ids a load touched) and an index of events by loan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

A worker's feature snapshot and household index read it to bring only the touched rows
up to date after a small load (``store/load_scope.py``). Loads written before have none
(null), which readers take as "anything may have changed". A repayment counts for its
loan whatever account it is booked on, so bringing an account's row up to date also
reads its loans' events on other accounts: ``ix_events_loan`` (only events that name
a loan, a quarter of them in the simulated portfolios).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("loads", sa.Column("scope", sa.JSON, nullable=True))
    named = sa.text("loan_id IS NOT NULL")
    op.create_index(
        "ix_events_loan", "events", ["loan_id"], sqlite_where=named, postgresql_where=named
    )


def downgrade() -> None:
    op.drop_index("ix_events_loan", table_name="events")
    with op.batch_alter_table("loads") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("scope")
