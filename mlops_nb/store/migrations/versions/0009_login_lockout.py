"""login lockout: consecutive failed password logins and the lock they set

`user_account.failed_logins` counts wrong passwords in a row (a success resets it) and
`user_account.locked_until` (epoch seconds, NULL = not locked) is when a lock set after
MLOPS_LOGIN_MAX_FAILURES of them ends (services.identity.login). Users already in the store start
with no failures and no lock.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
