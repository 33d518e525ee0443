"""A feature defined in a notebook cell of a real kernel: inspect.getsource reads the cell through
IPython's linecache, so the source (and its version) is the cell's text."""
from __future__ import annotations

import json


def test_a_feature_defined_in_a_kernel_cell_is_versioned_by_its_source(kernel_of_this_python, tmp_path):
    import nbformat
    from nbclient import NotebookClient

    url = f"sqlite:///{tmp_path / 'store.db'}"
    body = 'def avg_spend(df):\n    return df["spend_7d"] / 7\n'
    cells = [
        f"import json, pandas as pd, mlops_nb as mlops\nmlops.init(project='nb', db_url={url!r}, user='dana', "
        f"artifact_root={str(tmp_path / 'artifacts')!r})\nframe = pd.DataFrame({{'spend_7d': [7.0, 14.0]}})",
        "@mlops.feature\n" + body,
        "with mlops.start_run(experiment='e'):\n    values = avg_spend(frame).tolist()\n"
        "print(json.dumps({'v': avg_spend.version, 'values': values, 'source': avg_spend.source}))",
        "@mlops.feature\n" + body,  # the cell run again
        "print(json.dumps({'v': avg_spend.version}))",
        "@mlops.feature\n" + body.replace("/ 7", "/ 5"),  # the cell edited
        "print(json.dumps({'v': avg_spend.version}))",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=120, kernel_name=kernel_of_this_python,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = [json.loads("".join(o.get("text", "") for o in nb.cells[i].outputs if o.output_type == "stream"))
               for i in (2, 4, 6)]
    assert printed[0] == {"v": 1, "values": [1.0, 2.0], "source": body}
    assert [p["v"] for p in printed[1:]] == [1, 2]
