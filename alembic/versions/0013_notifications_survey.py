"""step notifications and the satisfaction survey: which steps a category notifies; the
citizens' satisfaction answers

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_STEPS = '["acknowledgement", "more_information_needed", "resolved", "satisfaction_survey"]'


def upgrade() -> None:
    with op.batch_alter_table('category') as batch:
        batch.add_column(sa.Column('notify_steps', sa.JSON(), nullable=False,
                                   server_default=DEFAULT_STEPS))
    op.create_table(
        'satisfaction_answer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('comment', sa.String(length=2000), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('score BETWEEN 1 AND 5', name='score_range'),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_satisfaction_answer_ticket_id_ticket')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_answer')),
        sa.UniqueConstraint('ticket_id', name=op.f('uq_satisfaction_answer_ticket_id')),
    )
    op.create_index(op.f('ix_satisfaction_answer_answered_at'), 'satisfaction_answer', ['answered_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_satisfaction_answer_answered_at'), table_name='satisfaction_answer')
    op.drop_table('satisfaction_answer')
    with op.batch_alter_table('category') as batch:
        batch.drop_column('notify_steps')
