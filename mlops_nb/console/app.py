"""The console's entry point: `streamlit run mlops_nb/console/app.py` (what `mlops console` starts).

The store is the one `MLOPS_DB_URL` names (else the default store), as for every front end.
"""
from __future__ import annotations

import streamlit as st

from mlops_nb.console import auth, links, nav

st.set_page_config(page_title="mlops console", page_icon=":material/verified:", layout="wide")
identity = auth.current_identity()  # None: logged out, or idle past the session's limit
page = st.navigation(nav.pages_for(identity))
if identity is not None:
    links.arrive()  # what a link between pages brought (console/links.py), before the sidebar's project
    nav.sidebar(identity)
page.run()
