"""Each correction records which API key sent it, so the audit trail does not rest on a self-declared
operator_id.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.add_column(sa.Column("key_id", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("key_id")
