"""scikit-learn autologging: patch every estimator's `fit` so a fit records what it was and how it did.

`patch(sink)` replaces `fit` on every class of `sklearn.utils.all_estimators()` (Pipeline included)
with a wrapper; `unpatch()` puts the originals back. Only the outermost fit is recorded: a
Pipeline's steps, a search's candidates or a forest's trees fit inside it and are skipped, by a
thread-local depth counter plus a process-wide one (joblib's threading backend fits inner estimators
on other threads). A fit that starts while another recorded fit runs in any thread is therefore
treated as nested.

What is recorded comes from the estimator alone (`estimator_params`, `training_metrics`,
`estimator_tags`); where it goes is the sink's business (the Python API's active run), so this
module imports neither IPython nor the API. Recording never breaks the user's fit: a failure
becomes a warning.
"""
from __future__ import annotations

import threading
import warnings
from collections.abc import Mapping
from typing import Any, Protocol

from mlops_nb.services.values import MAX_NAME, MAX_PARAM_VALUE, value_text

TRUNCATED = "…"


class AutologWarning(UserWarning):
    """Autologging could not record something; the fit itself went through."""


class Sink(Protocol):
    """Where a recorded fit goes. `begin` returns a token handed back to `end`."""

    def begin(self, estimator: Any) -> Any:
        """A fit of `estimator` starts; returns a token handed back to `end`."""
        ...

    def record(self, *, estimator: Any, params: dict[str, str], metrics: dict[str, float],
               tags: dict[str, str]) -> None:
        """The fit succeeded: its params (text), training metrics (floats) and tags (text)."""
        ...

    def end(self, token: Any, *, error: BaseException | None) -> None:
        """The fit ended, raising `error` (None: it returned); `token` is what `begin` returned.
        A run of its own ends as `runs.ending_status(error)` says (an interrupt is killed)."""
        ...


# --- what a fit records ------------------------------------------------------------------------

def _is_estimator(value: Any) -> bool:
    return hasattr(value, "get_params") and hasattr(value, "fit") and not isinstance(value, type)


def _plain(value: Any) -> Any:
    """Estimators as their class name (recursively inside lists, tuples and dicts), callables by name."""
    if _is_estimator(value):
        return type(value).__name__
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, type) or callable(value):
        return getattr(value, "__qualname__", None) or getattr(value, "__name__", None) or repr(value)
    return value


def param_value(value: Any) -> str:
    """A param as stored (str, lists/dicts as JSON), cut to the 6,000-character limit."""
    text = value_text(_plain(value)).replace("\x00", "")
    if len(text) > MAX_PARAM_VALUE:
        text = text[:MAX_PARAM_VALUE - len(TRUNCATED)] + TRUNCATED
    return text


def estimator_params(estimator: Any) -> dict[str, str]:
    """`get_params(deep=True)`, stringified; keys over 250 characters are left out."""
    try:
        raw = estimator.get_params(deep=True)
    except Exception:  # noqa: BLE001 - a third-party estimator with a broken get_params
        raw = estimator.get_params(deep=False)
    return {key: param_value(value) for key, value in raw.items() if 0 < len(str(key)) <= MAX_NAME}


