"""One data folder (issue 22, part 2): every file a notebook reads comes from its ``data_dir``,
``authors_plotted.csv`` included (Figures 1 and 2 fit the authors' points from it), and a
file missing from ``data_dir`` is one line naming the folder and the file, before any work."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core import params
from memwall_lib.core.params import ParameterError
from memwall_lib.core.paths import DATA_DIR, NOTEBOOKS_DIR
from memwall_lib.core.schema import DataValidationError
from memwall_lib.figures import NOTEBOOK_MODULES, fig1_hardware, fig2_model_growth, figure_module
from memwall_lib.run.preflight import check_run, notebook_defaults

NB = {stem: NOTEBOOKS_DIR / f"{stem}.ipynb" for stem in NOTEBOOK_MODULES}
FIGURES = {"01_hardware_scaling": fig1_hardware, "02_model_growth": fig2_model_growth}
QUICK = {"02_model_growth": {"bootstrap_resamples": 100, "extension": False}, "01_hardware_scaling": {}}


def _params(stem: str, data_dir: Path) -> dict[str, Any]:
    module = FIGURES[stem]
    namespace = {**notebook_defaults(NB[stem]), **QUICK[stem], "data_dir": str(data_dir)}
    return params.check_parameters(namespace, module.PARAMETERS, module.RELATIONS)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(DATA_DIR, folder, ignore=shutil.ignore_patterns("*.md", "authors"))
    return folder


def _scale_markers(path: Path, figure: str, series: str, factor: float) -> None:
    """Every marker of ``figure``'s ``series`` in ``authors_plotted.csv`` times ``factor``,
    growing with the date (a steeper line)."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    head = rows[0]
    hits = [r for r in rows[1:] if r[head.index("figure")] == figure and r[head.index("series")] == series]
    for i, r in enumerate(sorted(hits, key=lambda r: r[head.index("date")])):
        r[head.index("value")] = f"{float(r[head.index('value')]) * factor**i:.7g}"
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.mark.parametrize(
    "stem, figure, series, claim",
    [
        ("01_hardware_scaling", "fig1", "dram_bandwidth", "fig1.dram.per_2yr"),
        ("02_model_growth", "fig2a", "transformer", "fig2a.transformer_size.per_2yr"),
    ],
)
def test_the_authors_points_come_from_data_dir(
    stem: str, figure: str, series: str, claim: str, data_copy: Path
) -> None:
    module = FIGURES[stem]
    before = module.analyse(_params(stem, data_copy)).authors_values[claim]
    _scale_markers(data_copy / "authors_plotted.csv", figure, series, 1.5)
    result = module.analyse(_params(stem, data_copy))
    assert result.authors_values[claim] > 1.2 * before
    claims = [c for cs in module.claims(result).values() for c in cs if c.id == claim]
    assert claims and claims[0].authors_points == pytest.approx(result.authors_values[claim])


@pytest.mark.parametrize("stem", sorted(FIGURES))
def test_a_missing_authors_plotted_csv_is_one_line_naming_the_folder(stem: str, data_copy: Path) -> None:
    checked = _params(stem, data_copy)
    (data_copy / "authors_plotted.csv").unlink()
    with pytest.raises(DataValidationError) as info:
        FIGURES[stem].analyse(checked)
    message = str(info.value)
    assert "\n" not in message
    assert f"{data_copy / 'authors_plotted.csv'}: file not found" in message and str(data_copy) in message


@pytest.mark.parametrize("stem", sorted(s for s in NOTEBOOK_MODULES if "data_dir" in figure_module(s).PARAMETERS))
def test_the_run_refuses_a_data_dir_without_a_file_the_notebook_reads(stem: str, data_copy: Path) -> None:
    module = figure_module(stem)
    check_run([NB[stem]], {"data_dir": str(data_copy)})  # a full copy passes
    gone = module.DATA_FILES[-1]
    (data_copy / gone).unlink()
    with pytest.raises(ParameterError) as info:
        check_run([NB[stem]], {"data_dir": str(data_copy)})
    message = str(info.value)
    assert message.startswith(f"{stem}: parameter 'data_dir': folder {str(data_copy)!r} has no {gone}"), message
    assert "\n" not in message
