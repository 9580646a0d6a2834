"""Benchmark: Figure 5's analysis for ten models, five presets and five published configs of
architectures with no formula here (traced on the meta device).

Not a test: prints the wall time and the peak resident memory (RSS) of ``fig5_ridge.analyse``
with the notebook's defaults and ten models (issue 19's target: under 30 s on 2 cores).

    .venv/bin/python benchmarks/bench_fig5_ten_models.py
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

MODELS = [
    "gpt2",
    "llama2-7b",
    "llama3-70b",
    "mixtral-8x7b",
    "deepseek-v3",
    "examples/configs/qwen2.5-7b.json",
    "examples/configs/mistral-7b.json",
    "examples/configs/gemma-2-2b-it.json",
    "examples/configs/phi-3-mini-4k.json",
    "examples/configs/falcon-7b-instruct.json",
]


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (1e9 bytes); Linux reports KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main() -> int:
    t_start = time.perf_counter()
    from memwall_lib.core.params import check_parameters
    from memwall_lib.core.paths import NOTEBOOKS_DIR
    from memwall_lib.core.provenance import machine_description
    from memwall_lib.figures import fig5_ridge as figure
    from memwall_lib.run.preflight import notebook_defaults

    defaults = notebook_defaults(Path(NOTEBOOKS_DIR) / "06_memory_wall_by_accelerator.ipynb")
    params = check_parameters({**defaults, "models": MODELS}, figure.PARAMETERS, figure.RELATIONS)
    t_checked = time.perf_counter()
    result = figure.analyse(params)
    t_end = time.perf_counter()
    for label, method in result.methods.items():
        print(f"  {label:>24}: {method}")
    print(
        f"time: {t_end - t_checked:.1f} s analysing ten models on {len(result.accelerators)} accelerators "
        f"(+{t_checked - t_start:.1f} s imports and parameter checks); target < 30 s"
    )
    machine = machine_description()
    print(f"peak RSS: {peak_rss_gb():.2f} GB")
    print(f"machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, 1-min load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
