"""the dashboard: one-time sign-in links, sessions, topic labels that outlive a week, an index on case dates

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 07:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _moment(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "topic_labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("generated", sa.String(64), nullable=False),
        sa.Column("centroid", sa.LargeBinary(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("renamed_by", sa.String(64), nullable=True),
        _moment("renamed_at", nullable=True),
        sa.Column("first_week", sa.String(8), nullable=False),
        sa.Column("last_week", sa.String(8), nullable=False),
    )
    for table in ("web_links", "web_sessions"):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
            sa.Column("name", sa.String(64), nullable=True),
            sa.Column("role", sa.String(16), nullable=False),
            _moment("created_at"),
            _moment("expires_at"),
            *([_moment("used_at", nullable=True)] if table == "web_links" else []),
        )
        op.create_index(f"ix_{table}_telegram_user_id", table, ["telegram_user_id"])
    with op.batch_alter_table("digest_groups") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_index("ix_digest_groups_topic_id", ["topic_id"])
        batch.create_foreign_key("fk_digest_groups_topic_id", "topic_labels", ["topic_id"], ["id"])
    with op.batch_alter_table("ledger_items") as batch:
        batch.add_column(sa.Column("topic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_ledger_items_topic_id", "topic_labels", ["topic_id"], ["id"])
    op.create_index("ix_cases_created_at", "cases", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_created_at", "cases")
    with op.batch_alter_table("ledger_items") as batch:
        batch.drop_constraint("fk_ledger_items_topic_id", type_="foreignkey")
        batch.drop_column("topic_id")
    with op.batch_alter_table("digest_groups") as batch:
        batch.drop_constraint("fk_digest_groups_topic_id", type_="foreignkey")
        batch.drop_index("ix_digest_groups_topic_id")
        batch.drop_column("topic_id")
    op.drop_table("web_sessions")
    op.drop_table("web_links")
    op.drop_table("topic_labels")
