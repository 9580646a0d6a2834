"""Building the paper's models from their configurations, with random weights.

Nothing is downloaded: FLOPs, bytes, memory and latency do not depend on weight values.
torch, torchvision and transformers are imported lazily, inside the functions, so that
importing :mod:`memwall_lib` stays fast.

Sizes (hidden, layers, heads, FFN) follow the original papers / Hugging Face configs:
BERT (Devlin et al. 2019), GPT-2 (Radford et al. 2019).
"""

from __future__ import annotations

from typing import Any

from ...core.checks import check_int
from ..timing.clock import check_device

#: BERT sizes: hidden size, layers, attention heads, FFN (intermediate) size.
BERT_SIZES: dict[str, dict[str, int]] = {
    "bert-base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}

#: GPT-2 sizes (FFN is 4x hidden): 124M, 355M, 774M and 1.5B parameters.
GPT2_SIZES: dict[str, dict[str, int]] = {
    "gpt2": dict(n_embd=768, n_layer=12, n_head=12),
    "gpt2-medium": dict(n_embd=1024, n_layer=24, n_head=16),
    "gpt2-large": dict(n_embd=1280, n_layer=36, n_head=20),
    "gpt2-xl": dict(n_embd=1600, n_layer=48, n_head=25),
}

#: torchvision constructors of the CNNs of the paper's Figure 4.
TORCHVISION_MODELS: tuple[str, ...] = ("alexnet", "vgg19", "resnet152", "densenet201", "resnext101_64x4d")


def _check_name(name: str, known: dict[str, Any] | tuple[str, ...], what: str) -> None:
    if name not in known:
        raise ValueError(f"unknown {what} {name!r}; expected one of {sorted(known)}")


def bert_config(name: str = "bert-base", max_positions: int = 512, attn_implementation: str = "eager") -> Any:
    """A ``transformers.BertConfig`` for ``name``; ``max_positions`` may exceed BERT's 512
    (the position table is simply enlarged: weights are random anyway)."""
    from transformers import BertConfig

    _check_name(name, BERT_SIZES, "BERT size")
    check_int("max_positions", max_positions)
    return BertConfig(
        **BERT_SIZES[name],
        max_position_embeddings=max(512, int(max_positions)),
        attn_implementation=attn_implementation,
    )


def gpt2_config(name: str = "gpt2", max_positions: int = 1024, attn_implementation: str = "eager") -> Any:
    """A ``transformers.GPT2Config`` for ``name``; ``max_positions`` may exceed 1024."""
    from transformers import GPT2Config

    _check_name(name, GPT2_SIZES, "GPT-2 size")
    check_int("max_positions", max_positions)
    return GPT2Config(
        **GPT2_SIZES[name], n_positions=max(1024, int(max_positions)), attn_implementation=attn_implementation
    )


def transformer_config(name: str, max_positions: int = 512, attn_implementation: str = "eager") -> Any:
    """The config of a named BERT or GPT-2 size (``bert-base``, ``gpt2-xl``, ...)."""
    if name in BERT_SIZES:
        return bert_config(name, max_positions, attn_implementation)
    if name in GPT2_SIZES:
        return gpt2_config(name, max_positions, attn_implementation)
    raise ValueError(f"unknown model {name!r}; expected one of {sorted(BERT_SIZES) + sorted(GPT2_SIZES)}")


def check_build_device(device: str) -> str:
    """``device`` if a model can be built there: ``"meta"`` (allocates nothing, for counting)
    or a device this machine can use (:func:`memwall_lib.engines.timing.clock.check_device`)."""
    return device if device == "meta" else check_device(device)


def build_from_config(config: Any, device: str = "cpu", dtype: Any = None, lm_head: bool = True) -> Any:
    """Instantiate a ``transformers`` model from ``config`` in eval mode, random weights.

    BERT configs give ``BertModel`` (encoder, no task head); GPT-2 configs give
    ``GPT2LMHeadModel`` when ``lm_head`` (needed for generation) else ``GPT2Model``.
    ``device="meta"`` allocates nothing (for counting).
    """
    check_build_device(device)
    import torch
    from transformers import BertModel, GPT2LMHeadModel, GPT2Model

    kind = str(getattr(config, "model_type", ""))
    cls = {"bert": BertModel, "gpt2": GPT2LMHeadModel if lm_head else GPT2Model}.get(kind)
    if cls is None:
        raise ValueError(f"build_from_config supports BERT and GPT-2 configs, got model_type {kind!r}")
    with torch.device(device):
        model = cls(config)
    if dtype is not None:
        model = model.to(dtype)
    return model.eval()


def build_torchvision(name: str, device: str = "cpu") -> Any:
    """A torchvision CNN (``alexnet``, ``vgg19``, ``resnet152``, ``densenet201``,
    ``resnext101_64x4d``) with random weights (``weights=None``: nothing downloaded)."""
    import torch
    import torchvision

    _check_name(name, TORCHVISION_MODELS, "torchvision model")
    check_build_device(device)
    with torch.device(device):
        return getattr(torchvision.models, name)(weights=None)


# --------------------------------------------------------------------------- Figure 4 additions
def _fused_lrn_class() -> Any:
    import torch
    from torch import nn

    class _LRNFunction(torch.autograd.Function):
        """Local response normalisation as one kernel that keeps its input and output for
        backward (as cuda-convnet and cuDNN's LRN do); backward recomputes through the ops."""

        @staticmethod
        def forward(ctx: Any, x: Any, size: int, alpha: float, beta: float, k: float) -> Any:
            y = nn.functional.local_response_norm(x, size, alpha, beta, k)
            ctx.save_for_backward(x, y)
            ctx.args = (size, alpha, beta, k)
            return y

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            x, _ = ctx.saved_tensors
            with torch.enable_grad():
                xx = x.detach().requires_grad_(True)
                y = nn.functional.local_response_norm(xx, *ctx.args)
                (gx,) = torch.autograd.grad(y, xx, grad)
            return gx, None, None, None, None

    class FusedLocalResponseNorm(nn.LocalResponseNorm):
        """``nn.LocalResponseNorm`` that saves only its input and output for backward."""

        def forward(self, x: Any) -> Any:
            return _LRNFunction.apply(x, self.size, self.alpha, self.beta, self.k)

    return FusedLocalResponseNorm


def build_alexnet_2012(device: str = "cpu", num_classes: int = 1000, lrn: str = "fused") -> Any:
    """AlexNet as published (Krizhevsky, Sutskever, Hinton, NeurIPS 2012, Sec. 3 and Fig. 2):
    the two-GPU network written as one module with grouped convolutions (``groups=2`` where a
    layer sees only its own GPU's maps: conv2, conv4, conv5), 96-256-384-384-256 filters,
    local response normalisation after conv1 and conv2 (size 5, alpha 1e-4, beta 0.75, k 2),
    overlapping 3x3 max pooling with stride 2, dropout 0.5 in fc6 and fc7; about 61M
    parameters. torchvision's ``alexnet`` is the later one-GPU variant ("One weird trick",
    Krizhevsky 2014: 64-192-384-256-256 filters, no LRN). Random weights, train mode.

    ``lrn="fused"``: each LRN keeps its input and output for backward, as a GPU LRN kernel
    does; ``"eager"``: PyTorch's ``local_response_norm``, whose elementwise ops each save
    their own tensors (about twice the activations of the whole network)."""
    import torch
    from torch import nn

    if lrn not in ("fused", "eager"):
        raise ValueError(f"lrn: expected 'fused' or 'eager', got {lrn!r}")
    norm = _fused_lrn_class() if lrn == "fused" else nn.LocalResponseNorm
    with torch.device(device):
        model = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4),
            nn.ReLU(inplace=True),
            norm(5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=2),
            nn.ReLU(inplace=True),
            norm(5, alpha=1e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 384, 3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1, groups=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2),
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )
    return model.train()


