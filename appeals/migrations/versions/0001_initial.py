"""Initial schema: accepted appeals with predictions, and operators' corrections.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(100)),
        sa.Column("municipality", sa.String(200)),
        sa.Column("district", sa.String(200)),
        sa.Column("places", sa.JSON),
        sa.Column("text_masked", sa.Text, nullable=False),
        sa.Column("topic", sa.String(300)),
        sa.Column("topic_proba", sa.Float),
        sa.Column("topic_top3", sa.JSON),
        sa.Column("topic_group", sa.String(300)),
        sa.Column("topic_group_proba", sa.Float),
        sa.Column("department", sa.String(300)),
        sa.Column("department_proba", sa.Float),
        sa.Column("department_source", sa.String(50)),
        sa.Column("urgency", sa.String(20)),
        sa.Column("urgency_proba", sa.Float),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("needs_review", sa.Boolean, nullable=False),
        sa.Column("review_reasons", sa.JSON),
        sa.Column("group_id", sa.String(200)),
        sa.Column("duplicate_of", sa.String(200)),
        sa.Column("model_versions", sa.JSON),
    )
    op.create_index("ix_appeals_received_at", "appeals", ["received_at"])
    op.create_index("ix_appeals_created_at", "appeals", ["created_at"])
    op.create_index("ix_appeals_district", "appeals", ["district"])
    op.create_index("ix_appeals_group_id", "appeals", ["group_id"])
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("appeal_id", sa.String(200), sa.ForeignKey("appeals.id", ondelete="CASCADE"), nullable=False),
        sa.Column("topic", sa.String(300)),
        sa.Column("topic_group", sa.String(300)),
        sa.Column("department", sa.String(300)),
        sa.Column("urgency", sa.String(20)),
        sa.Column("operator_id", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_corrections_appeal_id", "corrections", ["appeal_id"])


def downgrade() -> None:
    op.drop_index("ix_corrections_appeal_id", table_name="corrections")
    op.drop_table("corrections")
    for name in ("group_id", "district", "created_at", "received_at"):
        op.drop_index(f"ix_appeals_{name}", table_name="appeals")
    op.drop_table("appeals")
