"""scorecards: attestations, snapshots and settings of the maturity scorecards

`attestation` records an ML Test Score test done by hand (who, role, when, a note, when it expires,
withdrawn); `scorecard_snapshot` what a project's or model's scorecard said at a time (the trend);
`scorecard_setting` a project's thresholds and windows. New tables only: stores already in use keep
every row, and their first scorecard is computed from the evidence they already hold.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scorecard_setting',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('project_id')
    )
    op.create_table('attestation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('test', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('attested_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('attested_by_id', sa.Integer(), nullable=True),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('attested_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('withdrawn_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True),
    sa.Column('withdrawn_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['attested_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.create_index('ix_attestation_project_test', ['project_id', 'test'], unique=False)

    op.create_table('scorecard_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('taken_at', sa.Float(), nullable=False),
    sa.Column('as_of', sa.Float(), nullable=False),
    sa.Column('phase', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Integer(), nullable=False),
    sa.Column('partial', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('statuses', sa.JSON(), nullable=False),
    sa.Column('test_score', sa.Float(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('taken_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scorecard_snapshot', schema=None) as batch_op:
        batch_op.create_index('ix_scorecard_snapshot_project_taken', ['project_id', 'taken_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('scorecard_snapshot', schema=None) as batch_op:
        batch_op.drop_index('ix_scorecard_snapshot_project_taken')

    op.drop_table('scorecard_snapshot')
    with op.batch_alter_table('attestation', schema=None) as batch_op:
        batch_op.drop_index('ix_attestation_project_test')

    op.drop_table('attestation')
    op.drop_table('scorecard_setting')
