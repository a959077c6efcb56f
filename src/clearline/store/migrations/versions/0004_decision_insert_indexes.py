"""Drop the indexes on ``decisions.borrower_id`` and ``decisions.request_id``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

No query reads decisions by either column. Each index still cost every stored decision
a write to a random leaf page, which SQLite copies into its write-ahead log at commit
and again into the database at the next checkpoint.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_decisions_request_id", table_name="decisions")
    op.drop_index("ix_decisions_borrower_id", table_name="decisions")


def downgrade() -> None:
    op.create_index("ix_decisions_borrower_id", "decisions", ["borrower_id"])
    op.create_index("ix_decisions_request_id", "decisions", ["request_id"])
