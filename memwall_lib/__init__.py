"""memwall_lib: the logic behind the memwall notebooks.

Rebuilds the figures of "AI and Memory Wall" (Gholami et al., IEEE Micro 2024) from
sourced raw data. Six layers, each importing only the ones above it in this list:

- :mod:`memwall_lib.core`     paths, CSV schema validation, trend fits, claims and atomic
  sidecar writing, provenance, parameter checking, progress, the plot style;
- :mod:`memwall_lib.tables`   one schema per CSV in ``data/``, loaders, device helpers;
- :mod:`memwall_lib.authors`  the authors' figure PDFs read back into ``data/authors_plotted.csv``;
- :mod:`memwall_lib.engines`  analytic transformer and LLM (prefill/decode, GQA, MoE) ops, torch
  model builders, timing and the roofline, autograd storage accounting, training memory,
  rematerialization;
- :mod:`memwall_lib.figures`  one package per figure, the same API in each ``__init__``
  (``PARAMETERS``, ``RELATIONS``, ``DATA_FILES``, ``OUTPUTS``, ``TIMED``, ``Result``, ``analyse``,
  ``claims``, ``sidecar``, ``plot``);
- :mod:`memwall_lib.run`      the notebook runner (``python -m memwall_lib``), the parameter
  preflight, make's dependency file;

and :mod:`memwall_lib.paper`, every number and claim of the paper under literal ids (figures
import it; core, tables, authors and engines do not).

Figure -> module -> notebook: Fig. 1 ``figures.fig1_hardware`` (01_hardware_scaling),
Fig. 2 ``figures.fig2_model_growth`` (02_model_growth), Fig. 3 ``figures.fig3_profiling``
(03_transformer_profiling), Fig. 4 ``figures.fig4_memory`` (04_training_memory), Fig. 4's
rematerialization claim ``figures.fig4b_remat`` (05_rematerialization); beyond the paper,
Fig. 5 ``figures.fig5_ridge`` (06_memory_wall_by_accelerator): ridge points against LLM inference.

Units: bytes are bytes; GB = 1e9 bytes, GiB = 2**30 bytes; FLOPs count a
multiply-accumulate as 2 FLOPs; TFLOPS = 1e12 FLOP/s.
"""

__version__ = "0.2.0"
