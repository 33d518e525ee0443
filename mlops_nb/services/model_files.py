"""Model files in skops format: a safe alternative to pickle that names every type it would create.

At registration we record the types skops does not trust by default (`get_untrusted_types`); at
load we trust exactly those and nothing more. That is safe because the registry checks the file's
sha256 before this module sees a byte, and a file holding any other type is refused.

scikit-learn and skops are imported here, inside functions, so `import mlops_nb` stays light.
"""
from __future__ import annotations

from typing import Any

from mlops_nb.services.errors import IntegrityFailure, InvalidInput

FLAVOR = "sklearn-skops"


def check_estimator(model: Any) -> None:
    """A fitted scikit-learn estimator or pipeline (or an object following its API), else InvalidInput."""
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
    """(skops bytes, the types in them that skops does not trust by default)."""
    import skops.io as sio

    check_estimator(model)
    try:
        data = sio.dumps(model)
    except Exception as err:  # skops refuses what it cannot represent safely (lambdas, open files, ...)
        raise InvalidInput(f"the {type(model).__name__} cannot be saved in skops format: {err}") from err
    return data, sorted(sio.get_untrusted_types(data=data))


def load(data: bytes, *, trusted: list[str]) -> Any:
    """The estimator in `data`, which must hold no type beyond skops' defaults and `trusted`.

    Call only with bytes whose sha256 was checked against the registry.
    """
    import skops.io as sio

    unexpected = sorted(set(sio.get_untrusted_types(data=data)) - set(trusted))
    if unexpected:
        raise IntegrityFailure(f"the model file holds types that were not recorded at registration: "
                               f"{', '.join(unexpected)}; refusing to load it")
    return sio.loads(data, trusted=list(trusted))


def output_signature(model: Any, example: Any = None) -> dict[str, Any]:
    """What predict (and predict_proba, for a classifier) return: dtype, shape and the classes."""
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
    return value.item() if hasattr(value, "item") else value


def estimator_params(model: Any, *, limit: int = 250) -> dict[str, str]:
    """The estimator's get_params as text (nested estimators left out: their own params are listed)."""
    try:
        params = model.get_params(deep=True)
    except Exception:  # an estimator-like object whose get_params needs arguments or fails
        return {}
    found = {}
    for key, value in params.items():
        if hasattr(value, "get_params") or (isinstance(value, (list, tuple)) and any(
                hasattr(v, "get_params") or (isinstance(v, tuple) and any(hasattr(x, "get_params") for x in v))
                for v in value)):
            continue
        text = value.__name__ if callable(value) and hasattr(value, "__name__") else str(value)
        found[str(key)[:250]] = text if len(text) <= limit else text[: limit - 1] + "…"
    return found
