"""Checking every notebook's parameters before any notebook runs (``python -m memwall_lib``).

``python -m memwall_lib --all -p year_max 2020`` must fail at once when a notebook does not
take ``year_max`` (not after two notebooks have rewritten their figures), and a bad value must
be named before minutes of work. :func:`check_run` takes each notebook's own defaults (its
parameters cell), applies the overrides, and runs the figure module's checks
(``PARAMETERS``, ``RELATIONS``), exactly as the notebook's check cell will, then checks that
``data_dir`` holds every file the figure reads (``DATA_FILES``).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core.params import PARAMETERS_CELL_MARKER, ParameterError, check_parameters
from ..core.paths import resolve
from ..figures import NOTEBOOK_MODULES, figure_module


def notebook_defaults(notebook: Path) -> dict[str, Any]:
    """The literal values the notebook's parameters cell assigns (names it cannot evaluate as
    literals are left out)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    source = next(
        (
            "".join(c["source"])
            for c in cells
            if c["cell_type"] == "code" and "".join(c["source"]).lstrip().startswith(PARAMETERS_CELL_MARKER)
        ),
        "",
    )
    out: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, SyntaxError):
                pass
    return out


def check_run(notebooks: Sequence[Path], overrides: Mapping[str, Any]) -> None:
    """Raise ParameterError naming the notebook when any of ``notebooks`` would reject
    ``overrides`` (an unknown name or a bad value); notebooks without a figure module are skipped."""
    for nb in notebooks:
        stem = Path(nb).stem
        if stem not in NOTEBOOK_MODULES:
            continue
        module = figure_module(stem)
        unknown = sorted(set(overrides) - set(module.PARAMETERS))
        if unknown:
            raise ParameterError(
                f"{stem}: unknown parameter(s) {unknown}; it takes {sorted(module.PARAMETERS)}"
                + ("" if len(notebooks) == 1 else "; run the notebooks that take them by name")
            )
        namespace = {**notebook_defaults(Path(nb)), **overrides}
        try:
            checked = check_parameters(namespace, module.PARAMETERS, module.RELATIONS)
        except ParameterError as exc:
            raise ParameterError(f"{stem}: {exc}") from None
        if "data_dir" in checked:
            check_data_files(stem, resolve(checked["data_dir"]), module.DATA_FILES)


def check_data_files(stem: str, data_dir: Path, files: Sequence[str]) -> None:
    """Raise ParameterError naming ``data_dir`` and the first of ``files`` (the figure's
    ``DATA_FILES``) that it lacks: every file a notebook reads comes from its ``data_dir``."""
    missing = [f for f in files if not (data_dir / f).is_file()]
    if missing:
        raise ParameterError(
            f"{stem}: parameter 'data_dir': folder {str(data_dir)!r} has no {', '.join(missing)} "
            f"(the notebook reads {', '.join(files)} from it)"
        )
