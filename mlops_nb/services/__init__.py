"""Services: one module per domain. They take the caller's session, check permissions and raise
domain errors; they never import IPython, ipywidgets or Streamlit."""
