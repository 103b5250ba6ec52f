"""blocking keys and name tokens stored in citizen order: primary key (citizen_id, value), looked
up by value through a second index; on SQLite the tables are their primary key's B-tree
(WITHOUT ROWID). A bulk load then appends to them instead of sorting them twice, and one index
fewer is kept (crm.models.KEYED_BY_CITIZEN)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 18:30:00
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Shape(NamedTuple):
    primary_key: tuple[str, str]
    index: str
    index_columns: tuple[str, ...]
    without_rowid: bool


class Table(NamedTuple):
    name: str
    value: str  # the looked-up column
    length: int
    before: Shape
    after: Shape


TABLES = (
    Table("identity_key", "key", 96,
          Shape(("key", "citizen_id"), "ix_identity_key_citizen_id", ("citizen_id",), False),
          Shape(("citizen_id", "key"), "ix_identity_key_key_citizen_id", ("key", "citizen_id"), True)),
    Table("citizen_name_token", "token", 64,
          Shape(("token", "citizen_id"), "ix_citizen_name_token_citizen_id_token", ("citizen_id", "token"), False),
          Shape(("citizen_id", "token"), "ix_citizen_name_token_token_citizen_id", ("token", "citizen_id"), True)),
)


def _reshape(table: Table, old: Shape, new: Shape) -> None:
    bind = op.get_bind()
    op.drop_index(old.index, table_name=table.name)
    if bind.dialect.name == "postgresql":
        op.drop_constraint(f"pk_{table.name}", table.name, type_="primary")
        op.create_primary_key(f"pk_{table.name}", table.name, list(new.primary_key))
    else:
        # SQLite cannot change a primary key nor a table's rowid: the table is made again.
        columns = {"citizen_id": sa.Column("citizen_id", sa.Integer(), nullable=False),
                   table.value: sa.Column(table.value, sa.String(length=table.length), nullable=False)}
        staging = f"_new_{table.name}"
        op.create_table(
            staging, *(columns[name] for name in new.primary_key),
            sa.ForeignKeyConstraint(["citizen_id"], ["citizen.id"], name=f"fk_{table.name}_citizen_id_citizen"),
            sa.PrimaryKeyConstraint(*new.primary_key, name=f"pk_{table.name}"),
            sqlite_with_rowid=not new.without_rowid)
        names = ", ".join(f'"{name}"' for name in new.primary_key)
        op.execute(f"INSERT INTO {staging} ({names}) SELECT {names} FROM {table.name}")
        op.drop_table(table.name)
        op.rename_table(staging, table.name)
    op.create_index(new.index, table.name, list(new.index_columns), unique=False)


def upgrade() -> None:
    for table in TABLES:
        _reshape(table, table.before, table.after)


def downgrade() -> None:
    for table in TABLES:
        _reshape(table, table.after, table.before)
