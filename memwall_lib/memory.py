"""Training-memory accounting (Figure 4): parameters, gradients, optimizer state and the
activations autograd saves for backward, measured for any ``torch.nn.Module``.

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
Optimizer state follows ``torch.optim`` exactly (checked by :func:`measure_optimizer_step`):
SGD with momentum keeps one ``momentum_buffer`` per parameter; Adam/AdamW keep
``exp_avg`` and ``exp_avg_sq`` per parameter plus a float32 ``step`` scalar (4 bytes) per
parameter tensor. Mixed precision keeps 16-bit parameters and gradients and an fp32 master
copy of the parameters, counted with the optimizer state (as in ZeRO, Rajbhandari et al. 2020).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .data import DATE_RULES, device_dates, memory_capacity_gb
from .measure import using_threads
from .params import Param

#: 1 GB = 1e9 bytes (the unit of every ``*_gb`` value).
GB: float = 1e9

PRECISIONS: tuple[str, ...] = ("fp32", "mixed")
OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd_momentum", "adam", "adamw")
CONVENTIONS: tuple[str, ...] = ("paper_convention", "full")
#: Date rules of :func:`gpu_memory_by_year`.

#: Bytes per element of parameters and gradients, by precision.
_PARAM_BYTES = {"fp32": 4, "mixed": 2}
#: fp32 tensors the optimizer keeps per parameter element, and float32 scalars per tensor.
_STATE_PER_ELEMENT = {"sgd": 0, "sgd_momentum": 1, "adam": 2, "adamw": 2}
_OPTIMIZER_LABELS = {"sgd": "SGD", "sgd_momentum": "SGD with momentum", "adam": "Adam", "adamw": "AdamW"}
_STATE_SCALARS_PER_TENSOR = {"sgd": 0, "sgd_momentum": 0, "adam": 1, "adamw": 1}


def _check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


# --------------------------------------------------------------------------- storages
def storage_key(tensor: Any) -> int:
    """An identity of ``tensor``'s storage, shared by its views and in-place results.

    The address of the C++ ``StorageImpl`` (``untyped_storage()._cdata``): unique among live
    storages, on every device including ``meta`` (where ``data_ptr()`` is 0 for all).
    """
    return int(tensor.untyped_storage()._cdata)


def storage_nbytes(tensor: Any) -> int:
    """Bytes of ``tensor``'s whole storage (a view counts the storage it keeps alive)."""
    return int(tensor.untyped_storage().nbytes())


