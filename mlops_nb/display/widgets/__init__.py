"""ipywidgets panels for the notebook, one module per panel (ipywidgets and plotly load on first use)."""
from __future__ import annotations

from mlops_nb.display.widgets.registry import registry_panel
from mlops_nb.display.widgets.run import run_panel

__all__ = ["registry_panel", "run_panel"]
