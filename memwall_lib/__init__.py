"""memwall_lib: the logic behind the memwall notebooks.

Rebuilds the figures of "AI and Memory Wall" (Gholami et al., IEEE Micro 2024) from
sourced raw data. Modules, by concern:

- :mod:`memwall_lib.paths`     where the repository's data and figures live
- :mod:`memwall_lib.data`      reading and validating every CSV in ``data/``
- :mod:`memwall_lib.trends`    log-linear growth fits with 95% confidence intervals
- :mod:`memwall_lib.hardware`  Figure 1: FLOPS, DRAM and interconnect series and conventions
- :mod:`memwall_lib.model_growth` Figure 2: model size vs accelerator memory, training compute
- :mod:`memwall_lib.transformer` Figure 3: analytic per-operation FLOPs and bytes of transformers
- :mod:`memwall_lib.measure`   Figure 3: latency, calibrated roofline, FLOP counting with torch
- :mod:`memwall_lib.memory`    Figure 4: training memory measured from what autograd saves
- :mod:`memwall_lib.remat`     Figure 4b: checkpointing strategies and the optimal schedule
- :mod:`memwall_lib.models`    building the paper's models from configs (no downloads)
- :mod:`memwall_lib.plotting`  the one plot style
- :mod:`memwall_lib.figures`   atomic PNG/PDF/JSON writing, provenance, claims
- :mod:`memwall_lib.params`    validating papermill parameters
- :mod:`memwall_lib.notebooks` executing the notebooks (``make figures``)

Units: bytes are bytes; GB = 1e9 bytes, GiB = 2**30 bytes; FLOPs count a
multiply-accumulate as 2 FLOPs; TFLOPS = 1e12 FLOP/s.
"""

__version__ = "0.1.0"