def _floats(metrics: dict[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def training_metrics(estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> dict[str, float]:
    """Scores on the training data: training_score, and for classifiers training_accuracy (and
    training_roc_auc when binary with predict_proba), for regressors training_r2 and training_mse."""
    if y is None or X is None:
        return {}
    from sklearn.base import is_classifier, is_regressor

    metrics: dict[str, Any] = {}
    weights = {"sample_weight": sample_weight} if sample_weight is not None else {}
    if hasattr(estimator, "score"):
        try:
            metrics["training_score"] = estimator.score(X, y, **weights)
        except TypeError:
            metrics["training_score"] = estimator.score(X, y)
    if is_classifier(estimator) and hasattr(estimator, "predict"):
        from sklearn.metrics import accuracy_score, roc_auc_score

        metrics["training_accuracy"] = accuracy_score(y, estimator.predict(X), **weights)
        classes = getattr(estimator, "classes_", None)
        if classes is not None and len(classes) == 2 and hasattr(estimator, "predict_proba"):
            metrics["training_roc_auc"] = roc_auc_score(y, estimator.predict_proba(X)[:, 1], **weights)
    elif is_regressor(estimator) and hasattr(estimator, "predict"):
        from sklearn.metrics import mean_squared_error, r2_score

        predicted = estimator.predict(X)
        metrics["training_r2"] = r2_score(y, predicted, **weights)
        metrics["training_mse"] = mean_squared_error(y, predicted, **weights)
    return _floats(metrics)


def estimator_tags(estimator: Any) -> dict[str, str]:
    """The estimator's class as tags: `estimator_class` (module and qualified name), `estimator_name`."""
    cls = type(estimator)
    return {"estimator_class": f"{cls.__module__}.{cls.__qualname__}", "estimator_name": cls.__name__}


# --- the patch -----------------------------------------------------------------------------------

_local = threading.local()
_global_lock = threading.Lock()
_global_depth = 0
_patched: list[tuple[type[Any], bool, Any]] = []  # (class, had its own fit, the original attribute)
_sink: Sink | None = None


def _depth() -> int:
    return getattr(_local, "depth", 0)


def _enter() -> bool:
    """Count one fit in; True when it is the outermost, in this thread and in the process."""
    global _global_depth
    outermost = _depth() == 0
    _local.depth = _depth() + 1
    with _global_lock:
        outermost = outermost and _global_depth == 0
        _global_depth += 1
    return outermost


def _leave() -> None:
    global _global_depth
    _local.depth = _depth() - 1
    with _global_lock:
        _global_depth -= 1


def _warn(what: str, err: BaseException) -> None:
    warnings.warn(f"mlops autolog could not {what}: {type(err).__name__}: {err}", AutologWarning, stacklevel=3)


def _fit_arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y", kwargs.get("Y"))
    return X, y, kwargs.get("sample_weight")


def _wrap(original: Any) -> Any:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = original.__get__(self, type(self))
        outermost = _enter()
        try:
            sink = _sink
            if not outermost or sink is None:
                return bound(*args, **kwargs)
            return _recorded_fit(sink, self, bound, args, kwargs)
        finally:
            _leave()

    wrapper: Any = fit  # a function object: it takes the attributes below
    wrapper.__mlops_autolog_original__ = original
    wrapper.__wrapped__ = getattr(original, "__func__", original)
    wrapper.__doc__ = getattr(original, "__doc__", None)
    wrapper.__qualname__ = getattr(original, "__qualname__", "fit")
    return wrapper


def _recorded_fit(sink: Sink, estimator: Any, bound: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    try:
        token = sink.begin(estimator)
    except Exception as err:  # noqa: BLE001 - recording must never stop the fit
        _warn("start a run", err)
        return bound(*args, **kwargs)
    try:
        result = bound(*args, **kwargs)
    except BaseException as err:
        _end(sink, token, error=err)
        raise
    _record(sink, estimator, args, kwargs)
    _end(sink, token, error=None)
    return result


def _record(sink: Sink, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    params: dict[str, str] = {}
    metrics: dict[str, float] = {}
    try:
        params = estimator_params(estimator)
    except Exception as err:  # noqa: BLE001
        _warn(f"read the params of {type(estimator).__name__}", err)
    try:
        X, y, weights = _fit_arguments(args, kwargs)
        metrics = training_metrics(estimator, X, y, weights)
    except Exception as err:  # noqa: BLE001
        _warn(f"score {type(estimator).__name__} on its training data", err)
    try:
        sink.record(estimator=estimator, params=params, metrics=metrics, tags=estimator_tags(estimator))
    except Exception as err:  # noqa: BLE001
        _warn(f"log the fit of {type(estimator).__name__}", err)


def _end(sink: Sink, token: Any, *, error: BaseException | None) -> None:
    try:
        sink.end(token, error=error)
    except Exception as err:  # noqa: BLE001
        _warn("end the run", err)


def estimator_classes() -> list[type[Any]]:
    """Every scikit-learn estimator class, Pipeline included."""
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = [cls for _, cls in all_estimators()]
    if Pipeline not in classes:
        classes.append(Pipeline)
    return classes


def _static_fit(cls: type[Any]) -> Any:
    for klass in cls.__mro__:
        if "fit" in klass.__dict__:
            return klass.__dict__["fit"]
    return None


def patch(sink: Sink) -> int:
    """Record fits into `sink` from now on (again: the sink is replaced); returns the classes patched."""
    global _sink
    _sink = sink
    if _patched:
        return len(_patched)
    for cls in estimator_classes():
        found = _static_fit(cls)
        if found is None:
            continue
        original = getattr(found, "__mlops_autolog_original__", found)
        own = "fit" in cls.__dict__
        _patched.append((cls, own, cls.__dict__.get("fit")))
        cls.fit = _wrap(original)
    return len(_patched)


def unpatch() -> None:
    """Put every original `fit` back."""
    global _sink
    _sink = None
    while _patched:
        cls, own, attribute = _patched.pop()
        if own:
            cls.fit = attribute
        else:
            delattr(cls, "fit")


def is_patched() -> bool:
    """Whether scikit-learn's `fit` methods are patched now."""
    return bool(_patched)
