"""The Admin page."""
from __future__ import annotations

import streamlit as st


def render() -> None:
    """The page."""
    st.title("Admin")


if __name__ == "__main__":
    render()
