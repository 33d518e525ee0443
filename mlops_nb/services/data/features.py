"""Feature definitions: named, versioned transformations, known by the sha256 of their source.

SPEC §3: a model version names the feature definitions it was trained with and scoring applies
exactly those; an edited function is a new version, never a silent swap. The rules:

- The source of a definition is the function's own text as `inspect.getsource` gives it (in a
  notebook, through IPython's linecache), dedented, from its `def` line on: decorator lines are not
  part of it, so `@mlops.feature` and `@mlops.feature("x")` over one body are one source. Its
  sha256 is the version's identity: the same source is the same version, a new source is N+1.
- Numbering never collides: SQLite serialises writers (BEGIN IMMEDIATE), PostgreSQL takes an
  advisory lock on the feature's name until the transaction ends (as datasets.log_dataset does).
  Registering is not a governance state change, so, like logging a dataset, it writes no audit event.
- Stored source is never executed by these services on their own: `bind` (feature_pipeline.py)
  runs it only when its caller passes `run_stored_source=True` in its own process; the console and
  the promotion gates never do (a registered model must not run code in a reviewer's process).

This process remembers the functions it defined (`remember`), by source hash and by name, so that
`bind` can find the function a model was trained with, and name an edit when it cannot.

    d = register_definition(session=s, project_id=1, name="avg_7d", source=src, function="__main__:avg_7d",
                            user="dana")
    record_application(session=s, run_id=run.id, definition_id=d.id, outputs=["avg_7d"])
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import textwrap
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from mlops_nb.services.data.datasets import serialise_versions_of, versioned_row
from mlops_nb.services.data.feature_results import FeatureDefinitionPublic, FeatureTable
from mlops_nb.services.errors import Conflict, IntegrityFailure, InvalidInput, NotFound
from mlops_nb.services.values import check_name
from mlops_nb.store.models import FeatureDefinition, RegisteredModel, RunFeature

_lock = threading.Lock()
_BY_HASH: dict[str, Callable[..., Any]] = {}  # source_hash -> a function of this process with that source
_BY_NAME: dict[str, tuple[str, Callable[..., Any]]] = {}  # feature name -> (source_hash, function) defined last


def source_of(function: Callable[..., Any]) -> str:
    """The function's own source: dedented, from its `def` line (decorators left out), ending in a newline.

    Raises:
        InvalidInput: not a plain function (a lambda, a builtin, a callable object), or its source
            cannot be read (defined by exec or in a console without a history).
    """
    if not inspect.isfunction(function) or function.__name__ == "<lambda>":
        raise InvalidInput(f"a feature must be a function defined with def, got {type(function).__name__} "
                           f"{getattr(function, '__name__', '')!r}".rstrip())
    try:
        raw = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError) as err:
        raise InvalidInput(f"the source of function {function.__name__!r} cannot be read ({err}); define it in a "
                           "notebook cell or a module file") from err
    try:
        tree = ast.parse(raw)
    except SyntaxError as err:
        raise InvalidInput(f"the source of function {function.__name__!r} cannot be parsed: {err}") from err
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if node is None:
        raise InvalidInput(f"the source of function {function.__name__!r} holds no def statement")
    lines = raw.splitlines()[node.lineno - 1:]
    return "\n".join(line.rstrip() for line in lines).strip("\n") + "\n"


def source_hash(source: str) -> str:
    """The sha256 (64 hex characters) of `source`'s UTF-8 bytes."""
    return hashlib.sha256(source.encode()).hexdigest()


def function_label(function: Callable[..., Any]) -> str:
    """'module:qualname' where `function` was defined ('__main__:name' for a notebook cell)."""
    return f"{function.__module__}:{function.__qualname__}"[:500]


def remember(name: str, function: Callable[..., Any], digest: str) -> None:
    """Note that this process defines feature `name` as `function`, whose source hashes to `digest`."""
    with _lock:
        _BY_HASH[digest] = function
        _BY_NAME[name] = (digest, function)


def in_process(digest: str) -> Callable[..., Any] | None:
    """The function of this process whose source hashes to `digest`, or None."""
    return _BY_HASH.get(digest)


def defined_now(name: str) -> tuple[str, Callable[..., Any]] | None:
    """(source hash, function) of feature `name` as this process defined it last, or None."""
    return _BY_NAME.get(name)


def public(row: FeatureDefinition) -> FeatureDefinitionPublic:
    """The read model of feature_definition row `row`."""
    assert row.id is not None  # a stored row
    return FeatureDefinitionPublic(id=row.id, name=row.name, version=row.version, source=row.source,
                                   source_hash=row.source_hash, function=row.function,
                                   outputs=[str(o) for o in row.outputs or []], created_by=row.created_by,
                                   created_at=row.created_at)


def register_definition(*, session: Session, project_id: int, name: str, source: str, function: str = "",
                        user: str) -> FeatureDefinitionPublic:
    """Feature `name` with `source`: the version holding that source, else a new version N+1.

    Raises:
        InvalidInput: a bad name, or an empty source.
    """
    check_name(name, "feature name")
    if not isinstance(source, str) or not source.strip():
        raise InvalidInput(f"feature {name!r} needs its function's source text, got {source!r}")
    digest = source_hash(source)
    serialise_versions_of(session, "feature", project_id, name)
    found: FeatureDefinition | None = session.execute(select(FeatureDefinition).where(
        col(FeatureDefinition.project_id) == project_id, col(FeatureDefinition.name) == name,
        col(FeatureDefinition.source_hash) == digest)).scalars().first()
    if found is not None:
        return public(found)
    number = (session.execute(select(func.max(col(FeatureDefinition.version))).where(
        col(FeatureDefinition.project_id) == project_id, col(FeatureDefinition.name) == name)).scalar() or 0) + 1
    row = FeatureDefinition(project_id=project_id, name=name, version=number, source=source, source_hash=digest,
                            function=function[:500], outputs=[], created_by=user, created_at=time.time())
    session.add(row)
    session.flush()
    return public(row)


