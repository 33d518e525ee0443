"""Model files in skops format: a safe alternative to pickle that names every type it would create.

SPEC §4: model files load only types the loader trusts: skops' defaults, the loader's allow-list
(services.registry.allow_list: scikit-learn, numpy, scipy, pandas and this package, by a precise
rule) and the types a proven ml_engineer or admin trusted for that model (services.registry.trust).
A file's own list of types is never trusted: `load` asks skops which names the file holds
(`get_untrusted_types`, which reads schema.json and constructs nothing) and refuses the file,
before skops creates a single object, when any of them is trusted by none of these.

scikit-learn and skops are imported here, inside functions, so `import mlops_nb` stays light.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from typing import Any

from mlops_nb.services.errors import InvalidInput, NotFound, PermissionDenied
from mlops_nb.services.registry import allow_list
from mlops_nb.services.values import MAX_NAME

FLAVOR = "sklearn-skops"
PARAM_TEXT_LIMIT = 250  # characters of an estimator param's text kept with a version
_UNTRUSTED_BY_SCHEMA: dict[bytes, tuple[str, ...]] = {}
_UNTRUSTED_CACHE_MAX = 256


def _skops_io() -> Any:
    """`skops.io`, imported on first use (it imports scikit-learn's estimator modules: ~0.2-0.45 s).

    A faster import that hands skops a cached list of estimator names was tried and left out: it
    patches sklearn during the import and trusts a file outside the package, for a fresh-process
    load that stays above its target anyway (docs/benchmarks.md).
    """
    import skops.io as sio

    return sio


def check_estimator(model: Any) -> None:
    """Nothing when `model` is a fitted scikit-learn estimator or pipeline (or follows its API).

    Raises:
        InvalidInput: `model` has no get_params/predict (or transform), or is not fitted.
    """
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if not (hasattr(model, "get_params") and (hasattr(model, "predict") or hasattr(model, "transform"))):
        raise InvalidInput(f"register_model takes a scikit-learn estimator or pipeline; got {kind}, which has "
                           "no get_params/predict (wrap it in a sklearn estimator, or fit one first)")
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError as err:
        raise InvalidInput(f"the {type(model).__name__} given to register_model is not fitted; call .fit(X, y) "
                           "first") from err
    except TypeError as err:  # not an estimator in sklearn's sense
        raise InvalidInput(f"register_model takes a scikit-learn estimator or pipeline; got {kind} "
                           f"({err})") from err


def dump(model: Any) -> tuple[bytes, list[str]]:
    """(the skops file of `model` as bytes, the types in it that skops does not trust by default,
    sorted): what registration stores, and the types it records as trusted for this file.

    Raises:
        InvalidInput: `model` is not a fitted estimator, or skops cannot represent it safely.
    """
    sio = _skops_io()
    check_estimator(model)
    try:
        data, schema = _dumps(sio, model)
    except Exception as err:  # skops refuses what it cannot represent safely (lambdas, open files, ...)
        raise InvalidInput(f"the {type(model).__name__} cannot be saved in skops format: {err}") from err
    # The untrusted types of a file are a function of its schema.json alone (arrays are stored as
    # .npy, which names no type), up to the numbering of its "__id__" memo labels (process memory
    # addresses, only ever compared for equality); so a schema seen before, renumbered, is not
    # parsed into a node tree again.
    key = hashlib.sha256(_renumbered_ids(schema)).digest()
    untrusted = _UNTRUSTED_BY_SCHEMA.get(key)
    if untrusted is None:
        untrusted = tuple(sorted(sio.get_untrusted_types(data=data)))
        if len(_UNTRUSTED_BY_SCHEMA) >= _UNTRUSTED_CACHE_MAX:
            _UNTRUSTED_BY_SCHEMA.clear()
        _UNTRUSTED_BY_SCHEMA[key] = untrusted
    return data, list(untrusted)


_ID_LABEL = re.compile(rb'"__id__": ?(\d+)')


def _renumbered_ids(schema: bytes) -> bytes:
    """`schema` with each distinct "__id__" number replaced by its order of first appearance."""
    seen: dict[bytes, int] = {}

    def label(match: re.Match[bytes]) -> bytes:
        return b'"__id__": %d' % seen.setdefault(match.group(1), len(seen))

    return _ID_LABEL.sub(label, schema)


def _dumps(sio: Any, model: Any) -> tuple[bytes, bytes]:
    """(skops bytes, their schema.json): what `skops.io.dumps` writes, with schema.json in compact
    JSON (the same document; skops indents it, which forces Python's pure-Python encoder)."""
    try:
        import skops
        from skops.io._utils import SaveContext, get_state
    except ImportError:  # another skops layout: its own dumps, the schema read back
        from zipfile import ZipFile

        data = sio.dumps(model)
        with ZipFile(io.BytesIO(data)) as zf:
            return data, zf.read("schema.json")
    from zipfile import ZIP_STORED, ZipFile

    buffer = io.BytesIO()
    with ZipFile(buffer, "w", compression=ZIP_STORED) as zip_file:
        context = SaveContext(zip_file=zip_file)
        state = get_state(model, context)
        context.clear_memo()
        state["protocol"] = context.protocol
        state["_skops_version"] = skops.__version__
        schema = json.dumps(state).encode()
        zip_file.writestr("schema.json", schema)
    return buffer.getvalue(), schema


def load(data: bytes, *, trusted: list[str], label: str = "the model file", model: str | None = None) -> Any:
    """The estimator in the skops bytes `data`, which may hold only skops' default types, types the
    loader's allow-list allows, and `trusted` (the types trusted for this model in the trust table;
    never the file's own list). `label` names the model in messages ("model 'credit' v3"), `model`
    the model's name in the command that would trust its types.

    Call only with bytes whose sha256 was checked against the registry.

    Raises:
        InvalidInput: the file holds a class or function defined in a notebook (`__main__`), which no
            other process can import; nothing is deserialised.
        PermissionDenied: the file holds types nobody trusted (named, with how to trust them);
            nothing is deserialised.
        NotFound: a trusted class or function cannot be imported here (named with its module).
    """
    sio = _skops_io()
    needed = sorted(sio.get_untrusted_types(data=data))
    beyond = allow_list.types_beyond(data, needed)
    allow_list.refuse_notebook_types(beyond, what=f"{label} cannot be loaded here")
    untrusted = sorted(set(beyond) - set(trusted))
    if untrusted:
        listed = ", ".join(untrusted)
        raise PermissionDenied(
            f"{label} holds types nobody trusted: {listed}; they are outside the loader's allow-list (scikit-learn, "
            "numpy, scipy, pandas, mlops_nb) and nothing was loaded. If this code is yours and safe, a proven "
            f"ml_engineer or admin can trust it: mlops.trust_types({model or '<model name>'!r}, {untrusted!r}, "
            "reason=...)")
    problem = allow_list.import_problem(data, set(needed) & set(trusted))
    if problem:
        raise NotFound(f"{label} needs a class or function that cannot be imported here: {problem}; install the "
                       "package that defines it (see the version's requirements) and load again")
    try:
        return sio.loads(data, trusted=needed)
    except (ImportError, AttributeError) as err:
        raise NotFound(f"{label} needs a class or function that cannot be imported here ({err}); install the "
                       "package that defines it (see the version's requirements), or register the model again "
                       "from a module this process can import") from err


def output_signature(model: Any, example: Any = None) -> dict[str, Any]:
    """What `model.predict` (and `predict_proba`, for a classifier) return: {"predict": {"dtype",
    "shape"}, "predict_proba": {...}, "classes": [...]}, shapes with -1 for the rows. Computed on
    `example` rows when given (predicting on them), else read from the fitted classes."""
    out: dict[str, Any] = {}
    classes = getattr(model, "classes_", None)
    if example is not None:
        predicted = model.predict(example)
        out["predict"] = {"dtype": str(predicted.dtype), "shape": [-1, *predicted.shape[1:]]}
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(example)
            out["predict_proba"] = {"dtype": str(proba.dtype), "shape": [-1, *proba.shape[1:]]}
    elif classes is not None:
        out["predict"] = {"dtype": str(getattr(classes, "dtype", "object")), "shape": [-1]}
        if hasattr(model, "predict_proba"):
            out["predict_proba"] = {"dtype": "float64", "shape": [-1, len(classes)]}
    elif hasattr(model, "predict"):
        out["predict"] = {"dtype": "float64", "shape": [-1]}
    if classes is not None:
        out["classes"] = [_plain(c) for c in classes]
    return out


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value (JSON can hold it); anything else as it is."""
    return value.item() if hasattr(value, "item") else value


def estimator_params(model: Any, *, limit: int = PARAM_TEXT_LIMIT) -> dict[str, str]:
    """The estimator's get_params(deep=True) as {name: text}, each text at most `limit` characters
    (longer ones end in "…"); nested estimators are left out (their own params are listed), and an
    object whose get_params fails gives {}."""
    try:
        params = model.get_params(deep=True)
    except Exception:  # an estimator-like object whose get_params needs arguments or fails
        return {}
    found: dict[str, str] = {}
    for key, value in params.items():
        if hasattr(value, "get_params") or (isinstance(value, (list, tuple)) and any(
                hasattr(v, "get_params") or (isinstance(v, tuple) and any(hasattr(x, "get_params") for x in v))
                for v in value)):
            continue
        text = value.__name__ if callable(value) and hasattr(value, "__name__") else str(value)
        found[str(key)[:MAX_NAME]] = text if len(text) <= limit else text[: limit - 1] + "…"
    return found
