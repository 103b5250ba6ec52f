"""Identity: citizens' fields for matching (names, birth date, address, external id), blocking
keys, tombstones of merged citizens, the duplicates review queue, merges kept for undoing,
citizen events

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:56:01.291795
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('citizen_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('actor_type', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_event_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_event'))
    )
    with op.batch_alter_table('citizen_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_event_citizen_id'), ['citizen_id'], unique=False)

    op.create_table('citizen_merge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undone_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['agent.id'], name=op.f('fk_citizen_merge_actor_id_agent')),
    sa.ForeignKeyConstraint(['merged_id'], ['citizen.id'], name=op.f('fk_citizen_merge_merged_id_citizen')),
    sa.ForeignKeyConstraint(['survivor_id'], ['citizen.id'], name=op.f('fk_citizen_merge_survivor_id_citizen')),
    sa.ForeignKeyConstraint(['undone_by'], ['agent.id'], name=op.f('fk_citizen_merge_undone_by_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_citizen_merge'))
    )
    with op.batch_alter_table('citizen_merge', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_citizen_merge_merged_id'), ['merged_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizen_merge_survivor_id'), ['survivor_id'], unique=False)

    op.create_table('duplicate_pair',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('citizen_a_id', sa.Integer(), nullable=False),
    sa.Column('citizen_b_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['citizen_a_id'], ['citizen.id'], name=op.f('fk_duplicate_pair_citizen_a_id_citizen')),
    sa.ForeignKeyConstraint(['citizen_b_id'], ['citizen.id'], name=op.f('fk_duplicate_pair_citizen_b_id_citizen')),
    sa.ForeignKeyConstraint(['decided_by'], ['agent.id'], name=op.f('fk_duplicate_pair_decided_by_agent')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_pair')),
    sa.UniqueConstraint('citizen_a_id', 'citizen_b_id', name=op.f('uq_duplicate_pair_citizen_a_id_citizen_b_id'))
    )
    with op.batch_alter_table('duplicate_pair', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duplicate_pair_citizen_a_id'), ['citizen_a_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_pair_citizen_b_id'), ['citizen_b_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duplicate_pair_status'), ['status'], unique=False)

    op.create_table('identity_key',
    sa.Column('key', sa.String(length=96), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_identity_key_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('key', 'citizen_id', name=op.f('pk_identity_key'))
    )
    with op.batch_alter_table('identity_key', schema=None) as batch_op:
        batch_op.create_index('ix_identity_key_citizen_id', ['citizen_id'], unique=False)

    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('last_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('birth_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('postcode', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('external_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('alternates', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.create_index(batch_op.f('ix_citizen_external_id'), ['external_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_citizen_merged_into_id'), ['merged_into_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_citizen_merged_into_id_citizen'), 'citizen', ['merged_into_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('citizen', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_citizen_merged_into_id_citizen'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_citizen_merged_into_id'))
        batch_op.drop_index(batch_op.f('ix_citizen_external_id'))
        batch_op.drop_column('alternates')
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('external_id')
        batch_op.drop_column('city')
        batch_op.drop_column('postcode')
        batch_op.drop_column('address')
        batch_op.drop_column('birth_date')
        batch_op.drop_column('last_name')
        batch_op.drop_column('first_name')

    with op.batch_alter_table('identity_key', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_key_citizen_id')

    op.drop_table('identity_key')
    with op.batch_alter_table('duplicate_pair', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duplicate_pair_status'))
        batch_op.drop_index(batch_op.f('ix_duplicate_pair_citizen_b_id'))
        batch_op.drop_index(batch_op.f('ix_duplicate_pair_citizen_a_id'))

    op.drop_table('duplicate_pair')
    with op.batch_alter_table('citizen_merge', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_merge_survivor_id'))
        batch_op.drop_index(batch_op.f('ix_citizen_merge_merged_id'))

    op.drop_table('citizen_merge')
    with op.batch_alter_table('citizen_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_citizen_event_citizen_id'))

    op.drop_table('citizen_event')
