"""knowledge answers: when an answer was last edited or retired (the suggestions' index
rebuilds when it moves)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('knowledge_answer') as batch:
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False,
                                   server_default=sa.func.now()))


def downgrade() -> None:
    with op.batch_alter_table('knowledge_answer') as batch:
        batch.drop_column('updated_at')
