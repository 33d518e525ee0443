"""The Experiments page: the runs of the project chosen in the sidebar, a page at a time, and a
comparison of the runs selected in the table.

The filter box takes MLflow's search syntax; the quick filters (experiments, status) and the order
are applied by the store with it, and only one page of runs is read (data.run_page), so a project of
10,000 runs opens as fast as one of 50. Selecting rows (st.dataframe row selection) compares those
runs below the table: metric curves, parallel coordinates and the param diff. A new query or page
clears the selection, so a selection never points at rows it was not made on.
"""
from __future__ import annotations

from typing import Any

import streamlit as st

from mlops_nb.console import compare, data, links, ui

PAGE_SIZES = (20, 50, 100)
TABLE_KEY = "experiments.table"
_ORDERS = {"Start time": "start_time", "End time": "end_time", "Name": "name", "Status": "status",
           "User": "user", "Experiment": "experiment"}
_STATUSES = ("running", "finished", "failed", "killed")
_FILTER_HELP = ("MLflow's search syntax: conditions on metrics., params., tags. and attributes (name, "
                "status, user, start_time ...) joined with `and`, e.g. `metrics.auc > 0.8 and "
                "params.model = 'rf'`. Press Enter to apply.")


def empty_state(project: str) -> None:
    """No runs yet: the notebook lines that make one."""
    st.info("No runs in this project yet. Log one from a notebook and it shows here:")
    st.code(f'import mlops_nb as mlops\nmlops.init(project="{project}")\n'
            'with mlops.start_run(experiment="baseline"):\n'
            '    mlops.log_param("C", 1.0)\n    mlops.log_metric("auc", 0.81)', language="python")


def _controls(choices: dict[str, list[str]]) -> dict[str, Any]:
    """The filter box, quick filters, order and page size; the query they make (without the page)."""
    filter_text = st.text_input("Filter", key="experiments.filter", help=_FILTER_HELP,
                                placeholder="metrics.auc > 0.8 and params.model = 'rf'")
    cols = st.columns([3, 2, 2, 1.4, 1])
    experiments = cols[0].multiselect("Experiments", choices["experiments"], key="experiments.experiments",
                                      placeholder="All experiments")
    statuses = cols[1].multiselect("Status", _STATUSES, key="experiments.status", placeholder="Any status")
    orders = {**_ORDERS, **{f"metrics.{k}": f"metrics.{k}" for k in choices["metrics"]},
              **{f"params.{k}": f"params.{k}" for k in choices["params"]}}
    order = cols[2].selectbox("Sort by", list(orders), key="experiments.sort")
    direction = cols[3].selectbox("Order", ("Descending", "Ascending"), key="experiments.direction")
    size = cols[4].selectbox("Rows", PAGE_SIZES, index=1, key="experiments.size")
    return {"filter_text": filter_text.strip(), "experiments": tuple(experiments), "statuses": tuple(statuses),
            "order_by": orders[order or "Start time"], "descending": direction == "Descending",
            "limit": int(size or PAGE_SIZES[1])}


def _step(delta: int) -> None:
    st.session_state["experiments.page"] = int(st.session_state.get("experiments.page", 1)) + delta


def _count(page: Any) -> None:
    """'Page 3 of 101 · 10,042 runs', above the table."""
    runs = "1 run" if page.total == 1 else f"{page.total:,} runs"
    st.markdown(f"**Page {page.page:,} of {page.pages:,}** · {runs}")


def _pager(page: Any) -> None:
    """The controls that move between pages, below the table (the table's toolbar floats above it)."""
    if page.pages <= 1:
        return
    _, prev, number, nxt = st.columns([6, 1, 1, 1], vertical_alignment="center")
    prev.button("Previous", key="experiments.prev", on_click=_step, args=(-1,), disabled=page.page <= 1,
                width="stretch")
    number.number_input("Page", min_value=1, max_value=page.pages, step=1, key="experiments.page",
                        label_visibility="collapsed")
    nxt.button("Next", key="experiments.next", on_click=_step, args=(1,), disabled=page.page >= page.pages,
               width="stretch")


