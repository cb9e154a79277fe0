"""conversation and cases apart: messages name their case, a driver writes to a case only by choice

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch.create_index("ix_messages_case_id", ["case_id"])
        batch.create_foreign_key("fk_messages_case_id", "cases", ["case_id"], ["id"])
        batch.add_column(sa.Column("source_key", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_messages_source_key", ["source_key"])
    with op.batch_alter_table("case_events") as batch:
        batch.add_column(sa.Column("update_id", sa.BigInteger(), nullable=True))
        batch.create_index("ix_case_events_update_id", ["update_id"])
    with op.batch_alter_table("warning_alerts") as batch:
        batch.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch.create_index("ix_warning_alerts_case_id", ["case_id"])
        batch.create_foreign_key("fk_warning_alerts_case_id", "cases", ["case_id"], ["id"])
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("handoff_case_id", new_column_name="focus_case_id", existing_type=sa.Integer())
        batch.add_column(sa.Column("focus_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "group_posts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_group_posts_chat_id", "group_posts", ["chat_id"])
    op.create_index("ix_group_posts_sent_at", "group_posts", ["sent_at"])
    # a chat handed to staff no longer captures the driver: everyone starts with the bot again
    op.execute("UPDATE conversations SET mode = 'bot', focus_case_id = NULL WHERE mode = 'waiting_staff'")


def downgrade() -> None:
    op.drop_table("group_posts")
    op.execute("UPDATE conversations SET mode = 'bot', focus_case_id = NULL WHERE mode = 'with_case'")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("focus_at")
        batch.alter_column("focus_case_id", new_column_name="handoff_case_id", existing_type=sa.Integer())
    with op.batch_alter_table("warning_alerts") as batch:
        batch.drop_constraint("fk_warning_alerts_case_id", type_="foreignkey")
        batch.drop_index("ix_warning_alerts_case_id")
        batch.drop_column("case_id")
    with op.batch_alter_table("case_events") as batch:
        batch.drop_index("ix_case_events_update_id")
        batch.drop_column("update_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("uq_messages_source_key", type_="unique")
        batch.drop_column("source_key")
        batch.drop_constraint("fk_messages_case_id", type_="foreignkey")
        batch.drop_index("ix_messages_case_id")
        batch.drop_column("case_id")
