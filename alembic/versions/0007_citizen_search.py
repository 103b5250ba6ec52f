"""citizen_name_token: the folded words of citizens' names, for search-as-you-type and name
blocking (prefix by B-tree range, typos by exact lookup of the typed word's one-edit variants)

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 06:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op
from crm.search import name_token_rows

revision: str = '0007'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    table = op.create_table('citizen_name_token',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('citizen_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['citizen_id'], ['citizen.id'], name=op.f('fk_citizen_name_token_citizen_id_citizen')),
    sa.PrimaryKeyConstraint('token', 'citizen_id', name=op.f('pk_citizen_name_token'))
    )
    op.create_index('ix_citizen_name_token_citizen_id_token', 'citizen_name_token', ['citizen_id', 'token'],
                    unique=False)
    # Citizens already there get their words (the folding rules of this release).
    connection = op.get_bind()
    rows: list[dict] = []
    for citizen_id, full_name in connection.execute(sa.text("SELECT id, full_name FROM citizen ORDER BY id")):
        rows.extend(name_token_rows(citizen_id, full_name))
        if len(rows) >= BATCH:
            op.bulk_insert(table, rows)
            rows = []
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index('ix_citizen_name_token_citizen_id_token', table_name='citizen_name_token')
    op.drop_table('citizen_name_token')
