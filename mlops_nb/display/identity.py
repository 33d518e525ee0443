"""Users and API tokens as a notebook and the CLI show them."""
from __future__ import annotations

from typing import Any

from mlops_nb.display.base import Displayable, DisplayTable, displays
from mlops_nb.display.format import format_time
from mlops_nb.services.identity.results import (
    TOKEN_COLUMNS,
    USER_COLUMNS,
    TokenPublic,
    TokenTable,
    UserPublic,
    UserTable,
)


def _frame(rows: list[list[Any]], columns: list[str], times: tuple[str, ...]) -> Any:
    """A DataFrame of `rows`, the `times` columns as UTC timestamps."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    for name in times:
        frame[name] = pd.to_datetime(frame[name], unit="s", utc=True)
    return frame


@displays(UserPublic)
class UserView(Displayable, UserPublic):
    """One user: role, whether active, whether a password is set, usable tokens, when added."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"User {self.name} · {self.role}" + ("" if self.active else " · deactivated")

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("role", self.role), ("active", self.active), ("password", "set" if self.password else "none"),
                ("usable tokens", self.tokens), ("added", format_time(self.created_at))]


@displays(UserTable)
class UserTableView(DisplayTable, UserTable):
    """Users as rows (USER_COLUMNS); `.to_frame()` a DataFrame with `created_at` as UTC timestamps."""

    def _rows(self) -> list[list[Any]]:
        return [[u.name, u.role, u.active, u.password, u.tokens, u.created_at] for u in self.users]

    def to_frame(self) -> Any:
        """A pandas DataFrame with USER_COLUMNS, one row per user."""
        return _frame(self._rows(), USER_COLUMNS, ("created_at",))

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [row[:-1] + [format_time(row[-1])] for row in self._rows()[:limit]]
        return USER_COLUMNS, rows, f"{self.title} ({len(self.users)})"


@displays(TokenPublic)
class TokenView(Displayable, TokenPublic):
    """One API token: owner, prefix, status, issued, expires (never the token itself)."""

    @property
    def _title(self) -> str:  # type: ignore[override]
        return f"API token mlops_{self.prefix}_… · {self.status}"

    def _pairs(self) -> list[tuple[str, Any]]:
        return [("user", self.user), ("status", self.status), ("issued", format_time(self.created_at)),
                ("expires", format_time(self.expires_at) if self.expires_at is not None else "never")]


@displays(TokenTable)
class TokenTableView(DisplayTable, TokenTable):
    """API tokens as rows (TOKEN_COLUMNS), newest first; `.to_frame()` a DataFrame."""

    def _rows(self) -> list[list[Any]]:
        return [[t.user, t.prefix, t.status, t.created_at, t.expires_at] for t in self.tokens]

    def to_frame(self) -> Any:
        """A pandas DataFrame with TOKEN_COLUMNS; `expires_at` NaT for a token without expiry."""
        return _frame(self._rows(), TOKEN_COLUMNS, ("created_at", "expires_at"))

    def _display(self, limit: int = 50) -> tuple[list[str], list[list[Any]], str]:
        rows = [[t.user, t.prefix, t.status, format_time(t.created_at),
                 format_time(t.expires_at) if t.expires_at is not None else "never"] for t in self.tokens[:limit]]
        return TOKEN_COLUMNS, rows, f"{self.title} ({len(self.tokens)})"


__all__ = ["TokenTableView", "TokenView", "UserTableView", "UserView"]
