"""The magics in a real kernel (nbclient): what IPython does to a line before `%mlops` sees it, and
what a kernel without stdin does to `--login`, cannot be seen in an InteractiveShell of the test."""
from __future__ import annotations

import pytest

import mlops_nb as mlops


def _execute(kernel: str, cells: list[str], folder) -> list:
    """Run `cells` in one fresh kernel; every cell runs even after an error. Returns the cells."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(nb, timeout=120, kernel_name=kernel, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return nb.cells


def _errors(cell) -> list[tuple[str, str]]:
    """(name, message) of each error the cell showed: a traceback, or IPython's one-line UsageError
    (printed to stderr as `UsageError: message`)."""
    found = [(out.ename, out.evalue) for out in cell.outputs if out.output_type == "error"]
    for out in cell.outputs:
        if out.output_type == "stream" and out.name == "stderr" and out.text.startswith("UsageError: "):
            found.append(("UsageError", out.text.removeprefix("UsageError: ").strip()))
    return found


def _text(cell) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory):
    """One kernel (a `python3` kernelspec running this interpreter, as tests/test_notebooks.py makes)
    for the whole module: the cells below, run in order, and the URL of the store they wrote."""
    import os

    from ipykernel.kernelspec import install

    folder = tmp_path_factory.mktemp("kernel")
    prefix = folder / "kernel-prefix"
    install(kernel_name="python3", prefix=str(prefix))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(prefix / "share" / "jupyter")
    os.environ["MLOPS_HOME"] = str(folder / "home")
    url = f"sqlite:///{folder / 'store.db'}"
    cells = [
        f"%load_ext mlops_nb\n%mlops init --project nb --db {url} --user dana",
        "%mlops start --name quoting",
        '%mlops log param cfg={"a":1}',
        '%mlops log param spaced={"a": 1, "b": [1, 2]} layers=[64, 32]',
        "%mlops log param single='{\"x\": \"y z\"}' words='two words' plain=\"it's\"",
        'who = "dana"\n%mlops log param owner=$who literal=$$who braces={who}',
        '%mlops log param broken={"a": 1',
        "%mlops log param nobody=$nobody",
        "%mlops end",
        "%mlops init --project other --user rita --login",
        "import mlops_nb as mlops\nprint(mlops.get_context().project, mlops.get_context().user)",
        "%mlops log param cfg=1",  # no active run in any context: refused as usual
    ]
    try:
        executed = _execute("python3", cells, folder)
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
        os.environ.pop("MLOPS_HOME", None)
    return executed, url


def _quoting_run(url):
    mlops.init(project="nb", db_url=url, user="dana")
    (row,) = list(mlops.runs())
    return mlops.get_run(row["run_id"])


def test_json_values_survive_a_real_kernel_as_typed(kernel_run):
    cells, url = kernel_run
    assert [_errors(cells[i]) for i in range(6)] == [[]] * 6
    params = _quoting_run(url).params
    assert params["cfg"] == '{"a": 1}'
    assert params["spaced"] == '{"a": 1, "b": [1, 2]}'
    assert params["layers"] == "[64, 32]"


def test_a_value_quoted_whole_loses_only_its_outer_quotes(kernel_run):
    cells, url = kernel_run
    params = _quoting_run(url).params
    assert params["single"] == '{"x": "y z"}'
    assert params["words"] == "two words"
    assert params["plain"] == "it's"


def test_dollar_names_expand_and_braces_stay_as_typed(kernel_run):
    cells, url = kernel_run
    params = _quoting_run(url).params
    assert params["owner"] == "dana"
    assert params["literal"] == "$who"
    assert params["braces"] == "{who}"


def test_an_unclosed_bracket_or_unknown_dollar_name_is_a_usage_error_naming_it(kernel_run):
    cells, url = kernel_run
    ((name, message),) = _errors(cells[6])
    assert name == "UsageError"
    assert "'}' is missing" in message and 'broken={"a": 1' in message and "quote a value" in message
    ((name, message),) = _errors(cells[7])
    assert name == "UsageError" and "nobody" in message and "$$" in message
    assert "broken" not in _quoting_run(url).params and "nobody" not in _quoting_run(url).params


def test_login_without_stdin_is_a_usage_error_and_keeps_the_context(kernel_run):
    cells, url = kernel_run
    ((name, message),) = _errors(cells[9])
    assert name == "UsageError"
    assert "cannot ask for a password" in message
    assert "mlops.init(user=..., password=...)" in message and "MLOPS_TOKEN" in message
    assert _text(cells[10]).split() == ["nb", "dana"]
