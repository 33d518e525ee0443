"""user administration: API tokens expire

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29

`api_token.expires_at` (epoch seconds, NULL = never). Tokens issued before this revision keep
NULL: they were issued without an expiry and stay valid until revoked (`mlops user tokens NAME`
lists them, `mlops user revoke PREFIX` ends one); every token issued from now on has an expiry.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
