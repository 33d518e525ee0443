"""run lifecycle: why a run ended, so a run a reader marked killed can come back

`run.end_reason` is 'stale' when a reader marked the run killed because its heartbeat was older
than MLOPS_RUN_STALE_S (the owner may only have been paused, and revives it when its heartbeat
returns), and NULL for a run that is running or was ended explicitly (end_run: never revived).
Runs already in the store keep NULL: an existing killed run is never revived.

Revision ID: 0008
Revises: 0002
Create Date: 2026-11-29
"""
import sqlite3

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite' and sqlite3.sqlite_version_info >= (3, 35):
        # in place: batch mode would copy the table, and dropping the old one breaks the foreign keys
        # of the tags, params and metrics that refer to its runs
        op.execute('ALTER TABLE run DROP COLUMN end_reason')
        return
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.drop_column('end_reason')
