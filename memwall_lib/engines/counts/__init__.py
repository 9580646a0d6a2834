"""Counting, with no machine: analytic FLOPs and bytes per operation.

- :mod:`.ops`: the one op record (:class:`~.ops.OpCount`: FLOPs, bytes split into weights, KV
  cache and activations), bytes per element (:class:`~.ops.Precision`) and the primitives
  every counter builds its ops with;
- :mod:`.specs` (with :mod:`.transformer_spec` and :mod:`.llm_spec`): a model's shape from a
  name, a spec or a ``transformers`` config;
- :mod:`.transformer`: BERT- and GPT-2-style models under the survey's conventions (Kim,
  Hooper et al., arXiv:2302.14017);
- :mod:`.llm`: prefill and decode of
  current LLM families (Llama GQA/SwiGLU/RoPE, Mixtral and DeepSeek-V3 MoE, MLA, GPT-2), their
  arithmetic intensity and critical batch;
- :mod:`.presets`: named LLM presets as ``transformers`` configs;
- :mod:`.ridge`: a spec sheet's ridge point and the roofline lower bound of a workload.

Units: FLOPs (a multiply-accumulate is 2 FLOPs) and bytes.
"""
