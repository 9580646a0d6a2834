"""Memory of model state under ZeRO, of quantized inference, and of optimizers' state, counted
from definitions (no formula fitted to a claim).

- ZeRO (Rajbhandari et al., SC 2020, arXiv:1910.02054, Sec. 5 and Fig. 1): mixed-precision
  Adam keeps 2 bytes of fp16 parameters and 2 of fp16 gradients per parameter and K = 12 bytes
  of optimizer state (fp32 master parameters, momentum, variance). Over N_d data-parallel
  devices, stage 1 (P_os) partitions the optimizer state, stage 2 (P_os+g) also the gradients,
  stage 3 (P_os+g+p) also the parameters: per device (2 + 2 + K) psi, (2 + 2 + K/N_d) psi,
  (2 + (2 + K)/N_d) psi and (2 + 2 + K) psi / N_d bytes.
- Inference footprint: weights plus the key/value cache at a number format's bytes per value,
  plus the scales of group-wise quantization (one fp16 scale per ``group`` values for the
  integer formats). The cache holds keys and values of every cached token in every layer:
  2 x layers x tokens x hidden values per sequence when every head keeps its own (multi-head
  attention, the text's GPT-style count), 2 x layers x tokens x n_kv_heads x head_dim under
  grouped-query attention (n_heads / n_kv_heads times fewer), and a sliding-window layer keeps
  only its last ``window - 1`` tokens (:func:`kv_cache_values`).
- Optimizer state per parameter tensor, from each method's state definition: SGD none, SGD
  with momentum one buffer, Adam two (``exp_avg``, ``exp_avg_sq``), AdaHessian two
  (``exp_avg``, ``exp_hessian_diag_sq``, Yao et al. AAAI 2021, official code) plus the
  Rademacher vector and Hessian-vector product of each step (two more, transient), Shampoo
  (Gupta, Koren, Singer, ICML 2018, Algorithm 2) one n_i x n_i statistic per dimension i of
  each tensor and its cached inverse root (Sec. 5: roots recomputed every 20-100 steps), plus
  momentum; a dimension above ``max_dim`` falls back to a diagonal (n_i values each).

Units: bytes; a parameter count ``psi`` is in elements.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ...core.checks import check_int, check_number, check_shapes

#: ZeRO's K: bytes of optimizer state per parameter for mixed-precision Adam.
ZERO_K: int = 12
ZERO_STAGES: tuple[int, ...] = (0, 1, 2, 3)
#: Bytes per value of each number format (int4: half a byte).
FORMAT_BYTES: dict[str, float] = {"fp32": 4.0, "fp16": 2.0, "int8": 1.0, "int4": 0.5}
#: Bytes of one quantization scale (fp16).
SCALE_BYTES: float = 2.0
OPTIMIZER_METHODS: tuple[str, ...] = ("sgd", "sgd_momentum", "adam", "adahessian", "shampoo")


def zero_model_state_bytes(psi: float, devices: int, stage: int, k: int = ZERO_K) -> float:
    """Model-state bytes per device for ``psi`` parameters under ZeRO ``stage`` (0 = plain data
    parallelism) over ``devices`` data-parallel devices (Rajbhandari et al. 2020, Fig. 1)."""
    if stage not in ZERO_STAGES:
        raise ValueError(f"stage: expected one of {list(ZERO_STAGES)}, got {stage!r}")
    if not isinstance(devices, int) or devices < 1:
        raise ValueError(f"devices: expected a positive int, got {devices!r}")
    if psi <= 0:
        raise ValueError(f"psi: expected a positive parameter count, got {psi!r}")
    params, grads, state = 2.0, 2.0, float(k)
    if stage >= 1:
        state /= devices
    if stage >= 2:
        grads /= devices
    if stage >= 3:
        params /= devices
    return (params + grads + state) * psi


def zero_reduction(devices: int, stage: int, k: int = ZERO_K) -> float:
    """How many times larger a model fits in the same per-device memory under ``stage`` than
    under plain data parallelism (= the ratio of model-state bytes; independent of psi)."""
    return zero_model_state_bytes(1.0, devices, 0, k) / zero_model_state_bytes(1.0, devices, stage, k)


def zero_limit(stage: int, k: int = ZERO_K) -> float:
    """:func:`zero_reduction` as the device count grows without bound (inf for stage 3)."""
    if stage not in ZERO_STAGES:
        raise ValueError(f"stage: expected one of {list(ZERO_STAGES)}, got {stage!r}")
    return {0: 1.0, 1: (4.0 + k) / 4.0, 2: (4.0 + k) / 2.0, 3: float("inf")}[stage]


def kv_cache_values(
    layers: int, tokens: int, kv_width: int, batch: int = 1, windows: Sequence[int | None] | None = None
) -> float:
    """Values (elements) in the key/value cache of ``batch`` sequences after ``tokens`` tokens:
    keys and values of ``kv_width`` elements each per token and layer (``kv_width`` = hidden
    for multi-head attention, n_kv_heads x head_dim under grouped-query attention).

    ``windows``: per layer (``layers`` items), None for full attention or the layer's sliding
    window W. Convention (transformers' ``DynamicCache``, whose ``DynamicSlidingWindowLayer``
    keeps the last W - 1 tokens and attends to them plus the new one, W in all): a sliding
    layer holds min(tokens, W - 1) tokens, a full layer all ``tokens``. The new tokens' keys
    and values of a step in flight are not counted (they are the next step's cache).
    ``windows=None``: every layer is full."""
    for name, value, low in (
        ("layers", layers, 1),
        ("tokens", tokens, 0),
        ("kv_width", kv_width, 1),
        ("batch", batch, 1),
    ):
        check_int(name, value, minimum=low)
    if windows is None:
        held = float(layers) * tokens
    else:
        if len(windows) != layers:
            raise ValueError(f"windows: expected one entry per layer ({layers}), got {len(windows)}")
        if any(w is not None and (not isinstance(w, int) or w < 1) for w in windows):
            raise ValueError(f"windows: expected None or a positive int per layer, got {list(windows)}")
        held = float(sum(tokens if w is None else min(tokens, w - 1) for w in windows))
    return 2.0 * held * kv_width * batch


def inference_footprint_bytes(
    parameters: int,
    layers: int,
    hidden: int,
    tokens: int,
    batch: int = 1,
    fmt: str = "fp32",
    group: int = 128,
    n_kv_heads: int | None = None,
    head_dim: int | None = None,
    windows: Sequence[int | None] | None = None,
) -> float:
    """Weights plus key/value cache of a decoder at number format ``fmt``; integer formats add
    one fp16 scale per ``group`` values (weights and cache alike). ``tokens=0`` gives the
    weights alone (an encoder keeps no cache).

    The cache (:func:`kv_cache_values`) is 2 x layers x tokens x hidden values per sequence
    unless ``n_kv_heads`` and ``head_dim`` are given (grouped-query attention: n_kv_heads x
    head_dim per key or value; with n_kv_heads = heads and head_dim = hidden / heads the two
    agree exactly); ``windows`` sizes sliding-window layers (e.g. from
    :func:`memwall_lib.engines.models.configs.kv_cache_layout`)."""
    if fmt not in FORMAT_BYTES:
        raise ValueError(f"fmt: expected one of {list(FORMAT_BYTES)}, got {fmt!r}")
    check_number("parameters", parameters, minimum=0)
    check_int("group", group, minimum=1)
    check_int("hidden", hidden, minimum=1)
    if (n_kv_heads is None) != (head_dim is None):
        raise ValueError(f"n_kv_heads and head_dim: give both or neither, got {n_kv_heads!r} and {head_dim!r}")
    kv_width = hidden if n_kv_heads is None or head_dim is None else n_kv_heads * head_dim
    values = float(parameters) + kv_cache_values(layers, tokens, kv_width, batch, windows)
    per_value = FORMAT_BYTES[fmt] + (SCALE_BYTES / group if fmt.startswith("int") else 0.0)
    return values * per_value


def optimizer_state_elements(shapes: Iterable[Sequence[int]], method: str, max_dim: int = 1200) -> int:
    """Elements of optimizer state (persistent, plus AdaHessian's two per-step vectors) for
    parameter tensors of ``shapes`` under ``method`` (see the module docstring). ``max_dim``:
    Shampoo's largest dimension that keeps a full statistic (larger ones keep a diagonal)."""
    if method not in OPTIMIZER_METHODS:
        raise ValueError(f"method: expected one of {list(OPTIMIZER_METHODS)}, got {method!r}")
    check_int("max_dim", max_dim, minimum=1)
    total = 0
    for shape in check_shapes("shapes", shapes):
        n = math.prod(shape)
        if method == "sgd_momentum":
            total += n
        elif method == "adam":
            total += 2 * n
        elif method == "adahessian":
            total += 2 * n + 2 * n  # exp_avg, exp_hessian_diag_sq; Rademacher v and Hv per step
        elif method == "shampoo":  # statistic + cached inverse root per dimension, and momentum
            total += n + sum(2 * (d * d if d <= max_dim else d) for d in shape or (1,))
    return total


def memory_over_sgd(shapes: Sequence[Sequence[int]], method: str, max_dim: int = 1200) -> float:
    """(parameters + gradients + optimizer state) under ``method`` over the same for plain SGD
    (parameters + gradients), all fp32: how many times SGD's memory the method needs.
    ValueError for shapes that hold no parameter (the ratio is undefined)."""
    checked = check_shapes("shapes", shapes)
    n = sum(math.prod(s) for s in checked)
    if n == 0:
        raise ValueError(f"shapes: expected parameter shapes holding at least one element, got {checked!r:.80}")
    return (2 * n + optimizer_state_elements(checked, method, max_dim)) / (2 * n)
