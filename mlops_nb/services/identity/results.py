"""What the identity services return: users and their API tokens, as plain records.

Plain data: `mlops_nb.display` renders these for the notebook and the CLI. Times are epoch seconds;
no record carries a password or a token hash.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

USER_COLUMNS = ["name", "role", "active", "password", "tokens", "created_at"]
TOKEN_COLUMNS = ["user", "prefix", "status", "created_at", "expires_at"]


@dataclass
class UserPublic:
    """A user: name, role, whether they may act (`active`), whether a password is set, how many of
    their tokens are usable now (neither revoked nor expired), when they were added, and until when
    their login is locked (None: not locked)."""

    name: str
    role: str
    active: bool
    password: bool
    tokens: int
    created_at: float
    locked_until: float | None = None  # epoch seconds while too many wrong passwords lock them out


@dataclass
class UserTable:
    """Users as rows, by name."""

    users: list[UserPublic] = field(default_factory=list)
    title: str = "Users"

    def __len__(self) -> int:
        return len(self.users)

    def __iter__(self) -> Iterator[UserPublic]:
        return iter(self.users)

    def __getitem__(self, index: int) -> UserPublic:
        return self.users[index]


@dataclass
class TokenPublic:
    """An API token as an operator sees it: its owner, public prefix ("mlops_<prefix>_..."), when it
    was issued and expires (None: issued before tokens expired), and its status: active, expired
    or revoked."""

    user: str
    prefix: str
    status: str
    created_at: float
    expires_at: float | None


@dataclass
class TokenTable:
    """A user's API tokens as rows, newest first."""

    tokens: list[TokenPublic] = field(default_factory=list)
    title: str = "API tokens"

    def __len__(self) -> int:
        return len(self.tokens)

    def __iter__(self) -> Iterator[TokenPublic]:
        return iter(self.tokens)

    def __getitem__(self, index: int) -> TokenPublic:
        return self.tokens[index]
