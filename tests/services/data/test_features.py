"""Feature definitions: versions by source hash, applications, refs, bind and compute."""
from __future__ import annotations

import importlib
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from mlops_nb.services.data import feature_pipeline as fp
from mlops_nb.services.data import features
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic
from mlops_nb.services.errors import Conflict, IntegrityFailure, InvalidInput, NotFound
from mlops_nb.store.models import FeatureDefinition, RunFeature
from tests import factories as g

SOURCE_7 = 'def avg_spend(df):\n    return df["spend"] / 7\n'
SOURCE_5 = 'def avg_spend(df):\n    return df["spend"] / 5\n'


def _definition(source: str, name: str = "avg_spend", version: int = 1, function: str = "") -> FeatureDefinitionPublic:
    return FeatureDefinitionPublic(id=version, name=name, version=version, source=source,
                                   source_hash=features.source_hash(source), function=function)


def test_same_source_is_the_same_version_and_an_edit_the_next(session):
    pid = g.project(session)
    first = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="dana")
    again = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="rita")
    edited = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_5, user="dana")
    assert (first.version, again.version, again.id, edited.version) == (1, 1, first.id, 2)
    assert edited.source_hash == features.source_hash(SOURCE_5) != first.source_hash
    back = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="dana")
    assert back.version == 1  # going back to the old source is the old version, not a third
    assert [(d.name, d.version) for d in features.list_definitions(session=session, project_id=pid).rows] == \
        [("avg_spend", 1), ("avg_spend", 2)]
    assert first.ref == {"name": "avg_spend", "version": 1, "source_hash": features.source_hash(SOURCE_7)}


def test_bad_definitions_are_refused_and_nothing_is_stored(session):
    pid = g.project(session)
    with pytest.raises(InvalidInput, match="feature name"):
        features.register_definition(session=session, project_id=pid, name="", source=SOURCE_7, user="dana")
    with pytest.raises(InvalidInput, match="needs its function's source text"):
        features.register_definition(session=session, project_id=pid, name="x", source="  ", user="dana")
    assert session.exec(select(FeatureDefinition)).all() == []
    with pytest.raises(NotFound, match="feature 'x' is not defined in this project; define it with @mlops.feature"):
        features.get_definition(session=session, project_id=pid, name="x")


def test_source_of_starts_at_the_def_line_and_is_dedented():
    def decorate(f):
        return f

    @decorate
    def inner(df):
        return df["a"] + 1

    assert features.source_of(inner) == 'def inner(df):\n    return df["a"] + 1\n'
    with pytest.raises(InvalidInput, match="a feature must be a function defined with def, got function '<lambda>'"):
        features.source_of(lambda df: df)
    namespace: dict = {}
    exec("def made(df):\n    return df\n", namespace)
    with pytest.raises(InvalidInput, match="the source of function 'made' cannot be read"):
        features.source_of(namespace["made"])


def test_an_application_is_recorded_once_with_the_outputs_of_the_first(session):
    pid = g.project(session)
    run_id = g.run(session, pid)
    d = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="dana")
    features.record_application(session=session, run_id=run_id, definition_id=d.id, outputs=["avg_spend"])
    features.record_application(session=session, run_id=run_id, definition_id=d.id, outputs=["other"])
    assert len(session.exec(select(RunFeature)).all()) == 1
    assert features.get_definition(session=session, project_id=pid, name="avg_spend").outputs == ["avg_spend"]
    assert [x.version for x in features.applied_by_run(session=session, run_id=run_id)] == [1]


def test_registration_names_the_applied_version_else_the_newest(session):
    pid = g.project(session)
    run_id = g.run(session, pid)
    v1 = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="d")
    features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_5, user="d")
    other = features.register_definition(session=session, project_id=pid, name="ratio", source="def r(df):\n    return df\n",
                                         user="d")
    features.record_application(session=session, run_id=run_id, definition_id=v1.id, outputs=["avg_spend"])
    assert [d.ref for d in features.for_registration(session=session, project_id=pid, run_id=run_id, names=None)] == \
        [v1.ref]
    named = features.for_registration(session=session, project_id=pid, run_id=run_id, names=["avg_spend", "ratio"])
    assert [(d.name, d.version) for d in named] == [("avg_spend", 1), ("ratio", other.version)]
    with pytest.raises(NotFound, match="feature 'nope' is not defined"):
        features.for_registration(session=session, project_id=pid, run_id=run_id, names=["nope"])


