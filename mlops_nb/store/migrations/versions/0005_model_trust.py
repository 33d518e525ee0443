"""model trust: the types a proven ml_engineer or admin trusted for a model's files

Revision ID: 0005
Revises: 0002
Create Date: 2026-11-29

A new table only: versions registered before it keep `env["trusted_types"]`, which is no longer an
authority, so nothing is copied; an ml_engineer trusts an old model's types with `mlops.trust_types`.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trusted_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('type_name', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('trusted_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('trusted_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('model_id', 'type_name', name='uq_trusted_type_model_type')
    )
    with op.batch_alter_table('trusted_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trusted_type_model_id'), ['model_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('trusted_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trusted_type_model_id'))

    op.drop_table('trusted_type')
