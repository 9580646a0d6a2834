"""The chains of Figure 4b as the notebook's parameters size them: built
(:func:`build_chain`, on :mod:`memwall_lib.engines.remat`), counted in blocks, and their rough
training bytes, which the parameter checks compare with the memory this process may use.

Units: bytes.
"""

from __future__ import annotations

from typing import Any

from ...core.params import ParameterError, machine_memory_bytes
from ...engines.remat import CHAINS, Chain, gpt2_chain, resnet_chain


def build_chain(name: str, P: dict[str, Any]) -> Chain:
    """The chain ``name`` of :data:`CHAINS` with the sizes in the notebook parameters ``P``."""
    if name == "gpt2":
        return gpt2_chain(
            layers=P["gpt2_layers"],
            hidden=P["gpt2_hidden"],
            heads=P["gpt2_heads"],
            tokens=P["gpt2_tokens"],
            batch_size=P["gpt2_batch_size"],
            device=P["device"],
            seed=P["seed"],
        )
    if name == "resnet152":
        return resnet_chain(
            "resnet152",
            image_size=P["resnet_image_size"],
            batch_size=P["resnet_batch_size"],
            device=P["device"],
            seed=P["seed"],
        )
    raise ParameterError(f"parameter 'chains': expected items from {list(CHAINS)}, got {name!r}")


#: The memory the size checks compare against, for their messages.
MEMORY_LIMIT = f"{machine_memory_bytes() / 2**30:.0f} GiB: the smaller of RAM and the container's memory limit"


def n_blocks(chain: str, p: dict[str, Any]) -> int:
    """Blocks of a chain: GPT-2 embedding + layers + final norm; ResNet-152 stem + 50 + head."""
    return p["gpt2_layers"] + 2 if chain == "gpt2" else 52


def gpt2_bytes(p: dict[str, Any]) -> float:
    """Rough fp32 training bytes of the GPT-2 chain: weights, gradients and copies (16 B per
    parameter) and saved activations (Korthikanti et al. 2022, 34bth + 5ab t^2 in 16-bit, x2)."""
    h, L, a, t, b = p["gpt2_hidden"], p["gpt2_layers"], p["gpt2_heads"], p["gpt2_tokens"], p["gpt2_batch_size"]
    params = L * 12 * h * h + (50257 + max(1024, t)) * h
    return 16.0 * params + 2.0 * L * b * t * (34 * h + 5 * a * t)


def resnet_bytes(p: dict[str, Any]) -> float:
    """Rough fp32 training bytes of ResNet-152: ~3e8 bytes of saved activations per 224x224
    image, plus 16 B per parameter (60M)."""
    return 3e8 * p["resnet_batch_size"] * (p["resnet_image_size"] / 224) ** 2 + 16 * 60e6
