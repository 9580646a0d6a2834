"""What a user sees (issue 21): every bad input is one clear line before any work, naming the
parameter and what was expected; the notebooks' parameters cells and the commands their text
shows work as written."""

from __future__ import annotations

import importlib
import json
import logging
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core import params
from memwall_lib.core.params import ParameterError
from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.figures import NOTEBOOK_MODULES
from memwall_lib.run import runner
from memwall_lib.run.preflight import check_run, notebook_defaults

NB = {stem: NOTEBOOKS_DIR / f"{stem}.ipynb" for stem in NOTEBOOK_MODULES}


def _module(stem: str) -> Any:
    return importlib.import_module(f"memwall_lib.figures.{NOTEBOOK_MODULES[stem]}")


def _check(stem: str, **overrides: Any) -> dict[str, Any]:
    module = _module(stem)
    return params.check_parameters({**notebook_defaults(NB[stem]), **overrides}, module.PARAMETERS, module.RELATIONS)


# --------------------------------------------------------------------------- NaN and infinity
@pytest.mark.parametrize(
    "stem, name, value, match",
    [
        ("05_rematerialization", "compile_budgets", [float("nan")], r"'compile_budgets\[0\]': expected a finite"),
        ("05_rematerialization", "compile_budgets", [0.5, float("inf")], r"'compile_budgets\[1\]': expected a fin"),
        ("05_rematerialization", "max_overhead", float("nan"), r"'max_overhead': expected a finite number, got nan"),
        ("02_model_growth", "memory_divisor", float("inf"), r"'memory_divisor': expected a finite number, got inf"),
        ("02_model_growth", "memory_divisor", float("nan"), r"'memory_divisor': expected a finite number, got nan"),
        ("01_hardware_scaling", "year_max", float("nan"), r"'year_max': expected an integer, got nan"),
        ("06_memory_wall_by_accelerator", "batch_sizes", [1, float("inf")], r"'batch_sizes\[1\]': expected an int"),
    ],
)
def test_nan_and_infinity_are_refused_where_a_number_is_expected(stem: str, name: str, value: Any, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        _check(stem, **{name: value})


def test_infinity_on_the_command_line_is_one_line_before_any_work(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(runner, "run_notebook", lambda p, *a, **k: ran.append(p))
    rc = runner.main([str(NB["05_rematerialization"]), "-p", "max_overhead", "1e999"], preflight=check_run)
    err = capsys.readouterr().err
    assert rc == 2 and ran == []
    assert err.strip() == "error: 05_rematerialization: parameter 'max_overhead': expected a finite number, got inf"


# --------------------------------------------------------------------------- duplicate items
@pytest.mark.parametrize(
    "stem, name, value, twice",
    [
        ("01_hardware_scaling", "interconnect_families", ["pcie", "nvlink", "pcie"], "'pcie'"),
        ("02_model_growth", "fit_families", ["transformer", "transformer"], "'transformer'"),
        ("05_rematerialization", "chains", ["gpt2", "gpt2"], "'gpt2'"),
        ("05_rematerialization", "every_k", [2, 4, 2], "2"),
        ("05_rematerialization", "compile_budgets", [0.5, 0.5], "0.5"),
        ("04_training_memory", "batch_sizes", [8, 8], "8"),
        ("04_training_memory", "models", ["alexnet", "alexnet"], "'alexnet'"),
        ("06_memory_wall_by_accelerator", "batch_sizes", [1, 8, 8.0], "8"),
        ("06_memory_wall_by_accelerator", "models", ["gpt2", "gpt2"], "'gpt2'"),
    ],
)
def test_duplicate_list_items_are_refused(stem: str, name: str, value: list[Any], twice: str) -> None:
    with pytest.raises(ParameterError, match=rf"parameter '{name}': expected distinct items, got {twice} twice"):
        _check(stem, **{name: value})


def _list_parameters() -> list[tuple[str, str]]:
    return [
        (stem, name)
        for stem in NB
        for name, spec in _module(stem).PARAMETERS.items()
        if spec.type is list and notebook_defaults(NB[stem]).get(name)
    ]


@pytest.mark.parametrize("stem, name", _list_parameters())
def test_every_list_parameter_refuses_a_repeated_default_item(stem: str, name: str) -> None:
    default = notebook_defaults(NB[stem])[name]
    with pytest.raises(ParameterError, match=rf"parameter '{name}': expected distinct items"):
        _check(stem, **{name: [*default, default[0]]})


# --------------------------------------------------------------------------- output_dir
def test_an_output_dir_name_over_255_bytes_is_one_line_naming_output_dir(tmp_path: Path) -> None:
    long = tmp_path / ("a" * 256) / "figures"
    with pytest.raises(ParameterError, match=r"^parameter 'output_dir': .*name component.*over 255 bytes"):
        _check("06_memory_wall_by_accelerator", output_dir=str(long))
    with pytest.raises(ParameterError, match=r"^output_dir: .*over 255 bytes"):
        params.output_dir(tmp_path / ("é" * 128))  # 256 bytes in UTF-8


def test_an_output_dir_name_over_255_bytes_fails_before_running(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[Path] = []
    monkeypatch.setattr(runner, "run_notebook", lambda p, *a, **k: ran.append(p))
    nb = str(NB["06_memory_wall_by_accelerator"])
    rc = runner.main([nb, "-p", "output_dir", str(tmp_path / ("x" * 300))], preflight=check_run)
    err = capsys.readouterr().err
    assert rc == 2 and ran == [] and len(err.strip().splitlines()) == 1
    assert "parameter 'output_dir'" in err and "Traceback" not in err


# --------------------------------------------------------------------------- memory limits
def _cgroup(root: Path, rel: str, text: str) -> Path:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_text(text)
    return root


def test_cgroup_v2_limit_is_read(tmp_path: Path) -> None:
    assert params.cgroup_memory_limit(_cgroup(tmp_path, "memory.max", "1073741824\n")) == 2**30


def test_cgroup_v2_max_means_no_limit(tmp_path: Path) -> None:
    root = _cgroup(tmp_path, "memory.max", "max\n")
    assert params.cgroup_memory_limit(root) is None
    assert params.machine_memory_bytes(root) == params.machine_memory_bytes(tmp_path / "none")


def test_cgroup_v1_limit_is_read(tmp_path: Path) -> None:
    assert params.cgroup_memory_limit(_cgroup(tmp_path, "memory/memory.limit_in_bytes", "536870912\n")) == 2**29


def test_no_cgroup_files_means_no_limit(tmp_path: Path) -> None:
    assert params.cgroup_memory_limit(tmp_path) is None
    assert params.cgroup_memory_limit(_cgroup(tmp_path, "memory.max", "garbage")) is None


def test_machine_memory_is_the_smaller_of_ram_and_the_container_limit(tmp_path: Path) -> None:
    host = params.machine_memory_bytes(tmp_path / "none")
    assert params.machine_memory_bytes(_cgroup(tmp_path / "small", "memory.max", "1000000")) == 1000000
    huge = _cgroup(tmp_path / "v1", "memory/memory.limit_in_bytes", "9223372036854771712")  # v1's "no limit"
    assert params.machine_memory_bytes(huge) == host


def test_a_container_limit_stops_a_run_naming_the_parameters_that_size_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _cgroup(tmp_path, "memory.max", str(2 * 10**9))  # 2 GB container: half is 1 GB
    monkeypatch.setattr(params, "CGROUP_ROOT", root)
    with pytest.raises(ParameterError, match=r"'resnet_batch_size': the ResNet-152 run would need more than half"):
        _check("05_rematerialization", chains=["resnet152"], resnet_batch_size=8, resnet_image_size=224)
    monkeypatch.setattr(params, "CGROUP_ROOT", _cgroup(tmp_path / "big", "memory.max", str(2**50)))
    if params.machine_memory_bytes() > 8 * 10**9:  # the same run fits a machine of more than 8 GB
        _check("05_rematerialization", chains=["resnet152"], resnet_batch_size=8, resnet_image_size=224)


# --------------------------------------------------------------------------- papermill's view of the notebooks
@pytest.mark.parametrize("stem", list(NB))
def test_papermill_reads_every_parameter_of_every_notebook(stem: str, caplog: pytest.LogCaptureFixture) -> None:
    papermill = pytest.importorskip("papermill")
    with caplog.at_level(logging.WARNING):
        inferred = papermill.inspect_notebook(str(NB[stem]))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert list(inferred) == list(_module(stem).PARAMETERS)


# --------------------------------------------------------------------------- the commands the text shows
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
_COMMAND = re.compile(r"^(?:\S*/)?(?:papermill|python3? -m memwall_lib)\s")


def _shown_commands(markdown: str, inline: bool = True) -> list[str]:
    """The ``papermill ...`` and ``python -m memwall_lib ...`` commands in a markdown text:
    lines of fenced blocks and (``inline``) inline code spans."""
    lines = [line for block in _FENCE.findall(markdown) for line in block.splitlines()]
    spans = re.findall(r"`([^`\n]+)`", _FENCE.sub("", markdown)) if inline else []
    return [c.strip() for c in lines + spans if _COMMAND.match(c.strip())]


def _documented_commands() -> list[tuple[str, str]]:
    readme = (NOTEBOOKS_DIR.parent / "README.md").read_text()
    out = [("README.md", c) for c in _shown_commands(readme, inline=False)]  # its inline spans are placeholders
    for stem, path in NB.items():
        cells = json.loads(path.read_text())["cells"]
        md = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        out += [(stem, c) for c in _shown_commands(md)]
    return out


def _parse_command(command: str) -> tuple[list[Path], dict[str, Any]]:
    """Notebooks and parameter overrides of a shown command: ``-p`` and ``-y`` as the runner
    reads them (:func:`memwall_lib.run.runner.parse_parameters`), ``-r`` as strings."""
    words = shlex.split(command)
    words = words[words.index("memwall_lib") + 1 :] if "memwall_lib" in words else words[1:]
    notebooks: list[Path] = []
    pairs: list[list[str]] = []
    yaml_texts: list[str] = []
    raw: dict[str, Any] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("-p", "-r"):
            if w == "-p":
                pairs.append([words[i + 1], words[i + 2]])
            else:
                raw[words[i + 1]] = words[i + 2]
            i += 3
            continue
        if w == "-y":
            yaml_texts.append(words[i + 1])
            i += 2
            continue
        if w == "--all":
            notebooks += list(NB.values())
        elif w.endswith(".ipynb") and Path(w).stem in NB:
            notebooks.append(NB[Path(w).stem])
        i += 1
    return notebooks, {**runner.parse_parameters(pairs, yaml_texts), **raw}


def test_the_text_shows_commands() -> None:
    shown = {where for where, _ in _documented_commands()}
    assert {"README.md", "01_hardware_scaling"} <= shown


@pytest.mark.parametrize("where, command", _documented_commands())
def test_every_command_the_text_shows_passes_the_parameter_check(where: str, command: str, tmp_path: Path) -> None:
    notebooks, overrides = _parse_command(command)
    assert notebooks, f"{where}: no notebook in {command!r}"
    if "output_dir" in overrides:  # checked, but in a temporary folder: the test creates nothing in the repository
        overrides["output_dir"] = str(tmp_path / Path(overrides["output_dir"]).name)
    check_run(notebooks, overrides)
