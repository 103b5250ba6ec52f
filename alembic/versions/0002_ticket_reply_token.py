"""ticket reply token (plus-addressed Reply-To)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_token', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_ticket_reply_token'), ['reply_token'])


def downgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ticket_reply_token'), type_='unique')
        batch_op.drop_column('reply_token')