def _tensors_in(obj: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_leaves

    if hasattr(obj, "to_tuple") and callable(obj.to_tuple):  # transformers ModelOutput
        obj = obj.to_tuple()
    return [t for t in tree_leaves(obj) if isinstance(t, torch.Tensor)]


# --------------------------------------------------------------------------- activations
@dataclass(frozen=True)
class ActivationCount:
    """What one forward pass (with its loss) keeps for backward, in bytes.

    ``saved_bytes``: distinct storages autograd saved for backward, parameters and buffers
    excluded; ``feature_map_bytes``: distinct storages output by leaf modules (the paper's
    "feature maps"), parameters and buffers excluded; ``saved_tensors``: pack-hook calls
    counted; ``saved_storages``: distinct storages among them; ``parameter_saves``: pack-hook
    calls on parameters or buffers (excluded); ``device``: where the pass ran.
    """

    saved_bytes: int
    feature_map_bytes: int
    saved_tensors: int
    saved_storages: int
    parameter_saves: int
    device: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_activations(model: Any, forward: Callable[[Any], Any]) -> ActivationCount:
    """Run ``forward(model)`` (the forward pass and the loss) and count what autograd saves.

    Works on any device; on ``meta`` nothing is allocated. Storages are identified with
    :func:`storage_key`; every counted tensor is referenced until the count ends, so a
    storage address cannot be reused by another tensor meanwhile.
    """
    import torch

    excluded = {storage_key(t) for t in [*model.parameters(), *model.buffers()]}
    saved: dict[int, tuple[int, Any]] = {}
    maps: dict[int, tuple[int, Any]] = {}
    counts = {"saved": 0, "params": 0}

    def pack(t: Any) -> Any:
        key = storage_key(t)
        if key in excluded:
            counts["params"] += 1
        else:
            counts["saved"] += 1
            saved.setdefault(key, (storage_nbytes(t), t))
        return t

    def on_output(_module: Any, _inputs: Any, output: Any) -> None:
        for t in _tensors_in(output):
            key = storage_key(t)
            if key not in excluded:
                maps.setdefault(key, (storage_nbytes(t), t))

    first = next(iter(model.parameters()), None)
    if first is None:
        raise ValueError("model: expected a module with parameters (nothing to train)")
    device = first.device.type
    leaves = [m for m in model.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(on_output) for m in leaves]
    try:
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = forward(model)
        del out
    finally:
        for h in handles:
            h.remove()
    result = ActivationCount(
        saved_bytes=sum(b for b, _ in saved.values()),
        feature_map_bytes=sum(b for b, _ in maps.values()),
        saved_tensors=counts["saved"], saved_storages=len(saved),
        parameter_saves=counts["params"], device=device)
    saved.clear()
    maps.clear()
    return result


# --------------------------------------------------------------------------- parameters, optimizer
def _trainable(model: Any) -> list[Any]:
    return [p for p in model.parameters() if p.requires_grad]


def parameter_count(model: Any) -> tuple[int, int]:
    """(elements, tensors) of the trainable parameters (tied weights counted once)."""
    ps = _trainable(model)
    return sum(p.numel() for p in ps), len(ps)


def parameter_bytes(model: Any, precision: str = "fp32") -> int:
    """Bytes of the trainable parameters as the forward pass uses them (fp32: 4 per element;
    mixed: 2 per element, the fp32 master copy being optimizer state)."""
    _check_choice("precision", precision, PRECISIONS)
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
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("precision", precision, PRECISIONS)
    n, tensors = parameter_count(model)
    state = 4 * n * _STATE_PER_ELEMENT[optimizer] + 4 * tensors * _STATE_SCALARS_PER_TENSOR[optimizer]
    master = 4 * n if precision == "mixed" else 0
    return state + master


def make_optimizer(name: str, params: Iterable[Any]) -> Any:
    """The ``torch.optim`` optimizer ``name`` (sgd, sgd_momentum with momentum 0.9, adam, adamw)."""
    import torch

    _check_choice("optimizer", name, OPTIMIZERS)
    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4)
    return torch.optim.AdamW(params, lr=1e-4)


def _state_tensor_bytes(optimizer: Any) -> int:
    import torch

    seen: dict[int, int] = {}
    for state in optimizer.state.values():
        for v in state.values():
            if isinstance(v, torch.Tensor):
                seen.setdefault(storage_key(v), storage_nbytes(v))
    return sum(seen.values())


def measure_optimizer_step(model: Any, forward: Callable[[Any], Any], optimizer: str = "adam",
                           precision: str = "fp32") -> dict[str, int]:
    """Run one real training step and return the bytes really held, read from the tensors:
    ``parameters`` (the model's trainable parameters), ``gradients`` (their ``.grad``) and
    ``optimizer_state`` (every tensor in ``optimizer.state``, plus the fp32 master weights
    under mixed precision, where the model must already be in 16-bit).

    ``forward(model)`` returns the loss. Used to check :func:`optimizer_state_bytes`.
    """
    import torch

    _check_choice("precision", precision, PRECISIONS)
    params = _trainable(model)
    if precision == "mixed":
        if any(p.dtype not in (torch.float16, torch.bfloat16) for p in params):
            raise ValueError("precision 'mixed': cast the model to float16 or bfloat16 first")
        master = [p.detach().float().clone().requires_grad_(True) for p in params]
        opt = make_optimizer(optimizer, master)
    else:
        master = []
        opt = make_optimizer(optimizer, params)
    model.zero_grad(set_to_none=True)
    forward(model).float().backward()
    grads = sum(storage_nbytes(p.grad) for p in params if p.grad is not None)
    if master:
        for m, p in zip(master, params):
            m.grad = p.grad.float()
        opt.step()
        with torch.no_grad():
            for m, p in zip(master, params):
                p.copy_(m)
        for m in master:
            m.grad = None
    else:
        opt.step()
    state = _state_tensor_bytes(opt) + sum(storage_nbytes(m) for m in master)
    return {"parameters": sum(storage_nbytes(p) for p in params), "gradients": grads,
            "optimizer_state": state}


