"""contact points: drop ix_contact_point_citizen_id. The unique key (citizen_id, kind, value)
leads with the citizen id and already serves every lookup of a citizen's contact points (and
the foreign key's checks); the second index only cost its upkeep on every write and a sort of
every contact point after a bulk load

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 16:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_contact_point_citizen_id", table_name="contact_point")


def downgrade() -> None:
    op.create_index("ix_contact_point_citizen_id", "contact_point", ["citizen_id"], unique=False)
