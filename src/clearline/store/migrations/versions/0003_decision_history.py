"""Indexes for a review's history read: each account's last decision and last line
change, found by an index seek instead of reading the account's whole history.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

The index on ``decisions.account_id`` alone is replaced: the new one starts with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copy of service_tables.LINE_CHANGED at this revision.
_CHANGED = "(new_limit <> old_limit OR action IN ('freeze', 'close'))"
_KEY = ["account_id", "decided_at", "decision_id"]


def upgrade() -> None:
    op.create_index("ix_decisions_account_decided", "decisions", _KEY)
    op.create_index(
        "ix_decisions_account_changes",
        "decisions",
        _KEY,
        sqlite_where=sa.text(_CHANGED),
        postgresql_where=sa.text(_CHANGED),
    )
    op.drop_index("ix_decisions_account_id", table_name="decisions")


def downgrade() -> None:
    op.create_index("ix_decisions_account_id", "decisions", ["account_id"])
    op.drop_index("ix_decisions_account_changes", table_name="decisions")
    op.drop_index("ix_decisions_account_decided", table_name="decisions")