# --------------------------------------------------------------------------- the accounting
@dataclass(frozen=True)
class TrainingMemory:
    """Memory to train one model, in bytes, with both accountings.

    ``activation_bytes`` are saved for backward (measured); ``feature_map_bytes`` are the
    layer outputs of the paper's convention (measured); ``parameters`` is the element count.
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

    def accounting(self, convention: str = "full") -> dict[str, float]:
        """``{"parameters_gb", "gradients_gb", "optimizer_gb", "activations_gb", "total_gb"}``
        in GB (1e9 bytes). ``full``: with gradients and saved activations;
        ``paper_convention``: gradients 0, feature maps (layer outputs) as activations."""
        _check_choice("convention", convention, CONVENTIONS)
        grads = self.gradient_bytes if convention == "full" else 0
        acts = self.activation_bytes if convention == "full" else self.feature_map_bytes
        parts = {"parameters_gb": self.parameter_bytes / GB, "gradients_gb": grads / GB,
                 "optimizer_gb": self.optimizer_bytes / GB, "activations_gb": acts / GB}
        parts["total_gb"] = (self.parameter_bytes + grads + self.optimizer_bytes + acts) / GB
        return parts

    def total_bytes(self, convention: str = "full") -> int:
        _check_choice("convention", convention, CONVENTIONS)
        if convention == "full":
            return self.parameter_bytes + self.gradient_bytes + self.optimizer_bytes + self.activation_bytes
        return self.parameter_bytes + self.optimizer_bytes + self.feature_map_bytes


def account(model: Any, forward: Callable[[Any], Any], *, optimizer: str = "adam",
            precision: str = "fp32", name: str = "", batch_size: int = 0) -> TrainingMemory:
    """The training memory of ``model`` for one step of ``forward(model)`` (forward + loss)
    with ``optimizer`` at ``precision``. Build the model and inputs on ``meta`` to allocate
    nothing; under ``mixed`` the model must already be in 16-bit (the forward pass then
    saves 16-bit activations)."""
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("precision", precision, PRECISIONS)
    sizes = sorted({p.element_size() for p in _trainable(model)})
    if sizes and sizes != [_PARAM_BYTES[precision]]:
        raise ValueError(f"precision: {precision!r} expects {_PARAM_BYTES[precision]}-byte parameters, but the "
                         f"model's trainable parameters have {sizes}-byte elements; convert the model "
                         "(fp32: model.float(); mixed: model.half() or .bfloat16()) or pass the matching precision")
    acts = measure_activations(model, forward)
    return TrainingMemory(
        name=name, optimizer=optimizer, precision=precision, batch_size=int(batch_size),
        parameters=parameter_count(model)[0],
        parameter_bytes=parameter_bytes(model, precision),
        gradient_bytes=gradient_bytes(model, precision),
        optimizer_bytes=optimizer_state_bytes(model, optimizer, precision),
        activation_bytes=acts.saved_bytes, feature_map_bytes=acts.feature_map_bytes,
        activations=acts)


# --------------------------------------------------------------------------- the paper's models
@dataclass(frozen=True)
class PaperModel:
    """One bar of Figure 4: the model, its year, input and batch size, optimizer."""

    key: str
    label: str
    year: int
    domain: str  # "cv" or "nlp"
    optimizer: str
    batch_size: int
    input_size: int  # image side in pixels (cv) or tokens per sequence (nlp)


#: The models and settings of the paper's Figure 4 (CV: SGD with momentum; NLP: Adam).
PAPER_MODELS: dict[str, PaperModel] = {m.key: m for m in (
    PaperModel("alexnet", "AlexNet", 2012, "cv", "sgd_momentum", 128, 227),
    PaperModel("vgg19", "VGG19", 2014, "cv", "sgd_momentum", 64, 224),
    PaperModel("resnet152", "ResNet152", 2015, "cv", "sgd_momentum", 32, 224),
    PaperModel("densenet201", "DenseNet201", 2016, "cv", "sgd_momentum", 32, 224),
    PaperModel("resnext101_64x4d", "ResNeXt101 64x4d", 2016, "cv", "sgd_momentum", 32, 224),
    PaperModel("transformer_big", "Transformer big", 2017, "nlp", "adam", 6, 512),
    PaperModel("bert_large", "BERT Large", 2018, "nlp", "adam", 16, 512),
    PaperModel("gpt2_xl", "GPT-2 (1.5B)", 2019, "nlp", "adam", 1, 1024),
)}


def build_paper_model(key: str, *, batch_size: int | None = None, input_size: int | None = None,
                      device: str = "meta", precision: str = "fp32") -> tuple[Any, Callable[[Any], Any]]:
    """The model ``key`` of :data:`PAPER_MODELS` in train mode on ``device`` and its training
    forward ``forward(model) -> loss`` on a batch of ``batch_size`` inputs of ``input_size``
    (defaults: the paper's). Losses: cross-entropy over 1000 classes (CV), next-token
    cross-entropy (Transformer big on its target, GPT-2), masked-LM cross-entropy (BERT)."""
    import torch

    from . import models

    _check_choice("model", key, list(PAPER_MODELS))
    _check_choice("precision", precision, PRECISIONS)
    spec = PAPER_MODELS[key]
    b = int(batch_size or spec.batch_size)
    n = int(input_size or spec.input_size)
    half = torch.bfloat16 if precision == "mixed" else None
    fdtype = half or torch.float32
    f = torch.nn.functional
    if spec.domain == "cv":
        model = models.build_torchvision(key, device).train()
        if half is not None:
            model = model.to(half)
        with torch.device(device):
            images = torch.zeros(b, 3, n, n, dtype=fdtype)
            labels = torch.zeros(b, dtype=torch.long)
        return model, lambda m: f.cross_entropy(m(images).float(), labels)
    with torch.device(device):
        tokens = torch.zeros(b, n, dtype=torch.long)
    if key == "transformer_big":
        model = models.build_transformer_big(device, dtype=half, max_positions=max(1024, n))

        def forward(m: Any) -> Any:
            logits = m(tokens, tokens)
            return f.cross_entropy(logits.float().flatten(0, 1), tokens.flatten())
        return model, forward
    if key == "bert_large":
        model = models.build_bert_mlm("bert-large", max(512, n), device, dtype=half)
        return model, lambda m: m(input_ids=tokens, labels=tokens).loss
    model = models.build_from_config(models.gpt2_config("gpt2-xl", max(1024, n)), device=device,
                                     dtype=half).train()
    return model, lambda m: m(input_ids=tokens, labels=tokens).loss


def paper_model_memory(key: str, *, batch_size: int | None = None, input_size: int | None = None,
                       optimizer: str | None = None, precision: str = "fp32",
                       device: str = "meta") -> TrainingMemory:
    """:func:`account` for a model of Figure 4 (defaults: the paper's settings, on meta)."""
    spec = PAPER_MODELS.get(key)
    if spec is None:
        raise ValueError(f"model: expected one of {list(PAPER_MODELS)}, got {key!r}")
    model, forward = build_paper_model(key, batch_size=batch_size, input_size=input_size,
                                       device=device, precision=precision)
    return account(model, forward, optimizer=optimizer or spec.optimizer, precision=precision,
                   name=key, batch_size=int(batch_size or spec.batch_size))


def gpt_memory(config: Any, *, batch_size: int = 1, tokens: int | None = None,
               optimizer: str = "adam", precision: str = "fp32", name: str = "") -> TrainingMemory:
    """The training memory of a GPT-2-architecture language model built from ``config``
    (e.g. :func:`memwall_lib.models.gpt3_config`) on ``meta``: nothing is allocated."""
    import torch

    from . import models

    n = int(tokens or config.n_positions)
    model = models.build_from_config(config, device="meta",
                                     dtype=torch.bfloat16 if precision == "mixed" else None).train()
    ids = torch.zeros(batch_size, n, dtype=torch.long, device="meta")
    return account(model, lambda m: m(input_ids=ids, labels=ids).loss, optimizer=optimizer,
                   precision=precision, name=name or getattr(config, "model_type", ""),
                   batch_size=batch_size)


# --------------------------------------------------------------------------- meta vs real
@dataclass(frozen=True)
class CrossCheck:
    """The same forward counted on ``meta`` and on a real CPU run, in bytes.

    ``real_by_data_ptr`` recounts the real run with an independent identity (the storage's
    data pointer), which ``meta`` cannot offer.
    """

    name: str
    meta: ActivationCount
    real: ActivationCount
    real_by_data_ptr: int

    @property
    def equal(self) -> bool:
        return (self.meta.saved_bytes == self.real.saved_bytes == self.real_by_data_ptr
                and self.meta.feature_map_bytes == self.real.feature_map_bytes
                and self.meta.saved_storages == self.real.saved_storages)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "meta": self.meta.to_dict(), "real": self.real.to_dict(),
                "real_saved_bytes_by_data_ptr": self.real_by_data_ptr, "equal": self.equal}


def _saved_bytes_by_data_ptr(model: Any, forward: Callable[[Any], Any]) -> int:
    import torch

    excluded = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen: dict[int, tuple[int, Any]] = {}

    def pack(t: Any) -> Any:
        s = t.untyped_storage()
        if s.data_ptr() not in excluded:
            # zero-size storages have no address: key them by object so each counts (0 bytes)
            seen.setdefault(s.data_ptr() or -id(t), (s.nbytes(), t))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        forward(model)
    return sum(b for b, _ in seen.values())


def cross_check_meta_vs_real(build: Callable[[str], tuple[Any, Callable[[Any], Any]]],
                             name: str = "") -> CrossCheck:
    """Count the activations of ``build(device) -> (model, forward)`` on meta and on CPU."""
    import torch

    torch.manual_seed(0)
    model, forward = build("meta")
    meta = measure_activations(model, forward)
    with using_threads(1):
        model, forward = build("cpu")
        real = measure_activations(model, forward)
        by_ptr = _saved_bytes_by_data_ptr(model, forward)
    return CrossCheck(name, meta, real, by_ptr)


# --------------------------------------------------------------------------- GPU memory by year
def gpu_memory_by_year(devices: pd.DataFrame, years: Iterable[int],
                       date_rule: str = "availability",
                       exclude: Sequence[str] = ("dual-GPU",)) -> pd.DataFrame:
    """The largest memory of a GPU available in each year, for a step line.

    ``devices`` is :func:`memwall_lib.data.load_hardware`'s ``devices`` table. A GPU counts
    from its date: ``availability_date`` when given, else ``announce_date``
    (``date_rule="availability"``), or always ``announce_date``
    (``"announce"``). Devices whose name contains one of ``exclude`` (case-insensitive
    substrings, e.g. ``"dual-GPU"`` for boards carrying two GPUs) are left out. Returns columns ``year``, ``memory_gb`` (GB = 1e9 bytes; NaN if no GPU
    with a known capacity is dated by the end of that year) and ``device``.
    """
    _check_choice("date_rule", date_rule, DATE_RULES)
    needed = {"device_type", "announce_date", "availability_date", "memory_capacity_GiB", "name"}
    missing = needed - set(devices.columns)
    if missing:
        raise ValueError(f"devices: missing column(s) {sorted(missing)}")
    gpus = devices[(devices["device_type"] == "gpu") & devices["memory_capacity_GiB"].notna()]
    lowered = [e.lower() for e in exclude]
    gpus = gpus[[not any(e in str(n).lower() for e in lowered) for n in gpus["name"]]]

    dated = list(zip([d.year for d in device_dates(gpus, date_rule)], memory_capacity_gb(gpus).astype(float),
                     gpus["name"].astype(str)))
    rows = []
    for year in sorted({int(y) for y in years}):
        avail = [(mem, name) for y, mem, name in dated if y <= year]
        if avail:
            mem, name = max(avail, key=lambda t: (t[0], t[1]))
            rows.append({"year": year, "memory_gb": mem, "device": name})
        else:
            rows.append({"year": year, "memory_gb": math.nan, "device": None})
    return pd.DataFrame(rows, columns=["year", "memory_gb", "device"])


# --------------------------------------------------------------------------- Figure 4
#: Settings of the small real runs of :func:`cross_check_paper_model` (batch, image side, tokens).
CROSS_CHECK_BATCH, CROSS_CHECK_IMAGE, CROSS_CHECK_TOKENS = 2, 64, 32


def cross_check_paper_model(key: str) -> CrossCheck:
    """:func:`cross_check_meta_vs_real` for a model of Figure 4 at a small batch
    (:data:`CROSS_CHECK_BATCH` inputs of :data:`CROSS_CHECK_IMAGE` pixels or
    :data:`CROSS_CHECK_TOKENS` tokens): the real run allocates the full-size weights."""
    spec = PAPER_MODELS[key]
    size = CROSS_CHECK_IMAGE if spec.domain == "cv" else CROSS_CHECK_TOKENS
    return cross_check_meta_vs_real(
        lambda d: build_paper_model(key, batch_size=CROSS_CHECK_BATCH, input_size=size, device=d), key)


def resolve_settings(models: Sequence[str], batch_sizes: Sequence[int], optimizer: str) -> list[tuple[str, int, str]]:
    """(model, batch size, optimizer) per model from the notebook parameters: an empty
    ``batch_sizes`` means the paper's; optimizer ``"paper"`` means each model's own."""
    from .params import ParameterError

    if batch_sizes and len(batch_sizes) != len(models):
        raise ParameterError(f"parameter 'batch_sizes': expected {len(models)} values (one per model in "
                             f"'models') or an empty list, got {list(batch_sizes)}")
    if len(set(models)) != len(models):
        raise ParameterError(f"parameter 'models': each model at most once, got {list(models)}")
    return [(m, int(batch_sizes[i]) if batch_sizes else PAPER_MODELS[m].batch_size,
             PAPER_MODELS[m].optimizer if optimizer == "paper" else optimizer)
            for i, m in enumerate(models)]


def account_models(settings: Sequence[tuple[str, int, str]], precision: str = "fp32") -> dict[str, TrainingMemory]:
    """:func:`paper_model_memory` (on meta) for each (model, batch size, optimizer)."""
    return {m: paper_model_memory(m, batch_size=b, optimizer=o, precision=precision) for m, b, o in settings}


def gpu_line_for(results: Mapping[str, TrainingMemory], devices: pd.DataFrame,
                 date_rule: str = "availability", exclude: Sequence[str] = ("dual-GPU",)) -> pd.DataFrame:
    """:func:`gpu_memory_by_year` over the years of the models in ``results``, with a
    ``model`` column: the GPU memory (GB) each model is compared with."""
    years = [PAPER_MODELS[k].year for k in results]
    line = gpu_memory_by_year(devices, range(min(years), max(years) + 1), date_rule, exclude)
    by_year = line.set_index("year")
    rows = [{"model": k, "year": PAPER_MODELS[k].year, "memory_gb": float(by_year.loc[PAPER_MODELS[k].year, "memory_gb"]),
             "device": by_year.loc[PAPER_MODELS[k].year, "device"]} for k in results]
    return pd.DataFrame(rows)


def accounting_table(results: Mapping[str, TrainingMemory]) -> pd.DataFrame:
    """Both accountings of every model side by side, in GB (1e9 bytes), one row per model."""
    rows = []
    for key, r in results.items():
        row: dict[str, Any] = {"model": PAPER_MODELS[key].label if key in PAPER_MODELS else key,
                               "batch": r.batch_size, "optimizer": r.optimizer,
                               "parameters (M)": r.parameters / 1e6}
        for conv, short in (("paper_convention", "paper"), ("full", "full")):
            a = r.accounting(conv)
            row[f"{short}: activations GB"] = a["activations_gb"]
            row[f"{short}: total GB"] = a["total_gb"]
        row["full / paper"] = r.total_bytes("full") / r.total_bytes("paper_convention")
        rows.append(row)
    return pd.DataFrame(rows)


def sidecar_data(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame,
                 cross_checks: Sequence[CrossCheck] = ()) -> dict[str, Any]:
    """The sidecar ``data`` of Figure 4: both accountings per model (GB), the models' settings,
    the GPU memory step line, and the meta-vs-real cross-checks (bytes)."""
    return {
        "paper_convention": {k: r.accounting("paper_convention") for k, r in results.items()},
        "full": {k: r.accounting("full") for k, r in results.items()},
        "models": {k: {"label": PAPER_MODELS[k].label, "year": PAPER_MODELS[k].year,
                       "domain": PAPER_MODELS[k].domain, "batch_size": r.batch_size,
                       "input_size": PAPER_MODELS[k].input_size, "optimizer": r.optimizer,
                       "precision": r.precision, "parameters": r.parameters,
                       "saved_tensors": r.activations.saved_tensors,
                       "saved_storages": r.activations.saved_storages} for k, r in results.items()},
        "gpu_memory": {"model": list(gpu["model"]), "year": [int(y) for y in gpu["year"]],
                       "memory_gb": [float(v) for v in gpu["memory_gb"]], "device": list(gpu["device"])},
        "cross_check": [c.to_dict() for c in cross_checks],
    }


def figure_claims(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame) -> list[Any]:
    """Claims of Figure 4, computed from the accounting and the GPU step line: CV models fit
    and NLP models exceed the GPU memory of their year (in each accounting), and how far the
    paper's convention is from the full accounting."""
    from .figures import Claim

    limit = dict(zip(gpu["model"], gpu["memory_gb"]))
    claims = []
    for conv, name in (("paper_convention", "the paper's convention"), ("full", "the full accounting")):
        for domain, verb in (("cv", "fit within"), ("nlp", "exceeds")):
            keys = [k for k in results if PAPER_MODELS[k].domain == domain]
            if not keys:
                continue
            totals = {k: results[k].accounting(conv)["total_gb"] for k in keys}
            ok = [k for k in keys if (totals[k] <= limit[k] if domain == "cv" else totals[k] > limit[k])]
            detail = "; ".join(f"{PAPER_MODELS[k].label} {totals[k]:.1f} vs {limit[k]:.0f} GB" for k in keys)
            what = "CV models" if domain == "cv" else "NLP models"
            claims.append(Claim(
                f"fig4.{domain}_{'fit' if domain == 'cv' else 'exceed'}_gpu.{conv}",
                f"Memory to train the {what} {verb} the largest GPU memory of their year ({name})",
                paper=len(keys), reproduced=len(ok), ci95=None, holds=len(ok) == len(keys),
                rule=f"count of {what} whose {conv} total {'<=' if domain == 'cv' else '>'} the GPU "
                     "memory of their year; holds if all of them (the paper's figure, read qualitatively)",
                note=detail))
    ratios = [r.total_bytes("full") / r.total_bytes("paper_convention") for r in results.values()]
    med = float(np.median(ratios))
    claims.append(Claim(
        "fig4.full_vs_paper_convention",
        "The paper's convention (parameters + optimizer + layer outputs, no gradients) measures the "
        "memory to train (median ratio of full accounting to paper convention)",
        paper=1.0, reproduced=med, ci95=None, holds=0.8 <= med <= 1.25,
        rule="holds if the median ratio full / paper-convention total lies in [0.8, 1.25]",
        note=f"ratio over the models {min(ratios):.3g}-{max(ratios):.3g}; "
             "full = parameters + gradients + optimizer state + tensors saved for backward"))
    return claims


def plot_training_memory(results: Mapping[str, TrainingMemory], gpu: pd.DataFrame) -> Any:
    """Stacked bars per model (parameters, gradients, optimizer state, activations; GB) in
    both accountings side by side, with the GPU memory of each model's year as a step line."""
    import matplotlib.pyplot as plt

    from .plotting import PALETTE, apply_style

    apply_style()
    keys = list(results)
    x = np.arange(len(keys))
    limit = np.asarray(gpu["memory_gb"], dtype=float)
    parts = [("parameters_gb", "parameters", PALETTE[0]), ("gradients_gb", "gradients", PALETTE[3]),
             ("optimizer_gb", "optimizer state", PALETTE[4]), ("activations_gb", None, PALETTE[2])]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2), sharey=True)
    titles = {"paper_convention": "Paper's convention: parameters + optimizer + feature maps",
              "full": "Full: + gradients, tensors saved for backward"}
    top = 0.0
    for ax, conv in zip(axes, CONVENTIONS):
        acc = [results[k].accounting(conv) for k in keys]
        bottom = np.zeros(len(keys))
        for field_, label, color in parts:
            vals = np.array([a[field_] for a in acc])
            if conv == "paper_convention" and field_ == "gradients_gb":
                continue
            if label is None:
                label = "feature maps (layer outputs)" if conv == "paper_convention" else "saved activations"
            ax.bar(x, vals, 0.7, bottom=bottom, color=color, label=label, edgecolor="white", linewidth=0.5)
            bottom += vals
        for xi, total in zip(x, bottom):
            ax.annotate(f"{total:.1f}", (xi, total), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8.5)
        sx = np.concatenate([[x[0] - 0.5], x + 0.5])
        ax.step(sx, np.concatenate([limit[:1], limit]), where="pre", color=PALETTE[7], linewidth=1.8,
                label="largest GPU memory of the year")
        devices = list(gpu["device"])
        for i, (dev, mem) in enumerate(zip(devices, limit)):
            if isinstance(dev, str) and (i == 0 or dev != devices[i - 1]):
                ax.annotate(dev, (x[i] - 0.45, mem), xytext=(0, 2), textcoords="offset points",
                            fontsize=7, color="0.3", va="bottom")
        ax.set_xticks(x, [f"{PAPER_MODELS[k].label}\n{PAPER_MODELS[k].year}" for k in keys], rotation=35,
                      ha="right", fontsize=9)
        ax.set_title(titles[conv])
        ax.grid(axis="x", visible=False)
        top = max(top, float(bottom.max()), float(np.nanmax(limit)))
    axes[0].set_ylabel("memory to train (GB = 1e9 bytes)")
    axes[0].set_ylim(0, top * 1.12)
    for ax in axes:
        ax.legend(loc="upper left")
    precisions = sorted({r.precision for r in results.values()})
    by_domain = {}
    for key, r in results.items():
        by_domain.setdefault(PAPER_MODELS[key].domain.upper(), set()).add(_OPTIMIZER_LABELS[r.optimizer])
    optimizers = ", ".join(f"{d}: {' / '.join(sorted(o))}" for d, o in by_domain.items())
    fig.suptitle(f"Figure 4: memory to train each model, measured ({', '.join(precisions)}; {optimizers})",
                 fontsize=12)
    fig.tight_layout()
    return fig