def test_refs_for_a_version_read_old_plain_names_and_check_hashes(session):
    pid = g.project(session)
    d = features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_7, user="d")
    row = g.version(session, g.model(session, pid))
    row.features = [d.ref]
    assert features.feature_refs_for_version(session=session, version_row=row) == [d]
    row.features = ["avg_spend"]  # a version registered before definitions were versioned
    assert features.feature_refs_for_version(session=session, version_row=row) == [d]
    assert features.refs_of(["avg_spend"]) == [{"name": "avg_spend", "version": None, "source_hash": None}]
    features.register_definition(session=session, project_id=pid, name="avg_spend", source=SOURCE_5, user="d")
    with pytest.raises(Conflict, match="names feature 'avg_spend' without a version .* it has 2"):
        features.feature_refs_for_version(session=session, version_row=row)
    row.features = [{**d.ref, "source_hash": "0" * 64}]
    with pytest.raises(IntegrityFailure, match="the stored definition was changed"):
        features.feature_refs_for_version(session=session, version_row=row)
    row.features = [{**d.ref, "version": 9}]
    with pytest.raises(NotFound, match="feature 'avg_spend' has no version 9; versions: 1, 2"):
        features.feature_refs_for_version(session=session, version_row=row)


def test_bind_uses_the_function_of_this_process_with_the_same_source():
    def avg_spend(df):
        return df["spend"] / 7

    source = features.source_of(avg_spend)
    features.remember("avg_spend", avg_spend, features.source_hash(source))
    pipeline = fp.bind([_definition(source)])
    frame = pd.DataFrame({"spend": [7.0, 14.0]}, index=[10, 11])
    out, findings = pipeline.compute(frame)
    assert findings == [] and out["avg_spend"].tolist() == [1.0, 2.0] and list(out.index) == [10, 11]
    assert "avg_spend" not in frame  # the caller's frame is left alone
    assert pipeline.refs == [{"name": "avg_spend", "version": 1, "source_hash": features.source_hash(source)}]


def test_bind_names_a_feature_edited_since_training():
    def avg_spend(df):
        return df["spend"] / 5

    features.remember("avg_spend", avg_spend, features.source_hash(features.source_of(avg_spend)))
    with pytest.raises(Conflict, match="feature 'avg_spend' was edited since training: trained with v1 .*"
                                       "run the cell that defines v1, or pass run_stored_features=True to load_model"):
        fp.bind([_definition(SOURCE_7)])
    with pytest.raises(NotFound, match="feature 'ratio' v1 is not defined in this process"):
        fp.bind([_definition("def r(df):\n    return df\n", name="ratio")])


def test_stored_source_runs_only_when_the_caller_asks(tmp_path):
    marker = tmp_path / "ran"
    source = f"def avg_spend(df):\n    open({str(marker)!r}, 'w').write('ran')\n    return df['spend'] / 7\n"
    with pytest.raises(NotFound):
        fp.bind([_definition(source)])
    assert not marker.exists()  # nothing was executed
    pipeline = fp.bind([_definition(source)], run_stored_source=True)
    assert not marker.exists()  # defining the function runs nothing of its body
    out, _ = pipeline.compute(pd.DataFrame({"spend": [7.0]}))
    assert out["avg_spend"].tolist() == [1.0] and marker.read_text() == "ran"


def test_an_importable_function_binds_by_module_and_qualname():
    source = features.source_of(features.public)
    definition = _definition(source, function="mlops_nb.services.data.features:public")
    assert fp.find_function(definition) is features.public
    moved = _definition(source + "# edited\n", function="mlops_nb.services.data.features:public")
    with pytest.raises(NotFound):  # the module's source is not the stored one: not used
        fp.find_function(moved)


