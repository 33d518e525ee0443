"""identity by id: users' case-folded name key; requester, decider and approver ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

SPEC §4 (Identity): users are compared by id, and a name is matched to a user case-folded after
Unicode NFKC, so "Rita", "rita" and "ＲＩＴＡ" are one user. This adds `user_account.name_key`
(unique) and the user ids of a request's requester and decider and of each approval, and fills
them from the names already stored:

- two existing users whose names share a key (e.g. "Rita" and "rita") stop the upgrade with a
  message naming them: merging people is a decision for the operator (rename one with SQL, then
  run `mlops db upgrade` again), never a migration's guess;
- a requester, decider or approver name that matches no user keeps a NULL id (a declared name from
  before requests needed proof); the names stay as they were;
- if one person approved a request twice under two spellings, the first approval gets the id.

The key rule is written out here, not imported, so this migration means the same thing later.
"""
import unicodedata

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    """NFKC, case-folded, NFKC again (services.values.user_key as of this revision)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def _users_by_key(conn: sa.engine.Connection) -> dict[str, int]:
    """Each existing user's key -> id; refuses (naming them) users whose names share a key."""
    from mlops_nb.store.migrate import SchemaMismatch

    groups: dict[str, list[tuple[int, str]]] = {}
    for user_id, name in conn.execute(sa.text("SELECT id, name FROM user_account ORDER BY id")):
        groups.setdefault(_key(name), []).append((user_id, name))
    clashes = ["; ".join(f"{name!r} (id {user_id})" for user_id, name in group)
               for group in groups.values() if len(group) > 1]
    if clashes:
        raise SchemaMismatch(
            "cannot upgrade the store to revision 0003: these users' names differ only in case or width, "
            "and names now identify one person each: " + " | ".join(clashes) +
            ". Rename or remove all but one of each (e.g. UPDATE user_account SET name = 'rita-2' WHERE id = N), "
            "then run `mlops db upgrade` again; nothing was changed")
    return {key: group[0][0] for key, group in groups.items()}


def upgrade() -> None:
    conn = op.get_bind()
    ids = _users_by_key(conn)  # before any change: a clash leaves the store untouched

    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True))
    for key, user_id in ids.items():
        conn.execute(sa.text("UPDATE user_account SET name_key = :key WHERE id = :id"), {"key": key, "id": user_id})
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sqlmodel.sql.sqltypes.AutoString(length=250), nullable=False)
        batch_op.create_index(batch_op.f('ix_user_account_name_key'), ['name_key'], unique=True)

    with op.batch_alter_table('promotion_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requester_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_promotion_request_requester_id', 'user_account', ['requester_id'], ['id'])
        batch_op.create_foreign_key('fk_promotion_request_decided_by_id', 'user_account', ['decided_by_id'], ['id'])
    rows = conn.execute(sa.text("SELECT id, requester, decided_by FROM promotion_request")).all()
    for request_id, requester, decided_by in rows:
        conn.execute(sa.text("UPDATE promotion_request SET requester_id = :r, decided_by_id = :d WHERE id = :id"),
                     {"r": ids.get(_key(requester)), "d": ids.get(_key(decided_by)) if decided_by else None,
                      "id": request_id})

    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_approval_user_id', 'user_account', ['user_id'], ['id'])
    seen: set[tuple[int, int]] = set()
    for approval_id, request_id, user in conn.execute(
            sa.text('SELECT id, request_id, "user" FROM approval ORDER BY id')).all():
        user_id = ids.get(_key(user))
        if user_id is None or (request_id, user_id) in seen:
            continue
        seen.add((request_id, user_id))
        conn.execute(sa.text("UPDATE approval SET user_id = :u WHERE id = :id"), {"u": user_id, "id": approval_id})
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_approval_request_user_id', ['request_id', 'user_id'])


def downgrade() -> None:
    with op.batch_alter_table('approval', schema=None) as batch_op:
        batch_op.drop_constraint('uq_approval_request_user_id', type_='unique')
        batch_op.drop_constraint('fk_approval_user_id', type_='foreignkey')
        batch_op.drop_column('user_id')
    with op.batch_alter_table('promotion_request', schema=None) as batch_op:
        batch_op.drop_constraint('fk_promotion_request_decided_by_id', type_='foreignkey')
        batch_op.drop_constraint('fk_promotion_request_requester_id', type_='foreignkey')
        batch_op.drop_column('decided_by_id')
        batch_op.drop_column('requester_id')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_name_key'))
        batch_op.drop_column('name_key')
