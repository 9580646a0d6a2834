"""Timing on the machine it runs on. Units: seconds.

- :mod:`.clock`: devices and dtypes, CPU threads, the pinned allocator, wall-clock runs;
- :mod:`.workloads`: inference workloads, timed and FLOP-counted as the same callables;
- :mod:`.latency`: latency at every length, sampled (one encoder layer, decoding steps at
  sampled contexts) or whole; any other model built from its config, by whole runs;
- :mod:`.single_roof`: one roofline calibrated on the machine (GEMM rate, STREAM bandwidth,
  per-call overhead);
- :mod:`.class_roofline` (with :mod:`.microbench`): a roofline per operation class, calibrated by
  microbenchmarks at each model's own shapes.
"""
