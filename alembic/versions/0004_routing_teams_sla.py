"""routing: teams, languages, SLA, notifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 05:40:00

Existing agents and categories get empty lists (server defaults), so the
migration runs on a populated database.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('opening_hours', sa.JSON(), nullable=True),
    sa.Column('holiday_country', sa.String(length=8), nullable=True),
    sa.Column('extra_holidays', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team')),
    sa.UniqueConstraint('slug', name=op.f('uq_team_slug'))
    )
    op.create_table('agent_team',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_agent_team_agent_id_agent')),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_agent_team_team_id_team')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_team')),
    sa.UniqueConstraint('agent_id', 'team_id', name=op.f('uq_agent_team_agent_id_team_id'))
    )
    with op.batch_alter_table('agent_team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_team_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_team_team_id'), ['team_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('text', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['agent.id'], name=op.f('fk_notification_agent_id_agent')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_notification_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_agent_id'), ['agent_id'], unique=False)

    op.create_table('ticket_routing',
    sa.Column('ticket_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sla_state', sa.String(length=10), nullable=False),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_ticket_routing_team_id_team')),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], name=op.f('fk_ticket_routing_ticket_id_ticket')),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_ticket_routing'))
    )
    with op.batch_alter_table('ticket_routing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_routing_first_response_due_at'), ['first_response_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_routing_sla_state'), ['sla_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_routing_team_id'), ['team_id'], unique=False)

    open_only = sa.text("status IN ('new', 'open', 'pending')")
    op.create_index('ix_ticket_open_assignee', 'ticket', ['assignee_id', 'origin_channel'], unique=False,
                    postgresql_where=open_only, sqlite_where=open_only)

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel_capacity', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('working_hours', sa.JSON(), nullable=True))

    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_first_response_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sla_resolution_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalation', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_foreign_key(batch_op.f('fk_category_team_id_team'), 'team', ['team_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('category', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_category_team_id_team'), type_='foreignkey')
        batch_op.drop_column('escalation')
        batch_op.drop_column('sla_resolution_minutes')
        batch_op.drop_column('sla_first_response_minutes')
        batch_op.drop_column('team_id')

    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('working_hours')
        batch_op.drop_column('languages')
        batch_op.drop_column('channel_capacity')

    with op.batch_alter_table('ticket_routing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_routing_team_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_routing_sla_state'))
        batch_op.drop_index(batch_op.f('ix_ticket_routing_first_response_due_at'))

    op.drop_table('ticket_routing')
    op.drop_index('ix_ticket_open_assignee', table_name='ticket')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_agent_id'))

    op.drop_table('notification')
    with op.batch_alter_table('agent_team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_team_team_id'))
        batch_op.drop_index(batch_op.f('ix_agent_team_agent_id'))

    op.drop_table('agent_team')
    op.drop_table('team')
