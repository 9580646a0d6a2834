"""Benchmark: resolving a model and building it on the meta device
(:func:`memwall_lib.engines.models.configs.build_on_meta`), the first step of tracing it.

Not a test: prints the wall time of importing torch and transformers, of resolving the model
(a preset name or a path to a config.json), of the first build (which imports the
architecture's modeling code) and of later builds, the CPU time, and the peak resident memory
(RSS). The tracer's whole budget for a 70B decoder (prefill of 2048 tokens and a decode step
with 4096 cached) is 10 s and 2 GB on 2 cores: building must be a small part of it.

    .venv/bin/python benchmarks/build_on_meta.py [--model llama3-70b] [--repeat 3] [--attn sdpa]
"""

from __future__ import annotations

import argparse
import resource
import time


def peak_rss_gb() -> float:
    """Peak resident set size of this process in GB (1e9 bytes); Linux reports KiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def cpu_s() -> float:
    """User plus system CPU seconds of this process so far."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="llama3-70b", help="a preset name or a path to a config.json")
    parser.add_argument("--repeat", type=int, default=3, help="builds after the first")
    parser.add_argument("--attn", choices=("sdpa", "eager"), default="sdpa")
    parser.add_argument("--context", type=int, default=4096, help="tokens in the KV cache reported")
    args = parser.parse_args(argv)

    t0, c0 = time.perf_counter(), cpu_s()
    import torch  # noqa: F401  (timed apart: the imports are most of the fixed cost)
    import transformers  # noqa: F401

    from memwall_lib.engines.memory.text_claims import kv_cache_values
    from memwall_lib.engines.models.configs import (
        ModelConfigError,
        build_on_meta,
        kv_cache_layout,
        model_kind,
        resolve_model,
    )

    t_import = time.perf_counter()
    source = resolve_model(args.model)
    t_resolve = time.perf_counter()
    model = build_on_meta(source.config, attn_implementation=args.attn)
    t_first = time.perf_counter()
    for _ in range(args.repeat):
        model = build_on_meta(source.config, attn_implementation=args.attn)
    t_end, c_end = time.perf_counter(), cpu_s()

    n = sum(p.numel() for p in model.parameters())
    print(f"{source.label}: {type(model).__name__}, {n / 1e9:.2f}B parameters, {model.dtype}, attn {args.attn}")
    if model_kind(source.config) == "decoder":
        try:
            layout = kv_cache_layout(source.config)
        except ModelConfigError as exc:
            print(f"  KV cache: {exc}")
        else:
            values = kv_cache_values(layout.layers, args.context, layout.kv_width, 1, layout.windows)
            print(
                f"  KV cache: {layout.layers} layers x {layout.n_kv_heads} KV heads x {layout.head_dim}; "
                f"{args.context} tokens: {values / 1e9:.3f}G values"
            )
    print(f"  import torch + transformers: {t_import - t0:6.2f} s")
    print(f"  resolve_model:               {t_resolve - t_import:6.2f} s")
    print(f"  first build_on_meta:         {t_first - t_resolve:6.2f} s (imports the modeling code)")
    if args.repeat:
        print(f"  later build_on_meta:         {(t_end - t_first) / args.repeat:6.2f} s each ({args.repeat} builds)")
    print(f"  total wall {t_end - t0:.2f} s, CPU {c_end - c0:.2f} s, peak RSS {peak_rss_gb():.2f} GB (GB = 1e9 bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
