"""delivery: SMS segments and encoding, the provider's status and error code, deliveries
without a ticket (the SMS HELP answer)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 05:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_status', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('encoding', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('segments', sa.Integer(), nullable=True))
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(batch_op.f('ix_delivery_provider_id'), ['provider_id'], unique=False)


def downgrade() -> None:
    # Ticketless deliveries (HELP answers) cannot exist in the old schema.
    op.execute("DELETE FROM delivery WHERE ticket_id IS NULL OR message_id IS NULL")
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_provider_id'))
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('message_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('segments')
        batch_op.drop_column('encoding')
        batch_op.drop_column('error_code')
        batch_op.drop_column('provider_status')
