"""The chains of Figure 4b as the notebook's parameters size them: built
(:func:`build_chain`, on :mod:`memwall_lib.engines.remat`), counted in blocks, and their rough
training bytes, which the parameter checks compare with the memory this process may use.

A chain is one of :data:`CHAINS` (``gpt2``, ``resnet152``) or the layers of a model given as a
model preset or a path to a Hugging Face ``config.json``
(:func:`~memwall_lib.engines.models.configs.resolve_model`), shrunk to ``config_layers`` layers
and a width of about ``config_hidden``
(:func:`~memwall_lib.engines.remat.from_config.config_chain`), labelled from the config.

Units: bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core.params import ParameterError, machine_memory_bytes
from ...engines.memory.from_config import check_tokens
from ...engines.models.configs import ModelSource
from ...engines.remat import CHAINS, Chain, gpt2_chain, resnet_chain
from ...engines.remat.from_config import config_chain, shrink_config
from ..model_params import own_or_model_sources


def config_sources(chains: Sequence[str], what: str = "chains") -> dict[str, ModelSource]:
    """``item -> ModelSource`` of every item of ``chains`` that is not one of :data:`CHAINS`
    (:func:`~memwall_lib.figures.model_params.own_or_model_sources`: reads JSON only; ``what[i]``
    names the item in errors). ValueError with one line for an unknown name, a bad file, or a
    label that another chain already has."""
    return own_or_model_sources(chains, CHAINS, "chain", "chains", what)


def validate_chains(value: Sequence[str], name: str) -> None:
    """The ``validate`` of the ``chains`` parameter: every item resolves (:func:`config_sources`)."""
    config_sources(value, what=name)


def config_tokens_fit(p: dict[str, Any]) -> bool:
    """The relation of ``config_tokens`` and ``chains``: True if the tokens are within the
    positions of every config's model; else ParameterError naming the model and its limit."""
    for source in config_sources(p["chains"]).values():
        try:
            check_tokens(
                source.config, p["config_tokens"], what=f"parameters 'config_tokens' and 'chains' ({source.label})"
            )
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
    return True


def build_chain(name: str, P: dict[str, Any]) -> Chain:
    """The chain ``name`` (one of :data:`CHAINS`, a model preset or a config.json path) with
    the sizes in the notebook parameters ``P``."""
    try:
        sources = config_sources([name], what="parameter 'chains'")
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
    if name in sources:
        return config_chain(
            sources[name].config,
            layers=P["config_layers"],
            hidden=P["config_hidden"],
            tokens=P["config_tokens"],
            batch_size=P["config_batch_size"],
            device=P["device"],
            seed=P["seed"],
            label=sources[name].label,
        )
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
    """Blocks of a chain: GPT-2 embedding + layers + final norm; ResNet-152 stem + 50 + head;
    a config's model: its layers, at most ``config_layers``."""
    if chain in CHAINS:
        return p["gpt2_layers"] + 2 if chain == "gpt2" else 52
    return min(p["config_layers"], int(config_sources([chain])[chain].config.num_hidden_layers))


def config_bytes(chain: str, p: dict[str, Any]) -> float:
    """Rough fp32 training bytes of a config's chain, as :func:`gpt2_bytes` counts GPT-2's:
    16 B per parameter of the shrunk layers (attention 4 h^2, MLP 3 h i, whatever the
    architecture) and the saved activations of Korthikanti et al. (34bth + 5ab t^2 in 16-bit, x2)."""
    small = shrink_config(config_sources([chain])[chain].config, p["config_layers"], p["config_hidden"])
    h, L, a = int(small.hidden_size), int(small.num_hidden_layers), int(small.num_attention_heads)
    i = int(getattr(small, "intermediate_size", None) or 4 * h)
    t, b = p["config_tokens"], p["config_batch_size"]
    return 16.0 * L * (4 * h * h + 3 * h * i) + 2.0 * L * b * t * (34 * h + 5 * a * t)


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
