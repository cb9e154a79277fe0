"""reliability and privacy: pending-update index, pseudonymised cases, erase requests

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_inbound_updates_status", "inbound_updates", ["status"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("pseudonymised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("reporters") as batch:
        batch.add_column(sa.Column("erase_requested_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reporters") as batch:
        batch.drop_column("erase_requested_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("pseudonymised_at")
    op.drop_index("ix_inbound_updates_status", table_name="inbound_updates")
