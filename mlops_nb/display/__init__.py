"""Presentation for the notebook and the command line: text and HTML tables and records, `_repr_*`,
`to_frame`, and the ipywidgets panels (`display.widgets`).

The services return plain records; `present(value)` gives a record its displayable form (a subclass
with the same fields). The console renders the same records with Streamlit instead.
"""
from __future__ import annotations

from mlops_nb.display import (  # noqa: F401  (registers the views)
    alerts,
    attestations,
    data,
    drift,
    features,
    governance,
    identity,
    monitoring,
    registry,
    retraining,
    scorecards,
    tracking,
)
from mlops_nb.display.base import Displayable, DisplayTable, present

__all__ = ["DisplayTable", "Displayable", "present"]
