"""Training-memory accounting: parameters, gradients, optimizer state and the activations
autograd saves for backward (:mod:`.saved`), measured for any ``torch.nn.Module``.

Activations are *measured*, not estimated by formula: the forward pass (and loss) runs under
:func:`torch.autograd.graph.saved_tensors_hooks`, and every tensor autograd packs for the
backward pass is counted once per storage (views and in-place results share a storage).
Parameters (and buffers) that autograd saves, e.g. the weight of a linear layer, are not
activations: they are excluded here and counted once under parameters.

Run it on the ``meta`` device and nothing is allocated: a GPT-3 175B configuration is
analysed in seconds on a laptop. Storage identity on meta cannot use ``data_ptr()`` (0 for
every meta tensor); :func:`storage_key` uses the address of the C++ storage object instead,
and the counter keeps a reference to every counted tensor until the count is done, so no
address is reused while counting. :func:`cross_check_meta_vs_real` shows that the meta count
equals the count of a real CPU run byte for byte.

Two accountings are reported side by side (:meth:`TrainingMemory.accounting`):

- ``full``: parameters + gradients + optimizer state + saved activations (what a training
  step really holds at the start of backward, before any gradient is freed);
- ``paper_convention`` (the paper's Figure 4): parameters + optimizer state + feature maps,
  where feature maps are the outputs of every layer (leaf module) in the forward pass, each
  storage once, and gradients are not counted.

Units: every ``*_bytes`` value is in bytes; ``*_gb`` values are in GB = 1e9 bytes.
Optimizer state follows ``torch.optim`` exactly (the tests check it against a real optimizer step):
SGD with momentum keeps one ``momentum_buffer`` per parameter; Adam/AdamW keep
``exp_avg`` and ``exp_avg_sq`` per parameter plus a float32 ``step`` scalar (4 bytes) per
parameter tensor. Mixed precision keeps 16-bit parameters and gradients and an fp32 master
copy of the parameters, counted with the optimizer state (as in ZeRO, Rajbhandari et al. 2020).

Dropout masks are counted as the target device stores them (``mask_target``, see
:mod:`.saved`): ``"cuda"`` (the default: the paper's models trained on GPUs) counts 1 byte
per mask element, as CUDA's ``native_dropout`` keeps a bool mask; ``"cpu"`` counts them as
the CPU stores them (the input's dtype, 4 bytes in fp32).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...core.checks import check_callable, check_int, check_module
from .live import PeakCount
from .saved import DROPOUT_MASK_BYTES, ActivationCount, mask_bytes_for, measure_activations

#: 1 GB = 1e9 bytes (the unit of every ``*_gb`` value).
GB: float = 1e9

PRECISIONS: tuple[str, ...] = ("fp32", "mixed")
OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd_momentum", "adam", "adamw")
CONVENTIONS: tuple[str, ...] = ("paper_convention", "full")
#: Targets whose dropout-mask bytes the accounting can follow (:data:`.storage.DROPOUT_MASK_BYTES`).
MASK_TARGETS: tuple[str, ...] = tuple(DROPOUT_MASK_BYTES)
#: GPT-2's GELU: ``eager`` is Hugging Face's ``gelu_new`` (tanh formula in separate elementwise
#: ops, each saving its own tensor); ``fused`` is one ``gelu(approximate="tanh")`` (saves its input).
GELU_VARIANTS: dict[str, str] = {"eager": "gelu_new", "fused": "gelu_pytorch_tanh"}

#: Bytes per element of parameters and gradients, by precision.
_PARAM_BYTES = {"fp32": 4, "mixed": 2}
#: fp32 tensors the optimizer keeps per parameter element, and float32 scalars per tensor.
_STATE_PER_ELEMENT = {"sgd": 0, "sgd_momentum": 1, "adam": 2, "adamw": 2}
OPTIMIZER_LABELS = {"sgd": "SGD", "sgd_momentum": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}
_STATE_SCALARS_PER_TENSOR = {"sgd": 0, "sgd_momentum": 0, "adam": 1, "adamw": 1}


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


# --------------------------------------------------------------------------- parameters, optimizer
def _trainable(model: Any) -> list[Any]:
    return [p for p in model.parameters() if p.requires_grad]


def parameter_count(model: Any) -> tuple[int, int]:
    """(elements, tensors) of the trainable parameters (tied weights counted once)."""
    ps = _trainable(check_module("model", model))
    return sum(p.numel() for p in ps), len(ps)


def parameter_bytes(model: Any, precision: str = "fp32") -> int:
    """Bytes of the trainable parameters as the forward pass uses them (fp32: 4 per element;
    mixed: 2 per element, the fp32 master copy being optimizer state)."""
    check_choice("precision", precision, PRECISIONS)
    return parameter_count(model)[0] * _PARAM_BYTES[precision]


def gradient_bytes(model: Any, precision: str = "fp32") -> int:
    """Bytes of one gradient per trainable parameter element, in the parameters' precision."""
    return parameter_bytes(model, precision)


