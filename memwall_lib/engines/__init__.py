"""The engines: the numbers behind the figures, usable on their own and on your own models.
One folder per concern:

- :mod:`.counts`: analytic FLOPs and bytes per operation (survey transformers, current LLMs,
  presets, a spec sheet's ridge point);
- :mod:`.models`: torch models built from their configurations (no downloads), the paper's
  Figure 4 models;
- :mod:`.memory`: what autograd saves, live bytes, training memory, the text's memory claims;
- :mod:`.timing`: clock, workloads, latency at every length, calibrated rooflines;
- :mod:`.remat`: rematerialization: chains of blocks, schedules, operator-level profile, plan,
  run and study, and PyTorch's own ``torch.compile`` anchor.

Layer rule: engines import :mod:`memwall_lib.core` (never parameter checking) and each other;
never :mod:`memwall_lib.figures` or :mod:`memwall_lib.paper`. Errors are ``ValueError`` /
``TypeError`` naming the argument.
"""
