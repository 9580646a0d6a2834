"""Benchmark: resolving models and building them on the meta device
(:func:`memwall_lib.engines.models.configs.build_on_meta`), the first step of tracing them.

Not a test: prints the wall time of importing torch and transformers, of resolving the models
(preset names or paths to config.json files), of each model's first build (which imports its
architecture's modeling code) and of later builds, the CPU time, and the peak resident memory
(RSS). The tracer's whole budget for a 70B decoder (prefill of 2048 tokens and a decode step
with 4096 cached) is 10 s and 2 GB on 2 cores, and notebook 06 with ten models has 30 s:
building must be a small part of either.

    .venv/bin/python benchmarks/build_on_meta.py [--models llama3-70b examples/configs/qwen2.5-7b.json ...]
                                                 [--repeat 3] [--attn sdpa] [--context 4096]
"""

from __future__ import annotations

import argparse
import resource
import time
from typing import Any


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (1e9 bytes); Linux reports KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def cpu_s() -> float:
    """User plus system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def describe(source: Any, model: Any, context: int) -> str:
    """One line: the model's class, parameters, dtype and, for a decoder, its KV cache at
    ``context`` tokens (values, one sequence)."""
    from memwall_lib.engines.memory.text_claims import kv_cache_values
    from memwall_lib.engines.models.configs import ModelConfigError, kv_cache_layout, model_kind

    n = sum(p.numel() for p in model.parameters())
    line = f"{source.label}: {type(model).__name__}, {n / 1e9:.2f}B parameters, {model.dtype}"
    if model_kind(source.config) != "decoder":
        return line + ", encoder (no KV cache)"
    try:
        layout = kv_cache_layout(source.config)
    except ModelConfigError as exc:
        return f"{line}; KV cache: {exc}"
    values = kv_cache_values(layout.layers, context, layout.kv_width, 1, layout.windows)
    return (
        f"{line}; KV cache {layout.layers} layers x {layout.n_kv_heads} KV heads x {layout.head_dim}, "
        f"{values / 1e9:.3f}G values at {context} tokens"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["llama3-70b"], help="preset names or paths to config.json")
    parser.add_argument("--repeat", type=int, default=3, help="builds of each model after its first")
    parser.add_argument("--attn", choices=("sdpa", "eager"), default="sdpa")
    parser.add_argument("--context", type=int, default=4096, help="tokens in the KV cache reported")
    args = parser.parse_args(argv)

    t0, c0 = time.perf_counter(), cpu_s()
    import torch  # noqa: F401  (timed apart: the imports are most of the fixed cost)
    import transformers  # noqa: F401

    from memwall_lib.engines.models.configs import build_on_meta, resolve_models

    t_import = time.perf_counter()
    sources = resolve_models(args.models)
    t_resolve = time.perf_counter()
    print(
        f"import torch + transformers: {t_import - t0:.2f} s; resolve_models ({len(sources)}): {t_resolve - t_import:.2f} s"
    )
    for source in sources:
        t = time.perf_counter()
        model = build_on_meta(source.config, attn_implementation=args.attn)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(args.repeat):
            model = build_on_meta(source.config, attn_implementation=args.attn)
        later = (time.perf_counter() - t) / max(args.repeat, 1)
        print(f"  {describe(source, model, args.context)}")
        print(f"    build_on_meta ({args.attn}): first {first:.2f} s (imports its modeling code), then {later:.3f} s")
    t_end, c_end = time.perf_counter(), cpu_s()
    print(f"total wall {t_end - t0:.2f} s, CPU {c_end - c0:.2f} s, peak RSS {peak_rss_gb():.2f} GB (GB = 1e9 bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
