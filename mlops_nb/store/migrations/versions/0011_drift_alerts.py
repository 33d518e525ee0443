"""drift and alerts: drift references and reports, alert rules and alerts, retraining

`drift_reference` holds what a drift test needs of a dataset version (sorted values, category
counts; by artifact), computed once when it is logged. `drift_report` is one report (share,
dataset drift, findings, evidently's HTML by artifact) and `drift_column` its per-column verdicts.
`alert_rule`, `alert` (unique fingerprint: the same evidence fires once) and `alert_action` (each
delivery) are the alerting; `retraining_config` a model's training notebook, `retraining_run` each
headless run; `monitor_cursor` and `monitor_lock` keep `mlops monitor run` incremental and single.
New tables only: stores already in use keep every row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_lock',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('acquired_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('alert_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('actions', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'name', name='uq_alert_rule_name')
    )
    op.create_table('retraining_config',
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('notebook_artifact_id', sa.Integer(), nullable=False),
    sa.Column('notebook_path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('set_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.ForeignKeyConstraint(['notebook_artifact_id'], ['artifact.id'], ),
    sa.PrimaryKeyConstraint('model_id')
    )
    op.create_table('drift_reference',
    sa.Column('dataset_version_id', sa.Integer(), nullable=False),
    sa.Column('artifact_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['dataset_version_id'], ['dataset_version.id'], ),
    sa.PrimaryKeyConstraint('dataset_version_id')
    )
    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('column', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('acknowledged_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True),
    sa.Column('acknowledged_at', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', 'fingerprint', name='uq_alert_fingerprint')
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index('ix_alert_project_time', ['project_id', 'created_at'], unique=False)
        batch_op.create_index('ix_alert_version_time', ['model_version_id', 'created_at'], unique=False)

    op.create_table('drift_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('model_version_id', sa.Integer(), nullable=True),
    sa.Column('reference_dataset_version_id', sa.Integer(), nullable=True),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('current', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('window_start', sa.Float(), nullable=True),
    sa.Column('window_end', sa.Float(), nullable=True),
    sa.Column('batches', sa.Integer(), nullable=False),
    sa.Column('reference_rows', sa.Integer(), nullable=False),
    sa.Column('current_rows', sa.Integer(), nullable=False),
    sa.Column('tested', sa.Integer(), nullable=False),
    sa.Column('drifted', sa.Integer(), nullable=False),
    sa.Column('share', sa.Float(), nullable=False),
    sa.Column('drift_share', sa.Float(), nullable=False),
    sa.Column('dataset_drift', sa.Boolean(), nullable=False),
    sa.Column('prediction_drift', sa.Boolean(), nullable=True),
    sa.Column('findings', sa.JSON(), nullable=False),
    sa.Column('html_artifact_id', sa.Integer(), nullable=True),
    sa.Column('current_sample_artifact_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['current_sample_artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['html_artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], ),
    sa.ForeignKeyConstraint(['reference_dataset_version_id'], ['dataset_version.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('drift_report', schema=None) as batch_op:
        batch_op.create_index('ix_drift_report_project_time', ['project_id', 'created_at'], unique=False)
        batch_op.create_index('ix_drift_report_version_time', ['model_version_id', 'created_at'], unique=False)

    op.create_table('monitor_cursor',
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('last_batch_at', sa.Float(), nullable=False),
    sa.Column('last_run_at', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], ),
    sa.PrimaryKeyConstraint('model_version_id')
    )
    op.create_table('alert_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('retraining_run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_action_alert_id'), ['alert_id'], unique=False)

    op.create_table('drift_column',
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('column', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('test', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('statistic', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('drift', sa.Boolean(), nullable=False),
    sa.Column('reference_rows', sa.Integer(), nullable=False),
    sa.Column('current_rows', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('distribution', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['drift_report.id'], ),
    sa.PrimaryKeyConstraint('report_id', 'column')
    )
    op.create_table('retraining_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('trigger', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('notebook_artifact_id', sa.Integer(), nullable=True),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('model_version', sa.Integer(), nullable=True),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False),
    sa.Column('started_at', sa.Float(), nullable=False),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.ForeignKeyConstraint(['model_id'], ['registered_model.id'], ),
    sa.ForeignKeyConstraint(['notebook_artifact_id'], ['artifact.id'], ),
    sa.ForeignKeyConstraint(['request_id'], ['promotion_request.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('retraining_run', schema=None) as batch_op:
        batch_op.create_index('ix_retraining_run_model_time', ['model_id', 'started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('retraining_run', schema=None) as batch_op:
        batch_op.drop_index('ix_retraining_run_model_time')

    op.drop_table('retraining_run')
    op.drop_table('drift_column')
    with op.batch_alter_table('alert_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_action_alert_id'))

    op.drop_table('alert_action')
    op.drop_table('monitor_cursor')
    with op.batch_alter_table('drift_report', schema=None) as batch_op:
        batch_op.drop_index('ix_drift_report_version_time')
        batch_op.drop_index('ix_drift_report_project_time')

    op.drop_table('drift_report')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_version_time')
        batch_op.drop_index('ix_alert_project_time')

    op.drop_table('alert')
    op.drop_table('drift_reference')
    op.drop_table('retraining_config')
    op.drop_table('alert_rule')
    op.drop_table('monitor_lock')