def record_application(*, session: Session, run_id: str, definition_id: int, outputs: Sequence[str]) -> None:
    """Record that run `run_id` applied definition `definition_id` (once per run), and the output
    column names when the definition has none recorded yet (its first application).

    Raises:
        NotFound: no such definition.
    """
    row = session.get(FeatureDefinition, definition_id)
    if row is None:
        raise NotFound(f"feature definition {definition_id} does not exist")
    if not row.outputs and outputs:
        row.outputs = [str(o) for o in outputs]
        session.add(row)
    if session.get(RunFeature, (run_id, definition_id)) is None:
        session.add(RunFeature(run_id=run_id, feature_definition_id=definition_id, created_at=time.time()))
    session.flush()


def get_definition(*, session: Session, project_id: int, name: str,
                   version: int | None = None) -> FeatureDefinitionPublic:
    """Version `version` of feature `name` (the newest when None).

    Raises:
        NotFound: no such feature (define it with @mlops.feature), or no such version (versions listed).
    """
    return public(versioned_row(session, FeatureDefinition, project_id, name, version, what="feature",
                                missing="is not defined in this project; define it with @mlops.feature"))


def list_definitions(*, session: Session, project_id: int, name: str | None = None,
                     limit: int = 1000) -> FeatureTable:
    """The project's feature definition versions (of feature `name` only, when given), by name then
    version; at most `limit` rows.

    Raises:
        NotFound: `name` is given and has no definition.
    """
    query = select(FeatureDefinition).where(col(FeatureDefinition.project_id) == project_id)
    if name is not None:
        query = query.where(col(FeatureDefinition.name) == name)
    rows = [public(r) for r in session.execute(query.order_by(col(FeatureDefinition.name),
                                                              col(FeatureDefinition.version)).limit(limit)).scalars()]
    if name is not None and not rows:
        raise NotFound(f"feature {name!r} is not defined in this project; define it with @mlops.feature")
    return FeatureTable(rows=rows, title=f"Versions of feature {name}" if name else "Feature definitions")


def applied_by_run(*, session: Session, run_id: str) -> list[FeatureDefinitionPublic]:
    """The definition versions run `run_id` applied, by name (the newest version of a name it applied twice)."""
    rows = session.execute(select(FeatureDefinition).join(
        RunFeature, col(RunFeature.feature_definition_id) == FeatureDefinition.id)
        .where(col(RunFeature.run_id) == run_id)
        .order_by(col(FeatureDefinition.name), col(FeatureDefinition.version))).scalars().all()
    by_name = {r.name: public(r) for r in rows}  # the later (higher) version wins
    return list(by_name.values())


def for_registration(*, session: Session, project_id: int, run_id: str,
                     names: Sequence[str] | None) -> list[FeatureDefinitionPublic]:
    """The definitions a new model version names: `names` None -> those run `run_id` applied; each
    name -> the version the run applied, else that feature's newest version.

    Raises:
        NotFound: a name no definition has in the project.
    """
    applied = applied_by_run(session=session, run_id=run_id)
    if names is None:
        return applied
    by_name = {d.name: d for d in applied}
    return [by_name.get(n) or get_definition(session=session, project_id=project_id, name=n)
            for n in dict.fromkeys(names)]


def refs_of(features: Any) -> list[dict[str, Any]]:
    """A version's stored `features` as refs {"name", "version", "source_hash"}: a plain name (rows
    registered before definitions were versioned) reads as {"name": n, "version": None, "source_hash": None}."""
    refs: list[dict[str, Any]] = []
    for item in features or []:
        if isinstance(item, str):
            refs.append({"name": item, "version": None, "source_hash": None})
        elif isinstance(item, dict) and "name" in item:
            refs.append({"name": item["name"], "version": item.get("version"), "source_hash": item.get("source_hash")})
    return refs


def feature_refs_for_version(*, session: Session, version_row: Any) -> list[FeatureDefinitionPublic]:
    """The definitions model version `version_row` (a ModelVersion) was trained with, in its order.

    Raises:
        NotFound: a named definition version is no longer in the store.
        IntegrityFailure: a stored definition's source hash is not the one the version recorded.
        Conflict: an old version names a feature without its version and the feature has several.
    """
    refs = refs_of(version_row.features)
    if not refs:
        return []
    model = session.get(RegisteredModel, version_row.model_id)
    assert model is not None  # model_version.model_id is a foreign key
    found: list[FeatureDefinitionPublic] = []
    for ref in refs:
        if ref["version"] is None:
            versions = list_definitions(session=session, project_id=model.project_id, name=ref["name"]).rows
            if len(versions) != 1:
                raise Conflict(f"model {model.name!r} v{version_row.version} names feature {ref['name']!r} without "
                               f"a version (registered before versions were kept) and it has {len(versions)}: "
                               "register the model again to name the version it was trained with")
            found.append(versions[0])
            continue
        definition = get_definition(session=session, project_id=model.project_id, name=ref["name"],
                                    version=int(ref["version"]))
        if ref["source_hash"] and definition.source_hash != ref["source_hash"]:
            raise IntegrityFailure(f"feature {definition.label} in the store hashes to {definition.source_hash[:12]}, "
                                   f"but model {model.name!r} v{version_row.version} was trained with "
                                   f"{str(ref['source_hash'])[:12]}; the stored definition was changed")
        found.append(definition)
    return found

