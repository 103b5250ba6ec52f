"""contact points: look them up through (value, kind) instead of (kind, value). Every lookup
gives both (equal, or the kind equal and a range of values): either order serves it. But the
kind has three values in a default-collation column: sorting by it first, an index build
compares nearly every pair through the locale's collation (and no abbreviated key can tell
them apart), where the value first (byte order, nearly unique) is settled by abbreviated keys.
The build after a bulk load of 2,100,000 contact points: 3.3 s -> 1.3 s on PostgreSQL

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 19:10:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contact_point_value_kind", "contact_point", ["value", "kind"], unique=False)
    op.drop_index("ix_contact_point_kind_value", table_name="contact_point")


def downgrade() -> None:
    op.create_index("ix_contact_point_kind_value", "contact_point", ["kind", "value"], unique=False)
    op.drop_index("ix_contact_point_value_kind", table_name="contact_point")
