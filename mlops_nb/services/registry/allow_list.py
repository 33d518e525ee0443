"""The loader's allow-list: which types a model file may make this process create without anyone's say.

SPEC §4: model files load only types the loader trusts: those of scikit-learn, numpy, scipy,
pandas and this package, and types a proven ml_engineer or admin trusted explicitly for that model
(services.registry.trust); a file's own list of types is never trusted. The rule, precisely. skops
already trusts its defaults (scikit-learn's estimators, numpy's ufuncs and arrays, builtins such as
dict and list); of the other names a file holds (skops' `get_untrusted_types`), the loader allows:

- a class whose module is `sklearn`, `numpy`, `scipy`, `pandas` or `mlops_nb` (or a submodule),
  found under exactly the name the file gives (so `sklearn.x.Popen`, an import of subprocess's
  class into a scikit-learn module, is not scikit-learn's), and only where skops rebuilds it
  without calling it: as an object (`cls.__new__` and its state: skops' ObjectNode) or as the
  class itself (TypeNode), or in the skops node written for that one class (TreeNode for
  `sklearn.tree._tree.Tree`, DTypeNode for `numpy.dtype`); and `builtins.object` as the class itself
  (`OneHotEncoder(dtype=object)`), which skops leaves out. A class named in a node that calls it
  with arguments from the file (ConstructorFromReduceNode, TupleNode, ...) is not allowed:
  `numpy.memmap(path, mode="w+")` would write a file;
- a function only where skops trusts it (numpy ufuncs such as `np.log1p`), or from the few modules
  of pure computations scikit-learn's own defaults use: univariate feature scores
  (`sklearn.feature_selection`'s `f_classif`, `chi2`, ...), `sklearn.metrics`, and the array-API
  shims of scipy and scikit-learn (`asarray`, used by SplineTransformer). `numpy.sum` and other
  numpy or scipy functions skops flags are not allowed; nor is `functools.partial`, a method, or
  any function of another module.

Names that no one may trust, not even an admin (NEVER_TRUSTED): anything from `builtins` beyond
skops' defaults (`builtins.eval`, `builtins.exec`, ...), `os`, `posix`, `subprocess`, `sys`,
`importlib`, `pickle`, `marshal`, `ctypes`, `shutil`, `socket` and the like: a model never needs
them, and a file holding them is an attack. A class or function defined in a notebook (`__main__`)
or inside a function (`<locals>`) cannot be imported by another process, so it is refused with
what to do (move it to an importable module, then trust it).

    beyond = types_beyond(data, sio.get_untrusted_types(data=data))   # [] for a plain pipeline
"""
from __future__ import annotations

import importlib
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any

from mlops_nb.services.errors import InvalidInput

ALLOWED_PACKAGES = ("sklearn", "numpy", "scipy", "pandas", "mlops_nb")
# Functions skops flags that the loader allows: pure computations scikit-learn's defaults use.
FUNCTION_MODULES = ("sklearn.feature_selection._univariate_selection", "sklearn.feature_selection._mutual_info",
                    "sklearn.metrics", "scipy._lib.array_api_compat", "sklearn.externals.array_api_compat")
CLASS_LOADERS = ("ObjectNode", "TypeNode")  # skops rebuilds these without calling the class
SPECIAL_LOADERS = {"TreeNode": ("sklearn.tree._tree.Tree",), "DTypeNode": ("numpy.dtype",)}
# Builtin classes skops leaves out but a model names as a value, never calling it: `dtype=object`.
BUILTIN_TYPES = ("builtins.object",)
NEVER_TRUSTED = ("builtins", "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "importlib", "runpy",
                 "code", "codeop", "pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "ctypes",
                 "shutil", "socket", "pty", "signal", "multiprocessing", "threading", "asyncio", "webbrowser",
                 "urllib", "http", "ftplib", "smtplib", "tempfile", "pathlib", "io", "operator", "gc", "inspect")
_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_VERDICTS: dict[tuple[str, str, str], bool] = {}  # (module, name, loader) -> allowed; a process-wide cache


def module_of(name: str) -> str:
    """The first part of a dotted type name: `os` for `os.system`."""
    return name.split(".", 1)[0]


def is_notebook_type(name: str) -> bool:
    """True for a class or function no other process can import: one defined in a notebook or script
    run as `__main__`, or inside a function (`<locals>`)."""
    return module_of(name) == "__main__" or "<locals>" in name or "<lambda>" in name


def notebook_hint(names: Sequence[str]) -> str:
    """What to do about classes or functions defined in a notebook, naming them."""
    one = len(names) == 1
    return (f"{', '.join(names)} {'is' if one else 'are'} defined in the notebook (__main__) or inside a function, "
            f"so no other process can import {'it' if one else 'them'} to load the model; move the class or "
            "function to a module the loading process can import (a .py file on its path or an installed "
            "package), fit again, and register with trust_types=[...] naming it, as a proven ml_engineer or admin")


def refuse_notebook_types(names: Sequence[str], *, what: str = "") -> None:
    """Nothing, unless some of `names` are defined in a notebook or inside a function
    (`is_notebook_type`); then InvalidInput naming them, after `what` ("the Pipeline cannot be
    registered") when given, with what to do (`notebook_hint`).

    Raises:
        InvalidInput: as above.
    """
    notebook = [n for n in names if is_notebook_type(n)]
    if notebook:
        raise InvalidInput(f"{what}: {notebook_hint(notebook)}" if what else notebook_hint(notebook))


