"""Users, roles and API tokens. Passwords and tokens are stored only as argon2 hashes."""
from __future__ import annotations

from sqlmodel import Field, SQLModel

ROLES = ("data_scientist", "ml_engineer", "platform_engineer", "reviewer", "manager", "admin")


class User(SQLModel, table=True):
    """A person who may act: a unique name, one role, an optional argon2 password hash.

    `name` is kept as given (in Unicode NFKC form); `name_key` is the name case-folded, what a typed
    name is matched by, unique so "Rita" and "rita" cannot be two users (services.values.user_key).
    """

    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=250, unique=True, index=True)
    name_key: str = Field(max_length=250, unique=True, index=True)
    role: str = Field(max_length=32)
    password_hash: str | None = Field(default=None, max_length=255)
    active: bool = True
    created_at: float
    # password logins (services.identity.login): wrong passwords in a row, and when the lock they set
    # ends (epoch seconds; None: not locked)
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: float | None = None


class ApiToken(SQLModel, table=True):
    """An API token of a user: its public prefix and the argon2 hash of the whole token."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    prefix: str = Field(max_length=16, index=True)  # the public part, to find the hash to check
    token_hash: str = Field(max_length=255)
    created_at: float
    expires_at: float | None = None  # epoch seconds; None: issued before tokens expired (valid until revoked)
    revoked: bool = False
