"""the keyed audit chain: the head row names the key, where the keyed chain begins, and its MAC

Creates the store's audit key outside the database (store.audit_key.key_path) when absent, and marks
the next event as the first one keyed with it: events already stored keep their sha256 hashes and
`verify` checks them as such, with a warning. Downgrading drops the three columns; the key file is
left where it is (delete it by hand), and events written with the key no longer verify on 0002 code.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    from mlops_nb.store.audit_key import begin_keyed_chain

    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('keyed_from', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mac', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    begin_keyed_chain(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('mac')
        batch_op.drop_column('keyed_from')
        batch_op.drop_column('key_id')
