"""templates: HTML body, who saved a version and why, rollback source, the one-active-version
key; deliveries carry a template's HTML body

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _active_keys() -> None:
    """Of each slot's active versions, the newest keeps the key; older ones are retired (before
    this, several could be active and the newest won)."""
    template = sa.table('template', sa.column('id', sa.Integer), sa.column('step', sa.String),
                        sa.column('category_id', sa.Integer), sa.column('language', sa.String),
                        sa.column('channel', sa.String), sa.column('version', sa.Integer),
                        sa.column('active', sa.Boolean), sa.column('active_key', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(template.c.id, template.c.step, template.c.category_id, template.c.language,
                                  template.c.channel).where(template.c.active)
                        .order_by(template.c.version.desc(), template.c.id.desc())).all()
    seen = set()
    for row in rows:
        key = f"{row.step}|{row.category_id or '*'}|{row.language}|{row.channel}"
        values = {"active_key": key} if key not in seen else {"active": False}
        seen.add(key)
        bind.execute(sa.update(template).where(template.c.id == row.id).values(**values))


def upgrade() -> None:
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.String(), nullable=True))
        batch_op.add_column(sa.Column('active_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('created_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('change_note', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('copied_from_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_template_active_key'), ['active_key'])
        batch_op.create_foreign_key(batch_op.f('fk_template_created_by_agent'), 'agent', ['created_by'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_template_copied_from_id_template'), 'template',
                                    ['copied_from_id'], ['id'])
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.alter_column('change_note', existing_type=sa.String(length=500), server_default=None)
    _active_keys()
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.add_column(sa.Column('html', sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_column('html')
    with op.batch_alter_table('template', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_template_copied_from_id_template'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_template_created_by_agent'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_template_active_key'), type_='unique')
        batch_op.drop_column('copied_from_id')
        batch_op.drop_column('change_note')
        batch_op.drop_column('created_by')
        batch_op.drop_column('active_key')
        batch_op.drop_column('html')
