"""The engines: the numbers behind the figures, usable on their own and on your own models.

- :mod:`.transformer`: analytic per-operation FLOPs and bytes of BERT- and GPT-2-style models;
- :mod:`.llm` (with :mod:`.llm_spec` and :mod:`.llm_models`): analytic prefill/decode FLOPs and
  bytes of current LLM families (Llama GQA/SwiGLU/RoPE, Mixtral and DeepSeek-V3 MoE, GPT-2), their
  arithmetic intensity and critical batch; presets as ``transformers`` configs;
- :mod:`.spec_roofline`: a spec sheet's ridge point and the roofline lower bound of a workload;
- :mod:`.builders`: torch models built from their configurations (no downloads);
- :mod:`.timing`, :mod:`.workloads`, :mod:`.roofline`: latency, FLOP counting with torch, and a
  roofline calibrated on the machine;
- :mod:`.latency`: latency at every length, sampled (one encoder layer, decoding steps at sampled
  contexts) or whole; :mod:`.op_roofline`: a roofline per operation class, calibrated at the
  models' shapes;
- :mod:`.storage`: what autograd saves for backward, storage by storage (any device, meta too),
  dropout masks counted as the target device (CUDA or CPU) stores them;
- :mod:`.training_memory`: parameters, gradients, optimizer state and activations of a step;
- :mod:`.memory_claims`: model state under ZeRO, quantized inference footprint, optimizer state
  of SGD / Adam / AdaHessian / Shampoo, counted from their definitions;
- :mod:`.remat`: rematerialization: chains of blocks, schedules, the optimal planner, measurement.

Layer rule: engines import :mod:`memwall_lib.core` (never parameter checking) and each other;
never :mod:`memwall_lib.figures` or :mod:`memwall_lib.paper`. Errors are ``ValueError`` /
``TypeError`` naming the argument.
"""
