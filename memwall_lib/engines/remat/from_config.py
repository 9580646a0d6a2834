"""A chain (:class:`.chains.Chain`) made of the layers of a model built from a Hugging Face
config: any architecture transformers can build, the user's own model included, at a small
width and depth so that its rematerialization frontier is measured in seconds on a CPU.

- :func:`shrink_config`: the config with at most ``layers`` layers and a width of about
  ``hidden``: fewer attention heads of the same head dimension (at least one), KV heads and
  the MLP in the same proportion, everything else (vocabulary, norms, activation, rotary
  embedding, sliding windows, biases, dropout) as the config says. Keeping the head
  dimension keeps the balance of attention scores (heads x tokens^2) against the linear
  layers' activations (hidden x tokens) that a narrower copy of the model would change.
- :func:`config_chain`: the model built from the shrunk config with random weights
  (``from_config``, fp32), written as a chain of its layers. The layers are found as the
  model's stack (the first ``nn.ModuleList`` with one entry per layer) and called with what
  the model's own forward passes them (the causal or sliding-window mask, the rotary
  embedding's cos/sin, position ids), captured once from a forward pass with hooks, so no
  architecture needs code of its own. The chain's input is the hidden state the first layer
  receives (the embedding's output); the loss is the mean square of the last layer's output,
  as in :func:`.chains.gpt2_chain` (the embedding and the language-model head are left out so
  that the layers dominate).

Units: elements (widths), tokens; bytes and FLOPs in the chain's measurements.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ...core.checks import check_int
from ..memory.from_config import check_tokens
from ..models.configs import ATTN_IMPLEMENTATIONS, ModelConfigError, model_kind
from .chains import Chain

#: Config fields of the MLP's width (per model family), scaled with the heads.
MLP_FIELDS: tuple[str, ...] = (
    "intermediate_size",
    "ffn_dim",
    "n_inner",
    "ffn_hidden_size",
    "moe_intermediate_size",
    "shared_expert_intermediate_size",
    "word_embed_proj_dim",
)
#: Config fields of the number of KV heads (GQA: Llama and most; Falcon's new architecture).
KV_FIELDS: tuple[str, ...] = ("num_key_value_heads", "num_kv_heads")


def _key(config: Any, name: str) -> str:
    """The config's own field for the standard attribute ``name`` (GPT-2: ``n_embd`` for
    ``hidden_size``), through the config class's ``attribute_map``."""
    return dict(getattr(config, "attribute_map", {}) or {}).get(name, name)


def _sizes(config: Any) -> tuple[int, int, int, int]:
    """(layers, hidden size, attention heads, head dimension) of a config."""
    layers, hidden, heads = (
        int(getattr(config, a)) for a in ("num_hidden_layers", "hidden_size", "num_attention_heads")
    )
    head_dim = getattr(config, "head_dim", None)
    return layers, hidden, heads, int(head_dim) if isinstance(head_dim, int) else hidden // heads


