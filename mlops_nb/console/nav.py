"""Which pages each role sees, in the order SPEC §4 names them, and the sidebar every page shares.

Hiding a page is a convenience; the services refuse what a role may not do (SPEC §2). Scorecards is
the manager's page, and every role sees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from mlops_nb.services.identity import Identity
from mlops_nb.store.models.identity import ROLES

VIEWS = Path(__file__).with_name("views")


@dataclass(frozen=True)
class PageSpec:
    """One page of the console: its title, module file under views/, icon and the roles that see it."""

    title: str
    file: str
    icon: str
    roles: tuple[str, ...]


EVERYONE = ROLES
PAGES: tuple[PageSpec, ...] = (
    PageSpec("Overview", "overview.py", ":material/dashboard:", EVERYONE),
    PageSpec("Experiments", "experiments.py", ":material/science:", EVERYONE),
    PageSpec("Registry", "registry.py", ":material/inventory_2:", EVERYONE),
    PageSpec("Data", "data.py", ":material/dataset:", EVERYONE),
    PageSpec("Approvals", "approvals.py", ":material/fact_check:", EVERYONE),
    PageSpec("Monitoring", "monitoring.py", ":material/monitor_heart:", EVERYONE),
    PageSpec("Scorecards", "scorecards.py", ":material/verified:", EVERYONE),
    PageSpec("Audit", "audit.py", ":material/receipt_long:", EVERYONE),
    PageSpec("Admin", "admin.py", ":material/admin_panel_settings:", ("admin", "ml_engineer")),
)


def visible(role: str | None) -> list[PageSpec]:
    """The pages a role sees, in navigation order (none for a missing role)."""
    return [spec for spec in PAGES if role is not None and role in spec.roles]


def pages_for(identity: Identity | None) -> list[st.Page]:
    """The login page alone when nobody is logged in, else the role's pages (the first is the default)."""
    if identity is None:
        return [st.Page(str(VIEWS / "login.py"), title="Log in", icon=":material/login:", default=True)]
    specs = visible(identity.role)
    return [st.Page(str(VIEWS / spec.file), title=spec.title, icon=spec.icon, default=(i == 0))
            for i, spec in enumerate(specs)]


def sidebar(identity: Identity) -> None:
    """Who is logged in, the project the pages show, and `Log out`."""
    from mlops_nb.console import auth, data, links, ui

    with st.sidebar:
        st.caption(f"Logged in as **{auth.plain(identity.name)}** ({identity.role})")
        projects = data.projects()
        if projects:
            names = [p["name"] for p in projects]
            links.preselect_project(names)  # a link to a record of another project opens that project
            ui.keep_choice(names, "project")
            st.selectbox("Project", names, key="project")
        if st.button("Log out", key="logout"):
            auth.logout()
            st.rerun()
