"""consistency: feature definitions, validation reports, scoring batches and outcomes

`feature_definition` holds each version of a named feature transformation (source and its sha256;
an edited function is a new version), `run_feature` the versions a run applied. `validation_report`
records a frame validated against a dataset version's schema, with its findings. `scoring_batch` is
one predict/predict_proba call of a loaded model version (rows, latency, findings, profiles, a
bounded sample by artifact); `outcome` the true outcomes and business metrics logged for it later.
New tables only: stores already in use keep every row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('feature_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('function', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name', 'source_hash', name='uq_feature_name_source'),
    sa.UniqueConstraint('project_id', 'name', 'version', name='uq_feature_name_version')
    )
    op.create_index(op.f('ix_feature_definition_project_id'), 'feature_definition', ['project_id'], unique=False)
    op.create_table('run_feature',
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('feature_definition_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['feature_definition_id'], ['feature_definition.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ),
    sa.PrimaryKeyConstraint('run_id', 'feature_definition_id')
    )
    op.create_table('scoring_batch',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('stage', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('latency_ms', sa.Float(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('input_profile', sa.JSON(), nullable=False),
    sa.Column('prediction_profile', sa.JSON(), nullable=False),
    sa.Column('sample_artifact_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['sample_artifact_id'], ['artifact.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_scoring_batch_version_time', 'scoring_batch', ['model_version_id', 'created_at'], unique=False)
    op.create_table('validation_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('dataset_version_id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('subject_dataset_version_id', sa.Integer(), nullable=True),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_version.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['subject_dataset_version_id'], ['dataset_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_validation_report_contract', 'validation_report', ['dataset_version_id', 'created_at'], unique=False)
    op.create_index('ix_validation_report_subject', 'validation_report', ['subject_dataset_version_id'], unique=False)
    op.create_table('outcome',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('scoring_batch_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('business', sa.JSON(), nullable=False),
    sa.Column('outcomes_artifact_id', sa.Integer(), nullable=True),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['outcomes_artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['scoring_batch_id'], ['scoring_batch.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_outcome_scoring_batch_id'), 'outcome', ['scoring_batch_id'], unique=False)
    op.create_index('ix_outcome_version_time', 'outcome', ['model_version_id', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outcome_version_time', table_name='outcome')
    op.drop_index(op.f('ix_outcome_scoring_batch_id'), table_name='outcome')
    op.drop_table('outcome')
    op.drop_index('ix_validation_report_subject', table_name='validation_report')
    op.drop_index('ix_validation_report_contract', table_name='validation_report')
    op.drop_table('validation_report')
    op.drop_index('ix_scoring_batch_version_time', table_name='scoring_batch')
    op.drop_table('scoring_batch')
    op.drop_table('run_feature')
    op.drop_index(op.f('ix_feature_definition_project_id'), table_name='feature_definition')
    op.drop_table('feature_definition')