#: GPT-3 175B (Brown et al. 2020, Table 2.1): hidden 12288, 96 layers, 96 heads, 2048 tokens.
GPT3_175B: dict[str, int] = dict(n_embd=12288, n_layer=96, n_head=96, n_positions=2048)


def gpt3_config(max_positions: int = 2048, attn_implementation: str = "eager") -> Any:
    """A ``transformers.GPT2Config`` with GPT-3 175B's sizes (GPT-3 uses GPT-2's architecture,
    with alternating sparse attention that changes neither parameters nor saved activations
    of the dense layers; vocabulary 50257)."""
    from transformers import GPT2Config

    sizes = dict(GPT3_175B, n_positions=max(GPT3_175B["n_positions"], int(max_positions)))
    return GPT2Config(**sizes, attn_implementation=attn_implementation)


def build_bert_mlm(name: str = "bert-large", max_positions: int = 512, device: str = "cpu", dtype: Any = None) -> Any:
    """BERT with its masked-language-model head (``BertForMaskedLM``, the pre-training
    model minus next-sentence prediction), random weights, in train mode."""
    import torch
    from transformers import BertForMaskedLM

    config = bert_config(name, max_positions)
    with torch.device(device):
        model = BertForMaskedLM(config)
    if dtype is not None:
        model = model.to(dtype)
    return model.train()


