"""attachments: the reading of a photographed penalty notice (masked fields, checks, deadlines)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("notice_reading", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("notice_reading")
