"""conversations: a random Rasa sender id, unique for all time, instead of `conv-<row id>`

Rasa's tracker store outlives our database; a row id comes back after a restore or a new database and
would hand one driver's tracker (their half-filled complaint) to another. Existing conversations keep
their old name `conv-<id>` so a form in progress carries on; every new conversation gets `d-<uuid>`, a
name no row id can ever produce again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.add_column(sa.Column("rasa_sender", sa.String(40), nullable=True))
    op.execute("UPDATE conversations SET rasa_sender = 'conv-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("conversations") as batch:
        batch.alter_column("rasa_sender", existing_type=sa.String(40), nullable=False)
        batch.create_unique_constraint("uq_conversations_rasa_sender", ["rasa_sender"])


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch:
        batch.drop_constraint("uq_conversations_rasa_sender", type_="unique")
        batch.drop_column("rasa_sender")
