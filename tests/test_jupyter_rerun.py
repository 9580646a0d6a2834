"""The parameter check re-runs in a live kernel, as in JupyterLab: after a user ran the notebook
and defined names of their own (``x = 5``), re-running the check cell still passes, because it
checks only the names the parameters cells assign (``core.params.parameter_cell_names`` reads
them from the kernel's ``In`` history); a mistyped name in a new parameters cell is still caught.

Each test starts a kernel with jupyter_client (the notebook's kernel, working directory
``notebooks/``), runs the parameters cell, then a cell setting ``output_dir`` to a temporary
folder (starting with "# Parameters", like the cell papermill injects), then the rest. 01, 02,
04 and 06 run whole (seconds each); 03 and 05 measure for minutes, so only their parameters and
check cells run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.figures import NOTEBOOK_MODULES
from memwall_lib.run.runner import kernel_name

pytestmark = pytest.mark.notebook

#: Notebooks run whole, and a parameter to mistype in each (with the name it should suggest).
WHOLE = {
    "01_hardware_scaling": ("yaer_max = 2020", "year_max"),
    "02_model_growth": ("yaer_max = 2020", "year_max"),
    "04_training_memory": ("precison = 'fp32'", "precision"),
    "06_memory_wall_by_accelerator": ("contex_len = 512", "context_len"),
}
#: Notebooks whose check cell alone is re-run (the rest measures for minutes).
CHECK_ONLY = {
    "03_transformer_profiling": ("repeat = 3", "repeats"),
    "05_rematerialization": ("timing_repeat = 1", "timing_repeats"),
}
#: Extra parameters that keep a whole run short (04: one small real cross-check, not three).
QUICK = {"04_training_memory": {"cross_check_models": ["alexnet"]}}
TIMEOUT = 300


class Kernel:
    """A live kernel; :meth:`run` executes a cell and returns the error (ename, evalue) or None."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def run(self, code: str, timeout: float = TIMEOUT) -> tuple[str, str] | None:
        reply = self.client.execute_interactive(code, store_history=True, timeout=timeout, output_hook=lambda msg: None)
        content = reply["content"]
        if content["status"] == "error":
            return content["ename"], content["evalue"]
        assert content["status"] == "ok", content
        return None

    def ok(self, code: str, what: str) -> None:
        error = self.run(code)
        assert error is None, f"{what} failed: {error[0]}: {error[1]}\n--- cell ---\n{code}"


@pytest.fixture
def kernel() -> Iterator[Kernel]:
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=kernel_name())
    km.start_kernel(cwd=str(NOTEBOOKS_DIR))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        yield Kernel(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def code_cells(name: str) -> list[str]:
    cells = json.loads((NOTEBOOKS_DIR / f"{name}.ipynb").read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def parameters_cell(values: dict[str, Any]) -> str:
    """A cell like the one papermill injects: '# Parameters', then one assignment per line."""
    return "# Parameters\n" + "".join(f"{k} = {v!r}\n" for k, v in values.items())


def _start(kernel: Kernel, name: str, out: Path) -> tuple[list[str], str]:
    """Run the parameters cell and the injected one; return the code cells and the check cell."""
    cells = code_cells(name)
    params, check = cells[0], cells[1]
    assert params.startswith("# Parameters"), f"{name}: the parameters cell must start with '# Parameters'"
    assert "check_parameters(globals()" in check, f"{name}: the second code cell must check the parameters"
    kernel.ok(params, "the parameters cell")
    kernel.ok(parameters_cell({"output_dir": str(out), **QUICK.get(name, {})}), "the injected parameters cell")
    return cells, check


def _rerun_then_mistype(kernel: Kernel, check: str, typo: str, suggestion: str) -> None:
    kernel.ok("x = 5", "a user's cell")
    kernel.ok("claims_seen = [1, 2]", "a user's cell")
    kernel.ok(check, "re-running the check cell after the user's own cells")
    kernel.ok(f"# Parameters\n{typo}", "a parameters cell with a typo (executing it)")
    error = kernel.run(check)
    assert error is not None, f"the check cell accepted the mistyped parameter: {typo}"
    assert error[0] == "ParameterError", error
    assert "did you mean" in error[1] and repr(suggestion) in error[1], error


def test_the_notebooks_are_covered() -> None:
    assert set(WHOLE) | set(CHECK_ONLY) == set(NOTEBOOK_MODULES)


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_check_cell_reruns_after_a_whole_run(kernel: Kernel, name: str, tmp_path: Path) -> None:
    cells, check = _start(kernel, name, tmp_path)
    for i, cell in enumerate(cells[1:], start=1):
        kernel.ok(cell, f"{name} code cell {i}")
    written = sorted(p.name for p in tmp_path.glob("*.json"))
    assert written, f"{name} wrote no sidecar into the injected output_dir"
    typo, suggestion = WHOLE[name]
    _rerun_then_mistype(kernel, check, typo, suggestion)


@pytest.mark.parametrize("name", sorted(CHECK_ONLY))
def test_check_cell_reruns(kernel: Kernel, name: str, tmp_path: Path) -> None:
    _, check = _start(kernel, name, tmp_path)
    kernel.ok(check, f"{name}'s check cell")
    typo, suggestion = CHECK_ONLY[name]
    _rerun_then_mistype(kernel, check, typo, suggestion)
