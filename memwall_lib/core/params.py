"""Validating a notebook's papermill parameters.

Each notebook declares its parameters in a ``parameters`` cell; the first cell after it
calls :func:`check_parameters` with the notebook's namespace and its spec (a mapping of
name -> :class:`Param`, kept in the library next to the code that uses them). A mistyped
name (``papermill -p yaer_max 2025``), a wrong type, a value out of range or a missing
path stops the notebook at once with a message naming the parameter and what was expected.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .output import writable_folder
from .paths import resolve

# Names IPython puts in a kernel's namespace; never parameters.
_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "display"}


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type, out of range, or a bad path."""


@dataclass(frozen=True)
class Param:
    """The contract of one parameter.

    ``type``: one of bool, int, float, str, list (a list of ``item_type``, which may be dict).
    ``choices``: allowed values (for a list: allowed items). ``minimum``/``maximum``: bounds
    for numbers (or each item of a list of numbers). ``path``: "file"/"dir" must exist,
    "out_dir" is created if missing; relative paths are taken from the repository root.
    ``check``: an extra predicate with its ``check_message``. ``validate``: a function of the
    value and the parameter's name that raises a ValueError with one line, which may start
    with what it names (``"models[1]: ..."``; e.g. a model item that is neither a preset nor a
    readable config); the error reads ``parameter 'models[1]': ...``.
    """

    type: builtins.type
    help: str
    item_type: builtins.type | None = None
    choices: Sequence[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    path: str | None = None
    min_items: int = 0
    check: Callable[[Any], bool] | None = None
    check_message: str = ""
    validate: Callable[[Any, str], Any] | None = None

    def describe(self) -> str:
        t = self.type.__name__
        if self.type is list and self.item_type is not None:
            t = f"list of {self.item_type.__name__}"
        parts = [t]
        if self.choices is not None:
            parts.append(f"from {list(self.choices)}")
        if self.minimum is not None or self.maximum is not None:
            parts.append(f"in [{self.minimum}, {self.maximum}]")
        return " ".join(parts)


#: Largest seed numpy and torch take (2**32 - 1).
SEED_MAX = 2**32 - 1


#: Where a container's memory limit is read: cgroup v2 ``memory.max``, cgroup v1
#: ``memory/memory.limit_in_bytes``, under this folder.
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_memory_limit(root: Path | None = None) -> int | None:
    """The memory limit in bytes of the container this process runs in (cgroup v2, else v1,
    under ``root``, default :data:`CGROUP_ROOT`), or None when neither file is readable or it
    says there is no limit ("max")."""
    root = CGROUP_ROOT if root is None else root
    for rel in ("memory.max", "memory/memory.limit_in_bytes"):
        try:
            text = (root / rel).read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            return int(text)
        except ValueError:
            continue
    return None


def machine_memory_bytes(cgroup_root: Path | None = None) -> int:
    """Memory this process may use, in bytes: the smaller of the machine's physical memory
    (16 GiB if the OS does not say) and the container's limit (:func:`cgroup_memory_limit`)."""
    try:
        host = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        host = 16 * 2**30
    limit = cgroup_memory_limit(cgroup_root)
    return host if limit is None else min(host, limit)


def fits_in_memory(nbytes: float, fraction: float = 0.5) -> bool:
    """Whether an estimated ``nbytes`` stays within ``fraction`` of the memory this process may
    use (:func:`machine_memory_bytes`): a parameter relation that stops a run before it tries a
    200 GB allocation."""
    return nbytes <= fraction * machine_memory_bytes()


def _check_scalar(name: str, value: Any, typ: type, spec: Param) -> Any:
    if typ is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"parameter {name!r}: expected True or False, got {value!r}")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ParameterError(f"parameter {name!r}: expected an integer, got {value!r}")
    elif typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"parameter {name!r}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ParameterError(f"parameter {name!r}: expected a finite number, got {value!r}")
    elif typ is dict:
        if not isinstance(value, dict):
            raise ParameterError(f"parameter {name!r}: expected a mapping {{key: value}}, got {value!r}")
    elif typ is str:
        if not isinstance(value, str):
            raise ParameterError(f"parameter {name!r}: expected a string, got {value!r}")
        if spec.type is list and value.strip() == "":
            raise ParameterError(f"parameter {name!r}: expected a non-empty string, got {value!r}")
    if spec.choices is not None and value not in spec.choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in spec.choices], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ParameterError(f"parameter {name!r}: expected one of {list(spec.choices)}, got {value!r}{hint}")
    if typ in (int, float):
        if spec.minimum is not None and value < spec.minimum:
            raise ParameterError(f"parameter {name!r}: expected >= {spec.minimum}, got {value!r}")
        if spec.maximum is not None and value > spec.maximum:
            raise ParameterError(f"parameter {name!r}: expected <= {spec.maximum}, got {value!r}")
    return value


def _check_unique(name: str, items: Sequence[Any]) -> None:
    """Refuse a list parameter that names the same item twice."""
    seen: list[Any] = []
    for i, v in enumerate(items):
        if v in seen:
            raise ParameterError(f"parameter {name!r}: expected distinct items, got {v!r} twice (item {i})")
        seen.append(v)


