"""The Streamlit console (interface layer): reviewers, risk officers, managers and admins.

`app.py` is the entry point (`mlops console` runs it with `streamlit run`); it builds the navigation
for the logged-in role and nothing else. `views/` holds one module per page, `data.py` is the one
module that reads and writes the store (through the services, cached reads), `auth.py` keeps the
login in the Streamlit session, `nav.py` says which role sees which page, and `ui.py` holds the
small display helpers every page shares (times with their zone, text that is never markup, error
boxes). Pages never run SQL and never decide permissions: every action goes through a service,
which is the guard (SPEC §2).
"""
