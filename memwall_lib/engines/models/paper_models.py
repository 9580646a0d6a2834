"""The models of the paper's Figure 4 built for training-memory accounting (on ``meta`` by
default: nothing is allocated), each with its training forward ``forward(model) -> loss``, and
:func:`gpt_memory` for any GPT-2-architecture config. Units: bytes (see :mod:`..memory.training`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from ...core.checks import check_gpt2_config, check_int
from ..memory.live import measure_peak
from ..memory.saved import mask_bytes_for
from ..memory.training import (
    GELU_VARIANTS,
    MASK_TARGETS,
    OPTIMIZERS,
    PRECISIONS,
    TrainingMemory,
    account,
    check_choice,
)


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
PAPER_MODELS: dict[str, PaperModel] = {
    m.key: m
    for m in (
        PaperModel("alexnet", "AlexNet", 2012, "cv", "sgd_momentum", 128, 227),
        PaperModel("vgg19", "VGG19", 2014, "cv", "sgd_momentum", 64, 224),
        PaperModel("resnet152", "ResNet152", 2015, "cv", "sgd_momentum", 32, 224),
        PaperModel("densenet201", "DenseNet201", 2016, "cv", "sgd_momentum", 32, 224),
        PaperModel("resnext101_64x4d", "ResNeXt101 64x4d", 2016, "cv", "sgd_momentum", 32, 224),
        PaperModel("transformer_big", "Transformer big", 2017, "nlp", "adam", 6, 512),
        PaperModel("bert_large", "BERT Large", 2018, "nlp", "adam", 16, 512),
        PaperModel("gpt2_xl", "GPT-2 (1.5B)", 2019, "nlp", "adam", 1, 1024),
    )
}


#: Variants of a model that :func:`build_paper_model` can build, by model: the keyword
#: arguments of its builder. AlexNet "2012" is the two-tower network of Krizhevsky et al. 2012.
#: Transformer big: separate (untied) source, target and output embeddings of 37000, 32000 or
#: 40000 tokens (at 32000 also with op-by-op attention, or with pre-norm layers);
#: "fairseq_big": fairseq's ``transformer_vaswani_wmt_en_de_big`` recipe (shared embeddings of a
#: 32768-token joined dictionary, no attention or ReLU dropout, op-by-op attention).
MODEL_VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "alexnet": {"2012": {"lrn": "fused"}, "2012_eager_lrn": {"lrn": "eager"}},
    "transformer_big": {
        "separate_embeddings": {"embeddings": "separate"},
        "separate_embeddings_32k": {"embeddings": "separate", "vocab_size": 32000},
        "separate_embeddings_32k_eager": {"embeddings": "separate", "vocab_size": 32000, "attention": "eager"},
        "separate_embeddings_32k_prenorm": {"embeddings": "separate", "vocab_size": 32000, "norm_first": True},
        "separate_embeddings_40k": {"embeddings": "separate", "vocab_size": 40000},
        "fairseq_big": {
            "vocab_size": 32768,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "attention": "eager",
        },
    },
}


def paper_settings(
    key: str, batch_size: int | None, input_size: int | None, precision: str, variant: str, gelu: str
) -> tuple[PaperModel, int, int]:
    """The :class:`PaperModel` of ``key`` with its batch size and input size (``None``: the
    paper's), every setting of :func:`build_paper_model` checked (ValueError or TypeError)."""
    check_choice("model", key, list(PAPER_MODELS))
    check_choice("precision", precision, PRECISIONS)
    if batch_size is not None:
        check_int("batch_size", batch_size)
    if input_size is not None:
        check_int("input_size", input_size)
    check_choice("gelu", gelu, list(GELU_VARIANTS))
    check_choice(f"variant of {key}", variant, ("", *MODEL_VARIANTS.get(key, {})))
    spec = PAPER_MODELS[key]
    return spec, int(batch_size or spec.batch_size), int(input_size or spec.input_size)


def build_paper_model(
    key: str,
    *,
    batch_size: int | None = None,
    input_size: int | None = None,
    device: str = "meta",
    precision: str = "fp32",
    variant: str = "",
    gelu: str = "eager",
) -> tuple[Any, Callable[[Any], Any]]:
    """The model ``key`` of :data:`PAPER_MODELS` in train mode on ``device`` and its training
    forward ``forward(model) -> loss`` on a batch of ``batch_size`` inputs of ``input_size``
    (defaults: the paper's). Losses: cross-entropy over 1000 classes (CV), next-token
    cross-entropy (Transformer big on its target, GPT-2), masked-LM cross-entropy (BERT).
    ``variant`` picks a variant of the model (:data:`MODEL_VARIANTS`; "" = the default);
    ``gelu`` GPT-2's GELU (:data:`GELU_VARIANTS`)."""
    import torch

    from . import builders

    spec, b, n = paper_settings(key, batch_size, input_size, precision, variant, gelu)
    half = torch.bfloat16 if precision == "mixed" else None
    fdtype = half or torch.float32
    f = torch.nn.functional
    if spec.domain == "cv":
        model = (
            builders.build_alexnet_2012(device, **MODEL_VARIANTS[key][variant])
            if variant
            else builders.build_torchvision(key, device)
        ).train()
        if half is not None:
            model = model.to(half)
        with torch.device(device):
            images = torch.zeros(b, 3, n, n, dtype=fdtype)
            labels = torch.zeros(b, dtype=torch.long)
        return model, lambda m: f.cross_entropy(m(images).float(), labels)
    with torch.device(device):
        tokens = torch.zeros(b, n, dtype=torch.long)
    if key == "transformer_big":
        model = builders.build_transformer_big(
            device, dtype=half, max_positions=max(1024, n), **MODEL_VARIANTS[key].get(variant, {})
        )

        def forward(m: Any) -> Any:
            logits = m(tokens, tokens)
            return f.cross_entropy(logits.float().flatten(0, 1), tokens.flatten())

        return model, forward
    if key == "bert_large":
        model = builders.build_bert_mlm("bert-large", max(512, n), device, dtype=half)
        return model, lambda m: m(input_ids=tokens, labels=tokens).loss
    config = builders.gpt2_config("gpt2-xl", max(1024, n))
    config.activation_function = GELU_VARIANTS[gelu]
    model = builders.build_from_config(config, device=device, dtype=half).train()
    return model, lambda m: m(input_ids=tokens, labels=tokens).loss


def paper_model_memory(
    key: str,
    *,
    batch_size: int | None = None,
    input_size: int | None = None,
    optimizer: str | None = None,
    precision: str = "fp32",
    device: str = "meta",
    mask_target: str = "cuda",
    variant: str = "",
    gelu: str = "eager",
    peak: bool = False,
) -> TrainingMemory:
    """:func:`account` for a model of Figure 4 (defaults: the paper's settings, on meta, dropout
    masks as CUDA keeps them; ``variant`` and ``gelu`` as in :func:`build_paper_model`;
    ``peak``: also measure the bytes alive at the peak of forward and backward). The counts
    are cached by their settings: asked again for the same, nothing is rebuilt or rerun."""
    spec, b, n = paper_settings(key, batch_size, input_size, precision, variant, gelu)
    check_choice("optimizer", optimizer or spec.optimizer, OPTIMIZERS)
    check_choice("mask_target", mask_target, MASK_TARGETS)
    if not isinstance(peak, bool):
        raise TypeError(f"peak: expected a bool, got {peak!r}")
    return _counted(key, b, n, optimizer or spec.optimizer, precision, device, mask_target, variant, gelu, peak)


@lru_cache(maxsize=64)
def _counted(
    key: str,
    batch_size: int,
    input_size: int,
    optimizer: str,
    precision: str,
    device: str,
    mask_target: str,
    variant: str,
    gelu: str,
    peak: bool,
) -> TrainingMemory:
    """:func:`paper_model_memory` with every setting given (checked by it), counted once per
    distinct settings (the result is frozen: sharing it is safe; a few dozen are kept). A peak
    is measured on its own model and added to the (cached) count without it."""
    saved = (
        _counted(key, batch_size, input_size, optimizer, precision, device, mask_target, variant, gelu, False)
        if peak
        else None
    )
    model, forward = build_paper_model(
        key,
        batch_size=batch_size,
        input_size=input_size,
        device=device,
        precision=precision,
        variant=variant,
        gelu=gelu,
    )
    if saved is not None:
        return replace(saved, peak=measure_peak(model, forward, mask_bytes_for(mask_target)))
    return account(
        model,
        forward,
        optimizer=optimizer,
        precision=precision,
        name=key,
        batch_size=batch_size,
        mask_target=mask_target,
    )


def gpt_memory(
    config: Any,
    *,
    batch_size: int = 1,
    tokens: int | None = None,
    optimizer: str = "adam",
    precision: str = "fp32",
    name: str = "",
    mask_target: str = "cuda",
) -> TrainingMemory:
    """The training memory of a GPT-2-architecture language model built from ``config``
    (e.g. :func:`memwall_lib.engines.models.builders.gpt3_config`) on ``meta``: nothing is allocated."""
    import torch

    from . import builders

    check_gpt2_config("config", config)
    check_int("batch_size", batch_size)
    n = config.n_positions if tokens is None else check_int("tokens", tokens, maximum=config.n_positions)
    model = builders.build_from_config(
        config, device="meta", dtype=torch.bfloat16 if precision == "mixed" else None
    ).train()
    ids = torch.zeros(batch_size, n, dtype=torch.long, device="meta")
    return account(
        model,
        lambda m: m(input_ids=ids, labels=ids).loss,
        optimizer=optimizer,
        precision=precision,
        name=name or getattr(config, "model_type", ""),
        batch_size=batch_size,
        mask_target=mask_target,
    )