def _table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs table with row selection; the rows selected."""
    frame = compare.runs_frame(rows)
    config: dict[str, Any] = {c: st.column_config.NumberColumn(c, format="%.4f") for c in frame.columns
                              if c.startswith("metrics.")}
    config["Run"] = st.column_config.TextColumn("Run", pinned=True)
    event = st.dataframe(frame, key=TABLE_KEY, on_select="rerun", selection_mode="multi-row", hide_index=True,
                         column_config=config, height=min(38 + 35 * len(frame), 420))
    return [rows[i] for i in event.selection.rows if i < len(rows)]


def _compare(selected: list[dict[str, Any]]) -> None:
    """Metric curves, parallel coordinates and the param diff of the selected runs."""
    st.subheader(f"Compare {len(selected)} runs")
    curves, parallel, params = st.tabs(["Metric curves", "Parallel coordinates", "Param diff"])
    with params:
        only = st.toggle("Only differences", value=True, key="experiments.only_diff")
        diff = compare.param_diff(selected, only_differences=only)
        if diff.empty:
            st.caption("These runs have the same params." if only else "These runs have no params.")
        else:
            st.dataframe(diff, width="stretch")
    metrics = compare.keys_of(selected, "metrics")
    with curves:
        if not metrics:
            st.caption("These runs logged no metrics.")
        else:
            key = st.columns([1, 2])[0].selectbox("Metric", metrics, key="experiments.curve_metric")
            ids = tuple(row["run_id"] for row in selected)
            histories = ui.attempt(lambda: data.metric_histories(ids, key or metrics[0]))
            if histories is not None:
                names = {row["run_id"]: compare.label(row) for row in selected}
                st.plotly_chart(compare.curves_figure(histories, names, key or metrics[0]), width="stretch")
    with parallel:
        figure, mapped = compare.parallel_figure(selected, color_metric=metrics[0] if metrics else None)
        if figure is None:
            st.caption("Select two or more runs whose params or metrics differ to see them as lines.")
        else:
            st.plotly_chart(figure, width="stretch")
            note = "One axis per param and metric that differs and every selected run has"
            if mapped:
                note += f"; text params ({', '.join(mapped)}) are placed in order of their values"
            st.caption(ui.plain(note + (f"; coloured by metrics.{metrics[0]}." if metrics else ".")))


def render() -> None:
    """The page."""
    st.title("Experiments")
    project = data.project()
    if project is None:
        empty_state("credit")
        return
    links.preselect_run()  # a link to one run (from Scorecards' evidence) filters the table to it
    choices = data.run_choices(project["id"])
    if not choices["experiments"]:
        empty_state(project["name"])
        return
    query = _controls(choices)
    shown = (project["id"], tuple(sorted(query.items())))
    if st.session_state.get("experiments.query") != shown:  # a new query starts at page 1, nothing selected
        st.session_state["experiments.query"] = shown
        st.session_state["experiments.page"] = 1
        st.session_state.pop(TABLE_KEY, None)
    wanted = int(st.session_state.get("experiments.page", 1))
    if st.session_state.get("experiments.shown_page") != wanted:
        st.session_state["experiments.shown_page"] = wanted
        st.session_state.pop(TABLE_KEY, None)
    with st.spinner("Reading runs..."):
        page = ui.attempt(lambda: data.run_page(project["id"], offset=(wanted - 1) * query["limit"], **query))
    if page is None:
        return
    if page.total == 0:
        if query["filter_text"] or query["experiments"] or query["statuses"]:
            st.info("No runs match. Clear the filter or the quick filters to see every run.")
        else:
            empty_state(project["name"])
        return
    # the page shown (the service moves a page past the end back to the last one)
    st.session_state["experiments.page"] = st.session_state["experiments.shown_page"] = page.page
    _count(page)
    selected = _table(page.rows)
    _pager(page)
    if not selected:
        st.caption("Select runs in the table (the boxes on the left) to compare them.")
        return
    _compare(selected)


if __name__ == "__main__":
    render()
