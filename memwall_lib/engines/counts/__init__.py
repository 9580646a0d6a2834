"""Counting, with no machine: analytic FLOPs and bytes per operation.

- :mod:`.transformer` (with :mod:`.transformer_spec`): BERT- and GPT-2-style models under the
  survey's conventions (Kim, Hooper et al., arXiv:2302.14017);
- :mod:`.llm` (with :mod:`.llm_ops`, the op records and a model's shape): prefill and decode of
  current LLM families (Llama GQA/SwiGLU/RoPE, Mixtral and DeepSeek-V3 MoE, MLA, GPT-2), their
  arithmetic intensity and critical batch;
- :mod:`.presets`: named LLM presets as ``transformers`` configs;
- :mod:`.ridge`: a spec sheet's ridge point and the roofline lower bound of a workload.

Units: FLOPs (a multiply-accumulate is 2 FLOPs) and bytes.
"""
