"""Transformer inference workloads, timed and FLOP-counted as the same callables.

Workloads (batch 1 unless asked): an encoder (BERT) runs one forward pass over ``l``
tokens; a decoder (GPT-2) generates greedily with the KV cache from one start token,
``l`` forward passes attending to 1, 2, ..., ``l`` tokens (:func:`greedy_generate`). The
same callables are timed, FLOP-counted (:func:`validate_flops`, against the analytic model
of :mod:`memwall_lib.engines.counts.transformer`) and predicted, so the three describe the same work.

Units: seconds; FLOPs (a multiply-accumulate = 2).
"""

from __future__ import annotations

import copy
import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from ..counts import transformer as tfm
from .clock import MeasureError


# --------------------------------------------------------------------------- workloads
class WorkloadShape(Protocol):
    """What a workload needs to know of its model: a name (for progress lines), whether it is
    an ``"encoder"`` or a ``"decoder"``, and its vocabulary size (token ids are drawn below it).
    A :class:`~memwall_lib.engines.counts.transformer.TransformerSpec` is one; so is
    :class:`memwall_lib.engines.timing.latency.ConfigShape` for any other model."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def vocab_size(self) -> int: ...


def cache_keyword(model: Any) -> str:
    """The keyword a ``transformers`` model takes its KV cache by (``cache`` in
    transformers >= 5, ``past_key_values`` before)."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cache_of(output: Any) -> Any:
    return output["cache"] if "cache" in output else output["past_key_values"]


def start_ids(seq_len: int, vocab_size: int, device: str = "cpu", batch: int = 1, seed: int = 0) -> Any:
    """Deterministic token ids, shape ``(batch, seq_len)``."""
    import torch

    if device == "meta":
        return torch.zeros(batch, seq_len, dtype=torch.long, device="meta")
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab_size, (batch, seq_len), generator=g).to(device)


def greedy_generate(
    model: Any, ids: Any, n_tokens: int, *, cache: Any = None, on_step: Callable[[int], None] | None = None
) -> Any:
    """Greedy generation with the KV cache: ``n_tokens`` forward passes, the first over
    ``ids`` (the prompt or one start token), each later one over the token just chosen.
    ``cache`` continues from an earlier pass; ``on_step(k)`` is called after pass k
    (1-based). Returns the chosen ids, shape ``(batch, n_tokens)``. No early stop."""
    import torch

    kw = cache_keyword(model)
    out_ids = []
    nxt = ids
    with torch.no_grad():
        for k in range(n_tokens):
            out = model(input_ids=nxt, use_cache=True, **({kw: cache} if cache is not None else {}))
            cache = cache_of(out)
            nxt = out["logits"][:, -1:].argmax(-1)
            out_ids.append(nxt)
            if on_step is not None:
                on_step(k + 1)
    return torch.cat(out_ids, dim=1)


def workload(
    model: Any, spec: WorkloadShape, seq_len: int, device: str = "cpu", batch: int = 1, seed: int = 0
) -> Callable[[], Any]:
    """The callable whose time is the latency at ``seq_len``: an encoder forward over
    ``seq_len`` tokens, or ``seq_len`` greedy decoding steps from one start token."""
    import torch

    if spec.kind == "encoder":
        ids = start_ids(seq_len, spec.vocab_size, device, batch, seed)

        def run() -> Any:
            with torch.no_grad():
                return model(input_ids=ids)

        return run
    ids = start_ids(1, spec.vocab_size, device, batch, seed)
    return lambda: greedy_generate(model, ids, seq_len)


def workload_profile(spec: tfm.TransformerSpec, seq_len: int, precision: tfm.Precision, batch: int = 1) -> tfm.Profile:
    """The analytic profile of exactly what :func:`workload` runs: embeddings and the
    pooler / LM head included (a decoder: no prompt, ``seq_len`` steps)."""
    return tfm.profile(
        spec, seq_len, batch=batch, precision=precision, prompt_len=0, include_embeddings=True, include_head=True
    )


def config_for(model: str | Any, max_positions: int) -> Any:
    """A ``transformers`` config with eager attention and at least ``max_positions``
    positions (enlarged beyond the model's limit where needed: weights are random)."""
    from ..models import builders

    if isinstance(model, str):
        tfm.get_spec(model)  # a clear error for an unknown name
        return builders.transformer_config(model, max_positions=max_positions)
    cfg = copy.deepcopy(model)
    tfm.get_spec(cfg)  # a clear error for an unsupported config
    if getattr(cfg, "max_position_embeddings", 0) < max_positions:
        cfg.max_position_embeddings = max_positions
    cfg._attn_implementation = "eager"
    return cfg


