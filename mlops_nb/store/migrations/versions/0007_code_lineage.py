"""code lineage: where a run's code file stands in git

Revision ID: 0007
Revises: 0002
Create Date: 2026-11-29

`run.code_status` says whether the file a run's code came from (the notebook, or outside a notebook
the script that started the run) is `committed` (tracked and unchanged at the recorded commit),
`modified`, `untracked` (not in that commit: new, ignored or only staged), `no_git`, or `unknown`
(no file known). NULL for runs recorded before this revision. The notebook's cells themselves go in
the existing `cell_source` / `cell_hashes` / `code_hash` columns.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: on SQLite a plain ALTER TABLE ADD COLUMN (no table copy), rows already there keep NULL
    with op.batch_alter_table('run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code_status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    # not batch mode: a batch drop would copy and DROP the run table, which the rows of metric, param,
    # ... refer to (foreign keys on); SQLite has had ALTER TABLE DROP COLUMN since 3.35
    op.drop_column('run', 'code_status')