def _seq2seq_transformer_class() -> Any:
    import math

    import torch
    from torch import nn

    class Seq2SeqTransformer(nn.Module):
        """``torch.nn.Transformer`` with a shared (tied) source/target/output embedding and
        sinusoidal positions, as in Vaswani et al. (2017). ``forward(src, tgt)`` takes token
        ids of shape (batch, tokens) and returns logits (batch, tgt tokens, vocab)."""

        def __init__(
            self,
            vocab_size: int,
            d_model: int,
            nhead: int,
            num_encoder_layers: int,
            num_decoder_layers: int,
            dim_feedforward: int,
            dropout: float,
            max_positions: int,
        ) -> None:
            super().__init__()
            self.d_model = d_model
            self.embedding = nn.Embedding(vocab_size, d_model)
            self.transformer = nn.Transformer(
                d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout, batch_first=True
            )
            self.dropout = nn.Dropout(dropout)
            position = torch.arange(max_positions, dtype=torch.float32).unsqueeze(1)
            div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_positions, d_model)
            pe[:, 0::2] = torch.sin(position * div)
            pe[:, 1::2] = torch.cos(position * div)
            self.register_buffer("positions", pe, persistent=False)

        def embed(self, tokens: Any, table: Any = None) -> Any:
            x = (table or self.embedding)(tokens) * math.sqrt(self.d_model)
            return self.dropout(x + self.positions[: tokens.shape[1]].to(x.dtype))

        def forward(self, src: Any, tgt: Any) -> Any:
            n = tgt.shape[1]
            mask = torch.triu(torch.full((n, n), float("-inf"), device=tgt.device), diagonal=1)
            target_table = getattr(self, "target_embedding", None)
            h = self.transformer(
                self.embed(src),
                self.embed(tgt, target_table),
                tgt_mask=mask.to(self.positions.dtype),
                tgt_is_causal=True,
            )
            if hasattr(self, "output"):
                return self.output(h)  # untied output projection
            return nn.functional.linear(h, self.embedding.weight)  # tied output projection

    return Seq2SeqTransformer


def _eager_attention_class() -> Any:
    from torch import nn

    class EagerMultiheadAttention(nn.MultiheadAttention):
        """``nn.MultiheadAttention`` on its op-by-op path (``bmm``, ``softmax``, ``dropout``,
        ``bmm``, as PyTorch's and fairseq's attention ran before fused attention): asking for
        the weights turns scaled-dot-product attention off; per head, so no head-averaged copy
        is made. Returns (output, None)."""

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            kwargs["need_weights"], kwargs["average_attn_weights"] = True, False
            return super().forward(*args, **kwargs)[0], None

    return EagerMultiheadAttention


#: Attention paths of :func:`build_transformer_big`.
ATTENTIONS: tuple[str, ...] = ("sdpa", "eager")


def build_transformer_big(
    device: str = "cpu",
    dtype: Any = None,
    vocab_size: int = 37000,
    d_model: int = 1024,
    nhead: int = 16,
    dim_feedforward: int = 4096,
    num_layers: int = 6,
    dropout: float = 0.3,
    max_positions: int = 1024,
    embeddings: str = "shared",
    attention_dropout: float | None = None,
    activation_dropout: float | None = None,
    attention: str = "sdpa",
    norm_first: bool = False,
) -> Any:
    """Transformer big for WMT English-German (Vaswani et al. 2017, Table 3): d_model 1024,
    16 heads, FFN 4096, 6 encoder + 6 decoder layers, dropout 0.3, a shared BPE vocabulary
    of about 37000 tokens (tied embeddings), about 213M parameters. Random weights, train mode.

    ``embeddings="separate"``: untied source embedding, target embedding and output
    projection (three ``vocab_size x d_model`` matrices, as in implementations that do not
    share them), about 289M parameters at 37000 tokens. ``attention_dropout`` (on the
    attention weights) and ``activation_dropout`` (after the FFN's ReLU): ``None`` = ``dropout``
    (``torch.nn.Transformer`` uses one rate everywhere), 0 = none (fairseq's
    ``transformer_vaswani_wmt_en_de_big``; tensor2tensor's ``transformer_big`` uses 0.1 for
    both). ``attention``: "sdpa" (PyTorch's scaled-dot-product attention, whose math path on
    CPU and meta computes 16-bit inputs in fp32) or "eager" (op by op, in the inputs' dtype).
    ``norm_first``: layer norm before each sublayer (tensor2tensor) instead of after it."""
    import torch

    if embeddings not in ("shared", "separate"):
        raise ValueError(f"embeddings: expected 'shared' or 'separate', got {embeddings!r}")
    if attention not in ATTENTIONS:
        raise ValueError(f"attention: expected one of {list(ATTENTIONS)}, got {attention!r}")
    for name, rate in (("attention_dropout", attention_dropout), ("activation_dropout", activation_dropout)):
        if rate is not None and not (isinstance(rate, (int, float)) and 0 <= rate < 1):
            raise ValueError(f"{name}: expected None or a rate in [0, 1), got {rate!r}")
    cls = _seq2seq_transformer_class()
    with torch.device(device):
        model = cls(vocab_size, d_model, nhead, num_layers, num_layers, dim_feedforward, dropout, max_positions)
        if embeddings == "separate":
            model.target_embedding = torch.nn.Embedding(vocab_size, d_model)
            model.output = torch.nn.Linear(d_model, vocab_size, bias=False)
    eager = _eager_attention_class()
    for layer in [*model.transformer.encoder.layers, *model.transformer.decoder.layers]:
        for attn in (getattr(layer, "self_attn", None), getattr(layer, "multihead_attn", None)):
            if attn is None:
                continue
            if attention == "eager":
                attn.__class__ = eager  # same parameters, op-by-op forward
            if attention_dropout is not None:
                attn.dropout = float(attention_dropout)
        layer.norm_first = bool(norm_first)
        if activation_dropout is not None:
            layer.dropout = torch.nn.Dropout(activation_dropout) if activation_dropout else torch.nn.Identity()
    if dtype is not None:
        model = model.to(dtype)
    return model.train()
