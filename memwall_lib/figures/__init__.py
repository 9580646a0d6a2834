"""One package per figure. Its ``__init__`` holds the figure's API, the same in each:

- ``PARAMETERS`` / ``RELATIONS``: the notebook's papermill parameters and their checks;
- ``DATA_FILES``: the files of ``data/`` it reads; ``OUTPUTS``: the figure names it writes;
  ``TIMED``: whether the notebook times things on this machine (``make`` runs it alone);
- ``Result`` and ``analyse(params) -> Result``; ``claims(result)``, ``sidecar(result)`` and
  ``plot(result)``, each a mapping from output name to that figure's claims, sidecar data and
  matplotlib figure.

The ``__init__`` holds exactly that (a test checks it).

=====================  ==================================================  ===========================
module                 figure                                              notebook
=====================  ==================================================  ===========================
:mod:`.fig1_hardware`  Fig. 1: FLOPS vs DRAM and interconnect bandwidth    01_hardware_scaling
:mod:`.fig2_model_growth` Fig. 2: model size vs memory, training compute   02_model_growth
:mod:`.fig3_profiling` Fig. 3: BERT and GPT-2 FLOPs, MOPs, latency         03_transformer_profiling
:mod:`.fig4_memory`    Fig. 4: memory to train                             04_training_memory
:mod:`.fig4b_remat`    Fig. 4: rematerialization, 5x for 20%?              05_rematerialization
:mod:`.fig5_ridge`     Fig. 5 (beyond the paper): ridge points vs LLMs     06_memory_wall_by_accelerator
=====================  ==================================================  ===========================

Beside the API, each package keeps its own analysis, claims and drawing: ``result`` (its
``Result`` and the tables the notebook shows), ``verdicts`` (its claims), ``draw`` (its plot,
from the ``Result`` or plain data, never from engine objects passed in) and the figure's own
analysis modules (e.g. ``fig3_profiling.counted``, ``fig4_memory.accounting``,
``fig4b_remat.chains``, ``fig5_ridge.series``). Three modules serve several figures: :mod:`.paper_claims` makes every claim
from its id in :mod:`memwall_lib.paper` (text and paper value from the registry),
:mod:`.authors_points` fits the authors' own plotted points for Figures 1 and 2, and :mod:`.selection`
refuses a selection of points too small to fit, naming the parameters that made it.

Layer rule: figures import core, tables, authors, engines and :mod:`memwall_lib.paper`; notebooks
import only figures and core.
"""

import importlib
from types import ModuleType

#: Figure module of each notebook, by notebook stem.
NOTEBOOK_MODULES: dict[str, str] = {
    "01_hardware_scaling": "fig1_hardware",
    "02_model_growth": "fig2_model_growth",
    "03_transformer_profiling": "fig3_profiling",
    "04_training_memory": "fig4_memory",
    "05_rematerialization": "fig4b_remat",
    "06_memory_wall_by_accelerator": "fig5_ridge",
}


def figure_module(notebook: str) -> ModuleType:
    """The figure module of ``notebook`` (a stem of :data:`NOTEBOOK_MODULES`), imported."""
    return importlib.import_module(f"{__name__}.{NOTEBOOK_MODULES[notebook]}")
