"""Benchmark: the full training-memory accounting of a GPT-3 175B configuration.

Not a test: prints the wall time and the peak resident memory (RSS) of building the model
on the ``meta`` device and counting its parameters, gradients, Adam state and the
activations autograd saves for one sequence of 2048 tokens, dropout masks as CUDA stores them
(1 byte each; ``--mask-target cpu`` counts them as the CPU does). Targets: under 10 s and 1.5 GB.

    .venv/bin/python benchmarks/bench_memory_gpt3.py [--batch-size 1] [--precision fp32] [--mask-target cuda]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (1e9 bytes); Linux reports KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--precision", choices=("fp32", "mixed"), default="fp32")
    parser.add_argument("--mask-target", choices=("cuda", "cpu"), default="cuda")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    rss_start = peak_rss_gb()
    import torch  # noqa: F401  (timed apart: the imports are most of the fixed cost)
    import transformers  # noqa: F401

    from memwall_lib.engines.memory import training as training_memory
    from memwall_lib.engines.models import builders, paper_models

    t_import = time.perf_counter()
    result = paper_models.gpt_memory(
        builders.gpt3_config(),
        batch_size=args.batch_size,
        tokens=args.tokens,
        optimizer="adam",
        precision=args.precision,
        name="gpt3-175b",
        mask_target=args.mask_target,
    )
    t_end = time.perf_counter()
    print(
        f"GPT-3 175B ({result.parameters / 1e9:.1f}B parameters), batch {args.batch_size} x "
        f"{args.tokens} tokens, Adam, {args.precision}, dropout masks as on {args.mask_target}"
    )
    for conv in training_memory.CONVENTIONS:
        parts = ", ".join(f"{k[:-3]} {v:,.1f}" for k, v in result.accounting(conv).items())
        print(f"  {conv:>16}: {parts} (GB = 1e9 bytes)")
    print(
        f"  saved tensors: {result.activations.saved_tensors}, distinct storages: {result.activations.saved_storages}"
    )
    print(
        f"time: {t_end - t_start:.2f} s in all ({t_end - t_import:.2f} s accounting, "
        f"{t_import - t_start:.2f} s importing torch and transformers); target < 10 s"
    )
    print(f"peak RSS: {peak_rss_gb():.2f} GB (at start {rss_start:.2f} GB); target < 1.5 GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