def _shrunk_fields(raw: Mapping[str, Any], config: Any, layers: int, hidden: int) -> dict[str, Any]:
    """The fields of ``raw`` (``config.to_dict()``) that :func:`shrink_config` changes."""
    n, h, heads, head_dim = _sizes(config)
    new_layers = min(layers, n)
    new_heads = max(1, heads * hidden // h) if h > hidden else heads
    scale = new_heads / heads
    out: dict[str, Any] = {
        _key(config, "num_hidden_layers"): new_layers,
        _key(config, "num_attention_heads"): new_heads,
    }
    explicit_head_dim = isinstance(raw.get("head_dim"), int)
    new_hidden = max(2, 2 * round(h * scale / 2)) if explicit_head_dim else new_heads * head_dim
    out[_key(config, "hidden_size")] = new_hidden
    for f in KV_FIELDS:
        if isinstance(raw.get(f), int) and not isinstance(raw.get(f), bool):
            kv = max(1, round(raw[f] * scale))
            while new_heads % kv:
                kv -= 1
            out[f] = kv
    for f in MLP_FIELDS:
        if isinstance(raw.get(f), int) and not isinstance(raw.get(f), bool):
            out[f] = new_hidden if raw[f] == h else max(1, round(raw[f] * scale))
    for f, v in raw.items():  # per-layer lists (Gemma 2's layer_types): the first layers
        if "layer" in f and isinstance(v, list) and len(v) == n and f not in out:
            out[f] = v[:new_layers]
    return out


def shrink_config(config: Any, layers: int, hidden: int) -> Any:
    """A copy of ``config`` with at most ``layers`` layers and a width of about ``hidden``
    (see the module doc; a config already within both is returned unchanged, as a copy). The
    copy is rebuilt by its config class (``from_dict``), so derived fields follow; a config
    that refuses the new sizes raises :class:`ModelConfigError` naming the sizes."""
    check_int("layers", layers)
    check_int("hidden", hidden, minimum=2)
    raw = config.to_dict()
    changes = _shrunk_fields(raw, config, layers, hidden)
    try:
        return type(config).from_dict({**raw, **changes})
    except Exception as exc:  # the config class validates its fields
        raise ModelConfigError(
            f"model_type {config.model_type!r}: cannot shrink to {changes}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None


def layer_stack(model: Any, layers: int) -> Any:
    """The ``nn.ModuleList`` of ``model`` holding its ``layers`` layers: the first one of that
    length in module order (the layer stack comes before any list inside a layer)."""
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == layers:
            return module
    raise ModelConfigError(
        f"{type(model).__name__}: no list of {layers} modules (the layer stack) found; its layers cannot form a chain"
    )


def _captured_calls(model: Any, stack: Any, ids: Any, decoder: bool) -> list[tuple[tuple, dict]]:
    """The (positional, keyword) arguments each layer of ``stack`` receives in a forward pass
    of ``model`` on ``ids`` (no gradients, no cache), tensors detached."""
    import torch

    calls: list[tuple[tuple, dict]] = []

    def detached(obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            return obj.detach()
        if isinstance(obj, (tuple, list)):
            return type(obj)(detached(o) for o in obj)
        if isinstance(obj, dict):
            return {k: detached(v) for k, v in obj.items()}
        return obj

    def hook(_module: Any, args: tuple, kwargs: dict) -> None:
        calls.append((detached(args), detached(kwargs)))

    handles = [layer.register_forward_pre_hook(hook, with_kwargs=True) for layer in stack]
    try:
        with torch.no_grad():
            model(input_ids=ids, **({"use_cache": False} if decoder else {}))
    finally:
        for h in handles:
            h.remove()
    if len(calls) != len(stack):
        raise ModelConfigError(
            f"{type(model).__name__}: its forward called {len(calls)} of its {len(stack)} layers once each; "
            "its layers cannot form a chain"
        )
    return calls


def _layer_block(layer: Any, args: tuple, kwargs: dict) -> Any:
    """``layer`` as a block of a chain: hidden states in, hidden states out, the other
    arguments those the model's forward passed it."""
    import torch

    rest = args[1:] if args else ()
    extra = {k: v for k, v in kwargs.items() if k != "hidden_states"}
    positional = bool(args)

    class Layer(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = layer

        def forward(self, h: Any) -> Any:  # (batch, tokens, hidden) -> same shape
            out = self.layer(h, *rest, **extra) if positional else self.layer(hidden_states=h, **extra)
            return out[0] if isinstance(out, tuple) else out

    return Layer()


def config_chain(
    config: Any,
    *,
    layers: int = 8,
    hidden: int = 256,
    tokens: int = 128,
    batch_size: int = 2,
    attn_implementation: str = "eager",
    device: str = "cpu",
    seed: int = 0,
    label: str = "",
) -> Chain:
    """The layers of ``config``'s model, shrunk (:func:`shrink_config`), as a chain on
    ``device`` (see the module doc), with random fp32 weights and ``batch_size`` sequences of
    ``tokens`` random token ids; ``attn_implementation``: ``eager`` (every architecture; the
    attention matrices are ops the planner can keep or recompute) or ``sdpa``. ``label``
    names the chain (default: the config's model type)."""
    import torch
    import transformers

    check_int("tokens", tokens)
    check_int("batch_size", batch_size)
    if attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise ValueError(
            f"attn_implementation: expected one of {list(ATTN_IMPLEMENTATIONS)}, got {attn_implementation!r}"
        )
    small = shrink_config(copy.deepcopy(config), layers, hidden)
    check_tokens(small, tokens)
    decoder = model_kind(small) == "decoder"
    torch.manual_seed(seed)
    try:
        with torch.device(device):
            model = transformers.AutoModel.from_config(
                small, attn_implementation=attn_implementation, dtype=torch.float32
            ).train()
    except Exception as exc:
        raise ModelConfigError(
            f"cannot build model_type {small.model_type!r} (AutoModel, attn_implementation={attn_implementation!r}) "
            f"on {device}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    n, h, heads, _ = _sizes(small)
    stack = layer_stack(model, n)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, int(small.vocab_size), (batch_size, tokens), generator=gen).to(device)
    calls = _captured_calls(model, stack, ids, decoder)
    first = calls[0][0][0] if calls[0][0] else calls[0][1]["hidden_states"]
    blocks = torch.nn.ModuleList([_layer_block(layer, *call) for layer, call in zip(stack, calls)])
    _, h0, heads0, _ = _sizes(config)
    return Chain(
        label or small.model_type,
        blocks,
        lambda: first,
        lambda out: out.float().pow(2).mean(),
        f"{label or small.model_type} layers ({small.model_type}): {n} of {config.num_hidden_layers}, "
        f"hidden {h} of {h0}, {heads} of {heads0} heads, batch {batch_size} x {tokens} tokens",
    )
