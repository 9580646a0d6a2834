"""Counting, with no machine: FLOPs and bytes per operation, by formula or by tracing.

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
- :mod:`.trace`: any ``torch.nn.Module`` traced op by op on the meta device (FLOPs, bytes read
  and written, split into weights, KV cache and activations; prefill and decode as Hugging
  Face generation runs them), checked against the formulas above on every preset;
- :mod:`.counter`: one :class:`~.counter.ModelCounter` for a model's prefill, decode step,
  resident bytes and critical batch, by the formulas where they exist, else by the tracer;
- :mod:`.survey_workload`: the survey's workload (Figure 3: an encoder's pass over ``l`` tokens,
  a decoder generating ``l`` tokens one by one, no LM head or pooler) of any config, traced;
- :mod:`.presets`: named LLM presets as ``transformers`` configs;
- :mod:`.ridge`: a spec sheet's ridge point and the roofline lower bound of a workload.

Units: FLOPs (a multiply-accumulate is 2 FLOPs) and bytes.
"""
