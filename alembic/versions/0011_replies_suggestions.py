"""replies: a knowledge base of ready answers, and what agents chose for each reply (suggestions)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-04 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0011'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('knowledge_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('examples', sa.JSON(), nullable=False),
    sa.Column('body', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_knowledge_answer_category_id_category')),
    sa.ForeignKeyConstraint(['created_by'], ['agent.id'], name=op.f('fk_knowledge_answer_created_by_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_answer'))
    )
    with op.batch_alter_table('knowledge_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_answer_language'), ['language'], unique=False)
    op.create_table('reply_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('choice', sa.String(length=160), nullable=False),
    sa.Column('inbound_text', sa.String(length=1000), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_reply_choice_agent_id_agent')),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['message.id'],
                            name=op.f('fk_reply_choice_inbound_message_id_message')),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_reply_choice_message_id_message')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_reply_choice_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_choice')),
    sa.UniqueConstraint('message_id', name=op.f('uq_reply_choice_message_id'))
    )
    with op.batch_alter_table('reply_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_choice_choice'), ['choice'], unique=False)
        batch_op.create_index(batch_op.f('ix_reply_choice_ticket_id'), ['ticket_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reply_choice')
    op.drop_table('knowledge_answer')