def optimizer_state_bytes(model: Any, optimizer: str = "adam", precision: str = "fp32") -> int:
    """Bytes of ``torch.optim`` state after the first step (fp32 state tensors), plus the fp32
    master weights under mixed precision.

    sgd: 0; sgd_momentum: 4 bytes per element (``momentum_buffer``); adam/adamw: 8 bytes per
    element (``exp_avg``, ``exp_avg_sq``) + 4 bytes per tensor (the float32 ``step``).
    """
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("precision", precision, PRECISIONS)
    n, tensors = parameter_count(model)
    state = 4 * n * _STATE_PER_ELEMENT[optimizer] + 4 * tensors * _STATE_SCALARS_PER_TENSOR[optimizer]
    master = 4 * n if precision == "mixed" else 0
    return state + master


@dataclass(frozen=True)
class TrainingMemory:
    """Memory to train one model, in bytes, with both accountings.

    ``activation_bytes`` are saved for backward (measured); ``feature_map_bytes`` are the
    layer outputs of the paper's convention (measured); ``parameters`` is the element count of
    the trainable parameters. Frozen ones (``requires_grad=False``: no gradient, no optimizer
    state) are reported apart, in ``frozen_parameters`` (elements) and
    ``frozen_parameter_bytes``, and are not in the totals. ``peak`` (when asked for, e.g.
    by :func:`~memwall_lib.engines.models.paper_models.paper_model_memory`): the bytes alive
    during a forward, loss and backward (:func:`.live.measure_peak`).
    """

    name: str
    optimizer: str
    precision: str
    batch_size: int
    parameters: int
    parameter_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    activation_bytes: int
    feature_map_bytes: int
    activations: ActivationCount
    frozen_parameters: int = 0
    frozen_parameter_bytes: int = 0
    peak: PeakCount | None = None

    def accounting(self, convention: str = "full") -> dict[str, float]:
        """``{"parameters_gb", "gradients_gb", "optimizer_gb", "activations_gb", "total_gb"}``
        in GB (1e9 bytes). ``full``: with gradients and saved activations;
        ``paper_convention``: gradients 0, feature maps (layer outputs) as activations."""
        check_choice("convention", convention, CONVENTIONS)
        grads = self.gradient_bytes if convention == "full" else 0
        acts = self.activation_bytes if convention == "full" else self.feature_map_bytes
        parts = {
            "parameters_gb": self.parameter_bytes / GB,
            "gradients_gb": grads / GB,
            "optimizer_gb": self.optimizer_bytes / GB,
            "activations_gb": acts / GB,
        }
        parts["total_gb"] = (self.parameter_bytes + grads + self.optimizer_bytes + acts) / GB
        return parts

    def total_bytes(self, convention: str = "full") -> int:
        check_choice("convention", convention, CONVENTIONS)
        if convention == "full":
            return self.parameter_bytes + self.gradient_bytes + self.optimizer_bytes + self.activation_bytes
        return self.parameter_bytes + self.optimizer_bytes + self.feature_map_bytes


def account(
    model: Any,
    forward: Callable[[Any], Any],
    *,
    optimizer: str = "adam",
    precision: str = "fp32",
    name: str = "",
    batch_size: int = 0,
    mask_target: str = "cuda",
) -> TrainingMemory:
    """The training memory of ``model`` for one step of ``forward(model)`` (forward + loss)
    with ``optimizer`` at ``precision``, dropout masks counted as ``mask_target`` ("cuda":
    1 byte each; "cpu": as stored) keeps them. Build the model and inputs on ``meta`` to
    allocate nothing; under ``mixed`` the model must already be in 16-bit (the forward pass
    then saves 16-bit activations). ``batch_size`` (0: not given) is only recorded."""
    check_module("model", model)
    check_callable("forward", forward)
    check_int("batch_size", batch_size, minimum=0)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_choice("precision", precision, PRECISIONS)
    check_choice("mask_target", mask_target, MASK_TARGETS)
    sizes = sorted({p.element_size() for p in _trainable(model)})
    if sizes and sizes != [_PARAM_BYTES[precision]]:
        raise ValueError(
            f"precision: {precision!r} expects {_PARAM_BYTES[precision]}-byte parameters, but the "
            f"model's trainable parameters have {sizes}-byte elements; convert the model "
            "(fp32: model.float(); mixed: model.half() or .bfloat16()) or pass the matching precision"
        )
    frozen = [p for p in model.parameters() if not p.requires_grad]
    acts = measure_activations(model, forward, mask_bytes_for(mask_target))
    return TrainingMemory(
        name=name,
        optimizer=optimizer,
        precision=precision,
        batch_size=int(batch_size),
        parameters=parameter_count(model)[0],
        parameter_bytes=parameter_bytes(model, precision),
        gradient_bytes=gradient_bytes(model, precision),
        optimizer_bytes=optimizer_state_bytes(model, optimizer, precision),
        activation_bytes=acts.saved_bytes,
        feature_map_bytes=acts.feature_map_bytes,
        activations=acts,
        frozen_parameters=sum(p.numel() for p in frozen),
        frozen_parameter_bytes=sum(p.numel() * p.element_size() for p in frozen),
    )
