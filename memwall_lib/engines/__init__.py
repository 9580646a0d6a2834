"""The engines: the numbers behind the figures, usable on their own and on your own models.

- :mod:`.transformer`: analytic per-operation FLOPs and bytes of BERT- and GPT-2-style models;
- :mod:`.builders`: torch models built from their configurations (no downloads);
- :mod:`.timing`, :mod:`.workloads`, :mod:`.roofline`: latency, FLOP counting with torch, and a
  roofline calibrated on the machine;
- :mod:`.latency`: latency at every length, sampled (one encoder layer, decoding steps at sampled
  contexts) or whole; :mod:`.op_roofline`: a roofline per operation class, calibrated at the
  models' shapes;
- :mod:`.storage`: what autograd saves for backward, storage by storage (any device, meta too);
- :mod:`.training_memory`: parameters, gradients, optimizer state and activations of a step;
- :mod:`.remat`: rematerialization: chains of blocks, schedules, the optimal planner, measurement.

Layer rule: engines import :mod:`memwall_lib.core` (never parameter checking) and each other;
never :mod:`memwall_lib.figures` or :mod:`memwall_lib.paper`. Errors are ``ValueError`` /
``TypeError`` naming the argument.
"""