def _check_one(name: str, value: Any, spec: Param) -> Any:
    if spec.type is list:
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            raise ParameterError(f"parameter {name!r}: expected a list ({spec.describe()}), got {value!r}")
        if len(value) < spec.min_items:
            raise ParameterError(f"parameter {name!r}: expected at least {spec.min_items} item(s), got {value!r}")
        item_type = spec.item_type or str
        value = [_check_scalar(f"{name}[{i}]", v, item_type, spec) for i, v in enumerate(value)]
        _check_unique(name, value)
    else:
        value = _check_scalar(name, value, spec.type, spec)
    if spec.path is not None:
        if spec.type is str and value.strip() == "":
            raise ParameterError(
                f"parameter {name!r}: expected a path, got an empty string (use '.' for the repository root)"
            )
        p = resolve(value)
        if spec.path == "file" and not p.is_file():
            raise ParameterError(f"parameter {name!r}: file {str(p)!r} does not exist")
        if spec.path == "dir" and not p.is_dir():
            raise ParameterError(f"parameter {name!r}: folder {str(p)!r} does not exist")
        if spec.path == "out_dir":
            try:
                writable_folder(value, repr(name))
            except ValueError as exc:
                raise ParameterError(f"parameter {exc}") from None
    if spec.check is not None and not spec.check(value):
        raise ParameterError(f"parameter {name!r}: {spec.check_message}, got {value!r}")
    if spec.validate is not None:
        try:
            spec.validate(value, name)
        except ValueError as exc:  # the validator's one line, which starts with what it names
            line = str(exc).splitlines()[0]
            head, sep, rest = line.partition(": ")
            if not (sep and head.startswith(name)):
                head, rest = name, line
            raise ParameterError(f"parameter {head!r}: {rest}") from None
    return value


#: Types a papermill parameter can have (papermill writes Python literals; a YAML ``!!set`` or
#: mapping given with -y arrives as a set or dict, which the check then refuses or reads by name).
_PARAMETER_TYPES = (bool, int, float, str, list, tuple, set, frozenset, dict, type(None))

#: The first line of a parameters cell: the notebook's own ("# Parameters (papermill overrides
#: these)...") and the cell papermill injects ("# Parameters") both start with it.
PARAMETERS_CELL_MARKER = "# Parameters"


def user_names(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter-like values in ``namespace``: names not starting with an underscore,
    bound to a bool, number, string, list, tuple, set, dict or None (papermill's literal types)."""
    return {
        k: v
        for k, v in namespace.items()
        if not k.startswith("_") and k not in _IPYTHON_NAMES and isinstance(v, _PARAMETER_TYPES)
    }


def assigned_names(source: str) -> set[str]:
    """Names bound at the top level of a cell's ``source`` (``a = 1``, ``a: int = 1``,
    ``a = b = 2``, ``a, b = 1, 2``); an empty set if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
        )
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name):
                    names.add(n.id)
    return names


def parameter_cell_names(namespace: Mapping[str, Any]) -> set[str] | None:
    """The names the parameters cells define, read from the kernel's input history.

    In a Jupyter kernel (JupyterLab, papermill) ``In`` lists the executed cells' sources; every
    cell that starts with :data:`PARAMETERS_CELL_MARKER` (the notebook's parameters cell and
    papermill's injected one) contributes the names it assigns. None outside a kernel, or when
    no such cell ran: then every parameter-like global is checked.
    """
    history = namespace.get("In")
    if not isinstance(history, list):
        return None
    cells = [src for src in history if isinstance(src, str) and src.lstrip().startswith(PARAMETERS_CELL_MARKER)]
    if not cells:
        return None
    return set().union(*(assigned_names(src) for src in cells))


#: A check across parameters for :func:`check_parameters`'s ``relations``: (predicate, message).
Relation = tuple[Callable[[dict[str, Any]], bool], str]
#: ``year_min`` comes before ``year_max`` (every figure with a year range).
YEAR_ORDER: Relation = (
    lambda p: p["year_min"] < p["year_max"],
    "parameters 'year_min' and 'year_max': expected year_min < year_max",
)
#: The year checks of a figure with a paper era and an extension (Figures 1 and 2).
YEAR_RANGE_RELATIONS: tuple[Relation, ...] = (
    YEAR_ORDER,
    (
        lambda p: p["extension_year_max"] > p["year_max"],
        "parameters 'extension_year_max' and 'year_max': expected extension_year_max > year_max",
    ),
)


def check_parameters(
    namespace: Mapping[str, Any],
    spec: Mapping[str, Param],
    relations: Sequence[Relation] = (),
) -> dict[str, Any]:
    """Validate the notebook's parameters; return them as a dict (for the sidecar).

    ``namespace`` is the notebook's ``globals()``. In a kernel, the names checked are those
    the parameters cells assign (:func:`parameter_cell_names`), so the check can be re-run at
    any time in JupyterLab, whatever later cells defined; elsewhere (a plain dict), every
    parameter-like name. Every checked name must be in ``spec`` and every name of ``spec``
    must be present. Path parameters come back as given (strings); use
    :func:`memwall_lib.core.paths.resolve` to turn them into paths. ``relations`` are checks
    across parameters: (predicate on the checked dict, message naming the parameters).
    """
    given = user_names(namespace)
    defined = parameter_cell_names(namespace)
    if defined is not None:
        given = {k: namespace[k] for k in defined if k in namespace}
    unknown = sorted(set(given) - set(spec))
    if unknown:
        msgs = []
        for u in unknown:
            close = difflib.get_close_matches(u, list(spec), n=1)
            msgs.append(f"{u!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ParameterError(f"unknown parameter(s) {', '.join(msgs)}; known: {sorted(spec)}")
    missing = sorted(set(spec) - set(given))
    if missing:
        raise ParameterError(f"missing parameter(s) {missing}: the parameters cell must define them")
    checked = {name: _check_one(name, given[name], p) for name, p in spec.items()}
    for predicate, message in relations:
        if not predicate(checked):
            raise ParameterError(message)
    return checked


def output_dir(value: str | Path) -> Path:
    """Resolve an output-folder parameter (relative to the repository root), create it and
    check that it can be written in (:func:`memwall_lib.core.output.writable_folder`)."""
    try:
        return writable_folder(value, "output_dir")
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
