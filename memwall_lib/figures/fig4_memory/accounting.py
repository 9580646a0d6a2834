"""Figure 4's accounting: the notebook's model settings (batch sizes, optimizers, variants), each
model's memory to train counted on the meta device
(:func:`~memwall_lib.engines.models.paper_models.paper_model_memory`), the small real runs that
cross-check meta, the per-model experiments that look for the authors' feature maps, the
conventions of the activation grid, and the sidecar's numbers of both accountings.

Units: bytes; GB = 1e9 bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ...core.params import ParameterError
from ...engines.memory.from_config import config_model_memory
from ...engines.memory.saved import CrossCheck, cross_check_meta_vs_real, mask_bytes_for
from ...engines.memory.training import TrainingMemory
from ...engines.models.configs import ModelSource
from ...engines.models.paper_models import MODEL_VARIANTS, PAPER_MODELS, build_paper_model, paper_model_memory
from .models import USER_BATCH_SIZE, USER_OPTIMIZER, ModelInfo, paper_info, user_info

#: Experiments that look for the authors' feature maps, per model: settings of
#: :func:`paper_model_memory` and what they change (their saved activations are compared).
AUTHORS_EXPERIMENTS: dict[str, tuple[dict[str, Any], str]] = {
    "alexnet": (
        dict(variant="2012"),
        "2012 AlexNet (two towers, LRN keeping input and output); saved for backward, fp32",
    ),
    "vgg19": ({}, "saved for backward, fp32"),
    "resnet152": ({}, "saved for backward, fp32"),
    "densenet201": ({}, "saved for backward, fp32"),
    "resnext101_64x4d": ({}, "saved for backward, fp32"),
    "transformer_big": (
        dict(variant="separate_embeddings_32k", mask_target="cpu", peak=True),
        "separate source, target and output embeddings, 32000 tokens; peak of forward and backward "
        "(the saved set plus the vocabulary-sized gradients of the loss), fp32, 4-byte dropout masks: "
        "the closest of fig4_tbig.EXPERIMENTS at 32000 tokens, and marginal: only peaks with 4-byte masks "
        "come within 15%, not 1-byte masks (PyTorch on CUDA), 16 bits or fairseq's big recipe "
        "(data.authors_comparison.transformer_big_experiments)",
    ),
    "bert_large": (dict(precision="mixed"), "saved for backward in 16 bits (mixed precision), 1-byte masks"),
    "gpt2_xl": (dict(precision="mixed", gelu="fused"), "saved for backward in 16 bits, 1-byte masks, fused GELU"),
}


def parse_variants(items: Sequence[str]) -> dict[str, str]:
    """``["alexnet:2012", ...]`` -> ``{"alexnet": "2012"}``, each checked against MODEL_VARIANTS."""
    out: dict[str, str] = {}
    for item in items:
        model, _, variant = str(item).partition(":")
        if variant not in MODEL_VARIANTS.get(model, {}):
            known = [f"{m}:{v}" for m, vs in MODEL_VARIANTS.items() for v in vs]
            raise ParameterError(f"parameter 'variants': unknown {item!r}; expected some of {known}")
        out[model] = variant
    return out


#: Settings of the small real runs of :func:`cross_check_paper_model` (batch, image side, tokens).
CROSS_CHECK_BATCH, CROSS_CHECK_IMAGE, CROSS_CHECK_TOKENS = 2, 64, 32


def cross_check_paper_model(key: str, mask_target: str = "cuda", variant: str = "") -> CrossCheck:
    """:func:`cross_check_meta_vs_real` for a model of Figure 4 at a small batch
    (:data:`CROSS_CHECK_BATCH` inputs of :data:`CROSS_CHECK_IMAGE` pixels or
    :data:`CROSS_CHECK_TOKENS` tokens), dropout masks as ``mask_target`` stores them: the
    real run allocates the full-size weights."""
    spec = PAPER_MODELS[key]
    size = CROSS_CHECK_IMAGE if spec.domain == "cv" else CROSS_CHECK_TOKENS
    if variant.startswith("2012"):
        size = spec.input_size  # the 2012 AlexNet has no adaptive pooling: 227 pixels only
    return cross_check_meta_vs_real(
        lambda d: build_paper_model(key, batch_size=CROSS_CHECK_BATCH, input_size=size, device=d, variant=variant),
        key,
        mask_bytes_for(mask_target),
    )


def resolve_settings(models: Sequence[str], batch_sizes: Sequence[int], optimizer: str) -> list[tuple[str, int, str]]:
    """(model, batch size, optimizer) per model key from the notebook parameters: an empty
    ``batch_sizes`` means the paper's (a user's model: :data:`.models.USER_BATCH_SIZE`);
    optimizer ``"paper"`` means each model's own (a user's model: :data:`.models.USER_OPTIMIZER`)."""
    if batch_sizes and len(batch_sizes) != len(models):
        raise ParameterError(
            f"parameter 'batch_sizes': expected {len(models)} values (one per model in "
            f"'models') or an empty list, got {list(batch_sizes)}"
        )
    if len(set(models)) != len(models):
        raise ParameterError(f"parameter 'models': each model at most once, got {list(models)}")
    own = {m: (s.batch_size, s.optimizer) for m, s in PAPER_MODELS.items()}
    return [
        (
            m,
            int(batch_sizes[i]) if batch_sizes else own.get(m, (USER_BATCH_SIZE, ""))[0],
            own.get(m, (0, USER_OPTIMIZER))[1] if optimizer == "paper" else optimizer,
        )
        for i, m in enumerate(models)
    ]


def account_models(
    settings: Sequence[tuple[str, int, str]],
    precision: str = "fp32",
    mask_target: str = "cuda",
    variants: Mapping[str, str] | None = None,
    gelu: str = "eager",
) -> dict[str, TrainingMemory]:
    """:func:`paper_model_memory` (on meta) for each (model, batch size, optimizer)."""
    v = variants or {}
    return {
        m: paper_model_memory(
            m, batch_size=b, optimizer=o, precision=precision, mask_target=mask_target, variant=v.get(m, ""), gelu=gelu
        )
        for m, b, o in settings
    }


def account_all(
    settings: Sequence[tuple[str, int, str]],
    sources: Mapping[str, ModelSource],
    precision: str = "fp32",
    mask_target: str = "cuda",
    variants: Mapping[str, str] | None = None,
    gelu: str = "eager",
    tokens: int = 2048,
    year: int = 0,
) -> tuple[dict[str, TrainingMemory], dict[str, ModelInfo]]:
    """Every model of ``settings`` (key, batch size, optimizer) accounted on meta, in order,
    with its :class:`ModelInfo`: a key of ``sources`` (a user's model, by label) at ``tokens``
    per sequence, compared with the GPU memory of ``year``; the others as
    :func:`account_models` does them."""
    results = account_models([s for s in settings if s[0] not in sources], precision, mask_target, variants, gelu)
    infos = {k: paper_info(k) for k in results}
    for k, b, o in settings:
        if k in sources:
            results[k], built = account_user_model(sources[k], b, o, precision, mask_target, tokens)
            infos[k] = user_info(sources[k], year, tokens, built)
    order = [s[0] for s in settings]
    return {k: results[k] for k in order}, {k: infos[k] for k in order}


def account_user_model(
    source: ModelSource, batch_size: int, optimizer: str, precision: str, mask_target: str, tokens: int
) -> tuple[TrainingMemory, dict[str, Any]]:
    """A user's model (:func:`~memwall_lib.engines.memory.from_config.config_model_memory`, on
    meta) at ``batch_size`` sequences of ``tokens``, with what the sidecar says of how it was
    built (model type, head, attention path, tokens)."""
    memory, run = config_model_memory(
        source.config,
        batch_size=batch_size,
        tokens=tokens,
        optimizer=optimizer,
        precision=precision,
        mask_target=mask_target,
        name=source.label,
    )
    return memory, {
        "model_type": source.config.model_type,
        "head": run.head,
        "attn_implementation": run.attn_implementation,
        "tokens": tokens,
    }


def conventions_for_grid(
    results: Mapping[str, TrainingMemory], mask_target: str, variants: Mapping[str, str], gelu: str
) -> dict[str, dict[str, int]]:
    """Feature-map bytes per model under three conventions: layer outputs in fp32 (the paper
    convention), tensors saved for backward in fp32 and in 16 bits (both with ``mask_target``'s masks)."""
    half = {
        k: paper_model_memory(
            k,
            batch_size=r.batch_size,
            optimizer=r.optimizer,
            precision="mixed",
            mask_target=mask_target,
            variant=variants.get(k, ""),
            gelu=gelu,
        ).activation_bytes
        for k, r in results.items()
    }
    return {
        "layer_outputs_fp32": {k: r.feature_map_bytes for k, r in results.items()},
        "saved_fp32": {k: r.activation_bytes for k, r in results.items()},
        "saved_16bit": half,
    }


def authors_experiments(results: Mapping[str, TrainingMemory]) -> dict[str, tuple[TrainingMemory, str]]:
    """:data:`AUTHORS_EXPERIMENTS` run at each model's own batch size, in fp32-parameter terms."""
    out = {}
    for k, r in results.items():
        kwargs, what = AUTHORS_EXPERIMENTS[k]
        out[k] = (paper_model_memory(k, batch_size=r.batch_size, optimizer=r.optimizer, **kwargs), what)
    return out


def _info(key: str, infos: Mapping[str, ModelInfo] | None) -> ModelInfo:
    """The :class:`ModelInfo` of ``key``: from ``infos``, else that of a model of Figure 4."""
    return infos[key] if infos and key in infos else paper_info(key)


def accounting_table(
    results: Mapping[str, TrainingMemory], infos: Mapping[str, ModelInfo] | None = None
) -> pd.DataFrame:
    """Both accountings of every model side by side, in GB (1e9 bytes), one row per model
    (``infos``: the labels of the user's models)."""
    rows = []
    for key, r in results.items():
        row: dict[str, Any] = {
            "model": PAPER_MODELS[key].label if key in PAPER_MODELS else _info(key, infos).label,
            "batch": r.batch_size,
            "optimizer": r.optimizer,
            "parameters (M)": r.parameters / 1e6,
        }
        for conv, short in (("paper_convention", "paper"), ("full", "full")):
            a = r.accounting(conv)
            row[f"{short}: activations GB"] = a["activations_gb"]
            row[f"{short}: total GB"] = a["total_gb"]
        row["full / paper"] = r.total_bytes("full") / r.total_bytes("paper_convention")
        rows.append(row)
    return pd.DataFrame(rows)


def sidecar_data(
    results: Mapping[str, TrainingMemory],
    gpu: pd.DataFrame,
    cross_checks: Sequence[CrossCheck] = (),
    extra: Mapping[str, Any] | None = None,
    infos: Mapping[str, ModelInfo] | None = None,
) -> dict[str, Any]:
    """The sidecar ``data`` of Figure 4: both accountings per model (GB), the models' settings
    (a user's model's from ``infos``, with how it was built), the GPU memory step line, and the
    meta-vs-real cross-checks (bytes), plus ``extra``."""
    models = {k: _info(k, infos) for k in results}
    return {
        **(extra or {}),
        "paper_convention": {k: r.accounting("paper_convention") for k, r in results.items()},
        "full": {k: r.accounting("full") for k, r in results.items()},
        "models": {
            k: {
                "label": models[k].label,
                "year": models[k].year,
                "domain": models[k].domain,
                "batch_size": r.batch_size,
                "input_size": models[k].input_size,
                "optimizer": r.optimizer,
                "precision": r.precision,
                "parameters": r.parameters,
                "saved_tensors": r.activations.saved_tensors,
                "saved_storages": r.activations.saved_storages,
                "dropout_mask_elements": r.activations.mask_elements,
                "dropout_mask_bytes_per_element": r.activations.mask_bytes_per_element,
                **models[k].config,
            }
            for k, r in results.items()
        },
        "gpu_memory": {
            "model": list(gpu["model"]),
            "year": [int(y) for y in gpu["year"]],
            "memory_gb": [float(v) for v in gpu["memory_gb"]],
            "device": list(gpu["device"]),
            "candidates": [list(c) for c in gpu["candidates"]],
        },
        "cross_check": [c.to_dict() for c in cross_checks],
    }
