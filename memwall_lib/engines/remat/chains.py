"""Models written as chains of blocks.

A *chain* is a model written as blocks ``h = block_n(...block_1(x))`` plus a loss; a plan
(:class:`.profile.OpPlan`, or a :class:`.schedules.Schedule` turned into one) says which
segments of it are checkpointed, and :func:`.run.run_plan` runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ...core.checks import check_int, check_number
from ..models.builders import build_from_config, build_torchvision, check_build_device

CHAINS: tuple[str, ...] = ("gpt2", "resnet152")


@dataclass
class Chain:
    """A model as a list of blocks (each maps one tensor to one tensor) and a loss.

    ``module`` owns the parameters (a ``torch.nn.ModuleList`` of the blocks);
    ``make_input()`` returns the same input batch each call; ``loss(output)`` is a scalar.
    """

    name: str
    module: Any
    make_input: Callable[[], Any]
    loss: Callable[[Any], Any]
    description: str = ""

    @property
    def blocks(self) -> list[Any]:
        return list(self.module)

    def __len__(self) -> int:
        return len(self.module)


def gpt2_chain(
    *,
    layers: int = 12,
    hidden: int = 256,
    heads: int = 4,
    tokens: int = 128,
    batch_size: int = 2,
    vocab_size: int = 50257,
    dropout: float = 0.1,
    device: str = "cpu",
    seed: int = 0,
) -> Chain:
    """A GPT-2 stack as a chain: [embedding (tokens + positions, dropout), ``layers`` GPT-2
    blocks (causal eager attention), final layer norm]; loss: mean square of the output
    (the language-model head is left out so that the blocks dominate)."""
    for arg, value in (
        ("layers", layers),
        ("hidden", hidden),
        ("heads", heads),
        ("tokens", tokens),
        ("batch_size", batch_size),
        ("vocab_size", vocab_size),
    ):
        check_int(arg, value)
    check_number("dropout", dropout, minimum=0.0, maximum=1.0)
    if dropout == 1.0:
        raise ValueError("dropout: expected a probability below 1 (1 drops every activation), got 1")
    check_build_device(device)
    if hidden % heads:
        raise ValueError(f"heads: expected a divisor of hidden ({hidden}), got {heads}")
    import torch
    from transformers import GPT2Config

    torch.manual_seed(seed)
    config = GPT2Config(
        n_embd=hidden,
        n_layer=layers,
        n_head=heads,
        n_positions=max(1024, tokens),
        vocab_size=vocab_size,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        attn_implementation="eager",
    )
    gpt = build_from_config(config, device=device, lm_head=False).train()
    # additive causal mask, (1, 1, tokens, tokens): -inf above the diagonal, broadcast over batch and heads
    mask = torch.full((tokens, tokens), float("-inf"), device=device).triu(1)[None, None]

    class Embed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe, self.drop = gpt.wte, gpt.wpe, gpt.drop

        def forward(self, ids: Any) -> Any:  # ids (batch, tokens) -> h (batch, tokens, hidden)
            pos = torch.arange(ids.shape[1], device=ids.device)  # (tokens,), broadcast over the batch
            return self.drop(self.wte(ids) + self.wpe(pos))

    class Block(torch.nn.Module):
        def __init__(self, block: Any) -> None:
            super().__init__()
            self.block = block

        def forward(self, h: Any) -> Any:  # (batch, tokens, hidden) -> same shape
            out = self.block(h, attention_mask=mask)
            return out[0] if isinstance(out, tuple) else out

    blocks = torch.nn.ModuleList([Embed(), *[Block(b) for b in gpt.h], gpt.ln_f])
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, vocab_size, (batch_size, tokens), generator=gen).to(device)
    return Chain(
        "gpt2",
        blocks,
        lambda: ids,
        lambda out: out.float().pow(2).mean(),
        f"GPT-2 stack: {layers} blocks, hidden {hidden}, {heads} heads, batch {batch_size} x {tokens} tokens",
    )


def resnet_chain(
    name: str = "resnet152", *, image_size: int = 96, batch_size: int = 2, device: str = "cpu", seed: int = 0
) -> Chain:
    """A torchvision ResNet as a chain: [stem (conv, BN, ReLU, max-pool), every bottleneck
    block, head (average pool, fully connected)]; loss: cross-entropy over 1000 classes."""
    check_int("image_size", image_size, minimum=32)
    check_int("batch_size", batch_size)
    check_build_device(device)
    import torch

    torch.manual_seed(seed)
    net = build_torchvision(name, device).train()
    # stem: (batch, 3, s, s) -> (batch, 64, s/4, s/4); each bottleneck keeps or halves the side;
    # head: (batch, 2048, s/32, s/32) -> (batch, 1000) logits
    stem = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
    head = torch.nn.Sequential(net.avgpool, torch.nn.Flatten(1), net.fc)
    body = [b for layer in (net.layer1, net.layer2, net.layer3, net.layer4) for b in layer]
    blocks = torch.nn.ModuleList([stem, *body, head])
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, 3, image_size, image_size, generator=gen).to(device)
    labels = torch.randint(0, 1000, (batch_size,), generator=gen).to(device)
    return Chain(
        name,
        blocks,
        lambda: x,
        lambda out: torch.nn.functional.cross_entropy(out.float(), labels),
        f"{name}: {len(body)} bottleneck blocks, batch {batch_size} x {image_size}x{image_size}",
    )


def segment(blocks: Sequence[Any], s: int, e: int) -> Callable[[Any], Any]:
    """The forward pass of blocks ``s..e`` (inclusive) as one callable, the unit a checkpoint wraps."""

    def fn(h: Any) -> Any:
        for b in blocks[s : e + 1]:
            h = b(h)
        return h

    return fn


def without_dropout(chain: Chain) -> Chain | None:
    """A copy of ``chain`` (its own parameters, equal to the chain's; same input and loss) with
    every dropout probability set to 0: ``torch.nn.Dropout`` modules and the float
    ``attention_dropout`` of Hugging Face attention modules; None if the chain has no dropout
    above 0."""
    import copy

    import torch

    module = copy.deepcopy(chain.module)
    changed = 0
    for m in module.modules():
        if isinstance(m, torch.nn.Dropout) and m.p > 0:
            m.p, changed = 0.0, changed + 1
        if isinstance(getattr(m, "attention_dropout", None), float) and m.attention_dropout > 0:
            m.attention_dropout, changed = 0.0, changed + 1
    if not changed:
        return None
    return Chain(chain.name, module, chain.make_input, chain.loss, f"{chain.description}, dropout off")