#: Parameters of notebooks/04_training_memory.ipynb.
PARAMETERS: dict[str, Param] = {
    "models": Param(list, "models of Figure 4 to account for, in plotting order", item_type=str,
                    choices=list(PAPER_MODELS), min_items=1),
    "batch_sizes": Param(list, "batch size per model, in the order of `models`; [] means the paper's",
                         item_type=int, minimum=1),
    "precision": Param(str, "fp32 (the paper's) or mixed (16-bit parameters, gradients and "
                            "activations; fp32 master weights with the optimizer state)", choices=PRECISIONS),
    "optimizer": Param(str, "'paper' (SGD with momentum for CV, Adam for NLP) or one optimizer for all",
                       choices=("paper", *OPTIMIZERS)),
    "gpu_date_rule": Param(str, "which date makes a GPU available in a year", choices=DATE_RULES),
    "gpu_exclude": Param(list, "leave out GPUs whose name contains one of these (e.g. dual-GPU boards)",
                         item_type=str),
    "cross_check_models": Param(list, "models also counted on a small real CPU run, to compare with meta",
                                item_type=str, choices=list(PAPER_MODELS)),
    "data_dir": Param(str, "folder with compute_devices.csv (Figure 1's hardware data)", path="dir"),
    "output_dir": Param(str, "where figures are written", path="out_dir"),
}
