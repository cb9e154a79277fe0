"""attachments: longer MIME types and file ids, 64-bit sizes and durations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("file_id", type_=sa.Text(), existing_type=sa.String(256))
        batch.alter_column("mime_type", type_=sa.String(255), existing_type=sa.String(64))
        batch.alter_column("file_size", type_=sa.BigInteger(), existing_type=sa.Integer())
        batch.alter_column("duration", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.alter_column("duration", type_=sa.Integer(), existing_type=sa.BigInteger())
        batch.alter_column("file_size", type_=sa.Integer(), existing_type=sa.BigInteger())
        batch.alter_column("mime_type", type_=sa.String(64), existing_type=sa.String(255))
        batch.alter_column("file_id", type_=sa.String(256), existing_type=sa.Text())