def test_a_stored_module_name_is_never_imported(tmp_path, monkeypatch):
    """The module name is text the registering user wrote: binding uses a module this process has
    imported itself, and names the import otherwise (importing would run the module's top level)."""
    marker = tmp_path / "imported"
    (tmp_path / "credit_feats_never_imported.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\ndef avg_spend(df):\n    return df['spend'] / 7\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    source = "def avg_spend(df):\n    return df['spend'] / 7\n"
    definition = _definition(source, function="credit_feats_never_imported:avg_spend")
    with pytest.raises(NotFound, match="import credit_feats_never_imported first"):
        fp.find_function(definition)
    assert not marker.exists()
    module = importlib.import_module("credit_feats_never_imported")  # the caller's own choice
    assert fp.find_function(definition) is module.avg_spend
    monkeypatch.delitem(sys.modules, "credit_feats_never_imported")


def test_empty_definitions_return_the_frame_itself():
    frame = pd.DataFrame({"a": [1]})
    out, findings = fp.bind([]).compute(frame)
    assert out is frame and findings == []


def _pipeline(function, name="avg_spend"):
    source = features.source_of(function)
    features.remember(name, function, features.source_hash(source))
    return fp.bind([_definition(source, name=name, version=2)])


def test_a_function_raising_on_some_rows_names_them():
    def avg_spend(df):
        if (df["days"] == 0).any():
            raise ZeroDivisionError("division by zero")
        return df["spend"] / df["days"]

    frame = pd.DataFrame({"spend": np.arange(100.0), "days": [0 if i in (4, 17, 52) else 7 for i in range(100)]})
    with pytest.raises(InvalidInput) as err:
        _pipeline(avg_spend).compute(frame)
    assert str(err.value) == ("feature 'avg_spend' v2 failed on 3 of 100 rows (rows 4, 17, 52): "
                              "ZeroDivisionError: division by zero")


def test_a_function_failing_only_on_the_whole_frame_says_so():
    def avg_spend(df):
        if len(df) > 1:
            raise MemoryError("too big")
        return df["spend"]

    with pytest.raises(InvalidInput, match="failed on the frame of 3 rows, though on no single row of 3 rows: "
                                           "MemoryError: too big"):
        _pipeline(avg_spend).compute(pd.DataFrame({"spend": [1.0, 2.0, 3.0]}))


def test_diagnosis_is_bounded_to_the_first_rows(monkeypatch):
    calls = []

    def avg_spend(df):
        calls.append(len(df))
        raise KeyError("income")

    monkeypatch.setattr(fp, "DIAGNOSE_ROWS", 20)
    with pytest.raises(InvalidInput, match=r"failed on 20 of the first 20 of 1000 rows \(rows 0, 1, .*, \.\.\.\): "
                                           "KeyError: 'income'"):
        _pipeline(avg_spend).compute(pd.DataFrame({"spend": np.ones(1000)}))
    assert len(calls) == 21  # the frame, then 20 single rows


@pytest.mark.parametrize("result, words", [
    (lambda df: df["spend"].iloc[:1], "returned 1 rows for a frame of 2"),
    (lambda df: df["spend"].reset_index(drop=True), "returned values under another index than the frame.s"),
    (lambda df: 3.0, "returned float; a feature function returns a pandas Series"),
])
def test_a_result_breaking_the_contract_is_named(result, words):
    def avg_spend(df):
        return make(df)

    make = result
    frame = pd.DataFrame({"spend": [1.0, 2.0]}, index=[5, 6])
    with pytest.raises(InvalidInput, match=f"feature 'avg_spend' v2 {words}"):
        _pipeline(avg_spend).compute(frame)


def test_one_row_and_an_empty_frame():
    def avg_spend(df):
        return df["spend"] / 7

    pipeline = _pipeline(avg_spend)
    out, findings = pipeline.compute(pd.DataFrame({"spend": [14.0]}, index=["a1"]))
    assert out.loc["a1", "avg_spend"] == 2.0 and findings == []
    with pytest.raises(InvalidInput, match="features 'avg_spend' v2 got an empty frame \\(0 rows\\)"):
        pipeline.compute(pd.DataFrame({"spend": []}))


def test_a_served_column_that_differs_is_a_feature_skew_finding():
    def avg_spend(df):
        return df["spend"] / 7

    frame = pd.DataFrame({"spend": [7.0, 14.0, 21.0, np.nan], "avg_spend": [1.0, 14 / 5, 3.0 + 1e-13, np.nan]},
                         index=["a", "b", "c", "d"])
    out, findings = _pipeline(avg_spend).compute(frame)
    assert out["avg_spend"].tolist()[:3] == [1.0, 2.0, 3.0]  # the definition's values are the model's input
    [finding] = findings
    assert (finding.rule, finding.severity, finding.column) == ("feature_skew", "error", "avg_spend")
    assert finding.examples == [{"row": "b", "training": 2.0, "serving": 2.8}]
    assert finding.details["rows"] == 1 and finding.details["share"] == 0.25
    assert "differs from the training computation on 1 of 4 rows (25%)" in finding.message


def test_non_numeric_values_compare_exactly():
    left = pd.Series(["low", "high", None, "mid"])
    right = pd.Series(["low", "High", None, 3])
    assert fp.differing(left, right).tolist() == [False, True, False, True]


def test_two_features_producing_one_column_are_refused():
    def avg_spend(df):
        return df["spend"]

    def other(df):
        return pd.DataFrame({"avg_spend": df["spend"]})

    p1 = _pipeline(avg_spend)
    p2 = _pipeline(other, name="other")
    with pytest.raises(InvalidInput, match="features 'avg_spend' v2 and 'other' v2 both produce column 'avg_spend'"):
        fp.FeaturePipeline(p1.steps + p2.steps).compute(pd.DataFrame({"spend": [1.0]}))


def test_version_row_stand_in_has_what_refs_need():
    assert features.refs_of(SimpleNamespace(features=None).features) == []


def test_concurrent_writers_of_new_sources_get_distinct_versions(engine):
    import threading

    from mlops_nb.store.db import session_scope

    with session_scope(engine) as s:
        pid = g.project(s)
    barrier = threading.Barrier(6)
    numbers: list[int] = []
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            barrier.wait()
            with session_scope(engine) as s:
                numbers.append(features.register_definition(session=s, project_id=pid, name="avg_spend",
                                                            source=f"def f(df):\n    return df * {i}\n",
                                                            user=f"w{i}").version)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and sorted(numbers) == [1, 2, 3, 4, 5, 6]
