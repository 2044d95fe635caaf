"""Operators split an appeal out of its duplicate group or merge it into another one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.add_column(sa.Column("group_action", sa.String(20)))
        batch.add_column(sa.Column("merge_with", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("merge_with")
        batch.drop_column("group_action")
