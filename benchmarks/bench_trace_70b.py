"""Benchmark: tracing a 70B-parameter decoder on the meta device (engines/counts/trace).

Not a test: prints the wall time and the peak resident memory (RSS) of building Llama-3-70B
from its config on the ``meta`` device and tracing a prefill of 2048 tokens and one decode
step with a 4096-token KV cache (the cache filled by an untraced prefill, as ``generate``
fills it). Targets (issue 19): under 10 s and 2 GB on 2 cores.

    .venv/bin/python benchmarks/bench_trace_70b.py [--model llama3-70b] [--tokens 2048] [--context 4096]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (1e9 bytes); Linux reports KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="llama3-70b", help="a preset name or a path to a config.json")
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--context", type=int, default=4096)
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    import torch
    import transformers

    from memwall_lib.core.provenance import machine_description
    from memwall_lib.engines.counts import trace
    from memwall_lib.engines.counts.presets import preset_config

    t_import = time.perf_counter()
    config = preset_config(args.model)
    config._attn_implementation = "eager"
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
    t_built = time.perf_counter()
    prefill = trace.trace_prefill(model, 1, args.tokens, label=args.model)
    t_prefill = time.perf_counter()
    step = trace.trace_decode(model, 1, args.context, label=args.model)
    t_end = time.perf_counter()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.model} ({n_params / 1e9:.1f}B parameters, bf16, eager attention) on the meta device")
    for t in (prefill, step):
        tot = t.totals()
        print(
            f"  {t.phase:>7} (batch 1, {t.n_new} new, {t.n_ctx} keys): {tot['flops'] / 1e12:,.2f} TFLOPs, "
            f"{tot['bytes'] / 1e9:,.2f} GB moved, {tot['arithmetic_intensity']:,.1f} FLOPs/byte, "
            f"{sum(o.calls for o in t.ops):,.0f} aten calls"
        )
    print(
        f"time: {t_end - t_import:.2f} s building and tracing (build {t_built - t_import:.2f} s, prefill "
        f"{t_prefill - t_built:.2f} s, decode {t_end - t_prefill:.2f} s incl. filling the cache), plus "
        f"{t_import - t_start:.2f} s importing torch and transformers; target < 10 s"
    )
    print(f"peak RSS: {peak_rss_gb():.2f} GB; target < 2 GB")
    machine = machine_description()
    print(f"machine: {machine['cpu']}, {machine['logical_cpus']} logical CPUs, 1-min load {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