def check_trustable(names: Iterable[str]) -> list[str]:
    """`names` as a sorted list without repeats, once each is a dotted name that someone may trust.

    Raises:
        InvalidInput: a name is not a dotted Python name (`package.module.Class`), is defined in a
            notebook (`__main__`), or belongs to a module nobody may trust (NEVER_TRUSTED: `os`,
            `builtins`, `subprocess`, ...).
    """
    if isinstance(names, str):
        raise InvalidInput(f"trust_types takes a list of type names, e.g. [{names!r}]; got the string {names!r}")
    found = sorted({str(n).strip() for n in names})
    if not found:
        raise InvalidInput("trust_types names no type; pass the names the refusal listed, e.g. ['mypkg.MyScaler']")
    refuse_notebook_types(found)
    bad = [n for n in found if not _DOTTED.match(n) or len(n) > 250]
    if bad:
        raise InvalidInput(f"not a type name: {', '.join(map(repr, bad))}; give the module and name, as the "
                           "refusal listed them, e.g. 'mypkg.transformers.MyScaler'")
    never = [n for n in found if module_of(n) in NEVER_TRUSTED]
    if never:
        raise InvalidInput(f"{', '.join(never)} can run commands or reach the system, and no one may trust "
                           f"{'it' if len(never) == 1 else 'them'} in a model file (modules never trusted: "
                           f"{', '.join(NEVER_TRUSTED)}); rebuild the model without {'it' if len(never) == 1 else 'them'}")
    return found


def schema_nodes(data: bytes) -> dict[str, set[str]]:
    """{type name: the skops loaders of the nodes naming it} for the skops file `data`.

    Raises:
        InvalidInput: `data` is not a skops file (no readable schema.json).
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            schema = json.loads(zf.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise InvalidInput(f"not a skops model file: {err}") from err
    found: dict[str, set[str]] = {}
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module, name, loader = node.get("__module__"), node.get("__class__"), node.get("__loader__")
            if isinstance(module, str) and isinstance(name, str):
                found.setdefault(f"{module}.{name}", set()).add(f"{module}\0{name}\0{loader}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _resolve(module: str, name: str) -> Any:
    """The object `module`.`name` names, imported only from an allowed package, and only when it is
    defined there under that very name; else None."""
    if module_of(module) not in ALLOWED_PACKAGES:
        return None
    try:
        obj: Any = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
    except Exception:  # noqa: BLE001 - a name that does not import is simply not allowed
        return None
    if getattr(obj, "__module__", None) != module or getattr(obj, "__qualname__", None) != name:
        return None  # an alias: e.g. a class imported from elsewhere into a scikit-learn module
    return obj


def import_problem(data: bytes, names: Iterable[str]) -> str | None:
    """None when every node of `data` naming one of `names` (types someone trusted) imports here; else
    what fails, naming the module and the class ("module 'mypkg' cannot be imported: ...").

    Imports the modules of those names: call only for names that are trusted.
    """
    nodes = schema_nodes(data)
    for full in sorted(set(names)):
        for entry in sorted(nodes.get(full, ())):
            module, name, _ = entry.split("\0")
            try:
                obj: Any = importlib.import_module(module)
            except Exception as err:  # noqa: BLE001 - any failure to import is reported, named
                return f"{name} of module {module!r}: the module cannot be imported ({type(err).__name__}: {err})"
            for part in name.split("."):
                if not hasattr(obj, part):
                    return f"{name}: module {module!r} has no {name!r}"
                obj = getattr(obj, part)
    return None


def allows(module: str, name: str, loader: str) -> bool:
    """True when the loader's allow-list lets skops rebuild `module`.`name` with node `loader` (see
    the module docstring for the rule)."""
    key = (module, name, loader)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        full = f"{module}.{name}"
        if loader == "TypeNode" and full in BUILTIN_TYPES:
            verdict = True
        elif loader in SPECIAL_LOADERS:
            verdict = full in SPECIAL_LOADERS[loader] and _resolve(module, name) is not None
        elif loader in CLASS_LOADERS:
            obj = _resolve(module, name)
            verdict = isinstance(obj, type)
        elif loader == "FunctionNode":
            obj = _resolve(module, name)
            verdict = (obj is not None and not isinstance(obj, type) and callable(obj)
                       and any(module == m or module.startswith(m + ".") for m in FUNCTION_MODULES))
        else:
            verdict = False
        _VERDICTS[key] = verdict
    return verdict


def types_beyond(data: bytes, untrusted: Sequence[str]) -> list[str]:
    """The names among `untrusted` (skops' `get_untrusted_types` of `data`) that the loader's
    allow-list does not allow, sorted: what someone must trust before the file may load.

    Raises:
        InvalidInput: `data` is not a skops file.
    """
    if not untrusted:
        return []
    nodes = schema_nodes(data)
    beyond = []
    for full in untrusted:
        seen = nodes.get(full)
        if not seen or not all(allows(*entry.split("\0")) for entry in seen):
            beyond.append(full)
    return sorted(beyond)
