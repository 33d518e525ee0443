"""What an Admin action says, shown once on the rerun that follows it, then gone.

Actions run in widget callbacks (before the page draws), so they leave a note here and the page
shows it where the action was. `take` removes every note from the session at the start of the
page: a new API token, which is one of these notes, is never kept in `st.session_state` after the
rerun that shows it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st

from mlops_nb.console import ui
from mlops_nb.services.errors import MlopsError

T = TypeVar("T")
_KEY = "admin.flash"  # {area: [Note, ...]}, written by callbacks, removed by `take`


@dataclass(frozen=True)
class Note:
    """One message for an area of the page: kind is success, info, error or token (text: the token)."""

    kind: str
    text: str
    about: str = ""  # for a token: the user it belongs to


Notes = dict[str, list[Note]]


def add(area: str, kind: str, text: str, about: str = "") -> None:
    """Leave a note for `area` (e.g. "users.add") for the next rerun."""
    st.session_state.setdefault(_KEY, {}).setdefault(area, []).append(Note(kind, text, about))


def attempt(area: str, action: Callable[[], T], done: str = "") -> T | None:
    """Run `action`; a refusal (MlopsError) becomes an error note for `area` and None, else the
    result, with `done` (markdown, user text already escaped) as a success note when given."""
    try:
        result = action()
    except MlopsError as err:
        add(area, "error", str(err))
        return None
    if done:
        add(area, "success", done)
    return result


def take() -> Notes:
    """Every note left for this rerun, removed from the session."""
    notes: Notes = st.session_state.pop(_KEY, {})
    return notes


def show(notes: Notes, area: str) -> None:
    """The notes for `area`: errors as error boxes (the services' messages shown as typed text),
    successes and infos as boxes, a token once in a code box with the warning that it is not kept."""
    for note in notes.get(area, []):
        if note.kind == "error":
            st.error(ui.plain(note.text), icon=":material/block:")
        elif note.kind == "success":
            st.success(note.text, icon=":material/check_circle:")
        elif note.kind == "token":
            st.success(f"New API token of **{ui.plain(note.about)}**. Copy it now: it will not be shown again "
                       "(only its hash is stored).", icon=":material/key:")
            st.code(note.text, language=None, wrap_lines=True)
        else:
            st.info(note.text)