def check_lengths(seq_lens: Sequence[int]) -> list[int]:
    if isinstance(seq_lens, (str, bytes)) or not hasattr(seq_lens, "__len__") or len(seq_lens) == 0:
        raise MeasureError(f"seq_lens: expected a non-empty list of lengths, got {seq_lens!r}")
    for n in seq_lens:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise MeasureError(f"seq_lens: expected positive integers, got {n!r}")
    return [int(n) for n in seq_lens]


# --------------------------------------------------------------------------- FLOP counting
def count_flops(fn: Callable[[], Any]) -> dict[str, int]:
    """FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode`` while ``fn`` runs,
    per aten op and ``"total"``.

    FlopCounterMode counts matrix multiplications only; it counts 0 for CPU
    scaled-dot-product attention and under ``torch.inference_mode`` (so build models with
    ``attn_implementation="eager"`` and run under ``no_grad``, as :func:`workload` does).
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    per_op = {str(k): int(v) for k, v in counter.get_flop_counts().get("Global", {}).items()}
    per_op["total"] = int(counter.get_total_flops())
    return per_op


def validate_flops(
    model: str | Any, seq_lens: Sequence[int], *, device: str = "meta", max_generate: int = 128
) -> list[dict[str, Any]]:
    """Compare the analytic matmul FLOPs with FlopCounterMode on a real ``transformers``
    model built from config (random weights, eager attention), at each length.

    The model runs exactly the latency workload (:func:`workload`), so the analytic side
    includes what the model holds besides the survey's groups: BERT's pooler, GPT-2's LM
    head (embeddings have no matmul). ``device="meta"`` counts shapes without computing.

    Encoders: one forward pass per length (``scope="total"``). Decoders: one greedy
    generation of ``min(max(seq_lens), max_generate)`` steps, read after every step, gives
    the exact total at each length up to ``max_generate`` (``scope="total"``); a longer
    length ``l`` is checked on its last step alone (``scope="last_step"``: one pass over
    1 token with a KV cache of ``l - 1`` tokens from a prefill, against the analytic
    ``total(l) - total(l - 1)``), which with exactness of every shorter step and the
    per-step formula being affine in the context covers the total (counting a 4096-step
    generation directly takes minutes: pass ``max_generate=4096``).
    Rows: ``{"seq_len", "scope", "analytic", "counted", "equal"}``.
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from ..models import builders

    seq_lens = check_lengths(seq_lens)
    if isinstance(max_generate, bool) or not isinstance(max_generate, int) or max_generate < 1:
        raise MeasureError(f"max_generate: expected an integer >= 1, got {max_generate!r}")
    cfg = config_for(model, max(seq_lens))
    spec = tfm.get_spec(model if isinstance(model, str) else cfg)
    net = builders.build_from_config(cfg, device=device)

    def analytic(n: int) -> int:
        return int(workload_profile(spec, n, tfm.SURVEY_8BIT).matmul_flops) if n else 0

    def row(n: int, scope: str, a: int, c: int) -> dict[str, Any]:
        return {
            "model": spec.name,
            "seq_len": n,
            "scope": scope,
            "analytic": a,
            "counted": int(c),
            "equal": a == int(c),
        }

    rows: dict[int, dict[str, Any]] = {}
    if spec.kind == "encoder":
        for n in seq_lens:
            rows[n] = row(n, "total", analytic(n), count_flops(workload(net, spec, n, device))["total"])
        return [rows[n] for n in seq_lens]
    wanted = set(seq_lens)
    n_gen = min(max(seq_lens), max_generate)
    totals: dict[int, int] = {}
    with FlopCounterMode(display=False) as counter:
        greedy_generate(
            net,
            start_ids(1, spec.vocab_size, device),
            n_gen,
            on_step=lambda k: totals.__setitem__(k, counter.get_total_flops()) if k in wanted else None,
        )
    for n in seq_lens:
        if n <= n_gen:
            rows[n] = row(n, "total", analytic(n), totals[n])
            continue
        with torch.no_grad():  # prefill l - 1 tokens (not counted), then count one step
            out = net(input_ids=start_ids(n - 1, spec.vocab_size, device), use_cache=True)
        cache = cache_of(out)
        step = count_flops(lambda: greedy_generate(net, start_ids(1, spec.vocab_size, device), 1, cache=cache))["total"]
        rows[n] = row(n, "last_step", analytic(n) - analytic(n - 1), step)
    return [rows[n] for n in seq_lens]


# --------------------------------------------------------------------------- latency
