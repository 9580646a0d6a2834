"""Figure 4's models: the paper's eight (keys of
:data:`~memwall_lib.engines.models.paper_models.PAPER_MODELS`) and models the user gives, as a
model preset or a path to a Hugging Face ``config.json``
(:func:`~memwall_lib.engines.models.configs.resolve_model`), each accounted at ``batch_sizes``
and ``seq_len`` (:mod:`memwall_lib.engines.memory.from_config`).

A user's model has no year: it is compared with the GPU memory of the latest year in the
device data (:func:`latest_gpu_year`), and it is left out of the caption's claims, which are
about the paper's models. Its key in tables and the sidecar is its label (the config's
``_name_or_path`` or file name).

Units: bytes; tokens per sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...core.params import ParameterError
from ...core.paths import REPO_ROOT
from ...engines.memory.from_config import check_tokens
from ...engines.models.configs import ModelSource
from ...engines.models.paper_models import PAPER_MODELS
from ...tables import device_dates
from ..model_params import own_or_model_sources

#: A user's model trains at this batch size when ``batch_sizes`` is empty.
USER_BATCH_SIZE: int = 1
#: A user's model trains with this optimizer under ``optimizer = "paper"`` (the paper's NLP one).
USER_OPTIMIZER: str = "adam"


@dataclass(frozen=True)
class ModelInfo:
    """One model of the figure: its ``key`` (tables, sidecar), ``label`` (plots), the ``year``
    whose GPU memory it is compared with, its ``domain`` (``cv``/``nlp``), ``input_size``
    (pixels per image side or tokens per sequence) and, for a user's model, its ``source``
    and ``config`` (what the sidecar says about how it was built)."""

    key: str
    label: str
    year: int
    domain: str
    input_size: int
    source: ModelSource | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def is_paper_model(self) -> bool:
        return self.source is None


def user_sources(models: Sequence[str], what: str = "models") -> dict[str, ModelSource]:
    """``item -> ModelSource`` of every item of ``models`` that is not a model of Figure 4,
    resolved (:func:`~memwall_lib.figures.model_params.own_or_model_sources`: reads JSON only;
    ``what[i]`` names the item in errors). ValueError with one line for an unknown name, a
    bad file, or two models with one label (a user's label that is a Figure 4 key included)."""
    return own_or_model_sources(models, list(PAPER_MODELS), "model of Figure 4", "Figure 4's models", what)


def validate_models(value: Sequence[str], name: str) -> None:
    """The ``validate`` of the ``models`` parameter: every item resolves (:func:`user_sources`)."""
    user_sources(value, what=name)


def seq_len_fits(p: Mapping[str, Any]) -> bool:
    """The relation of ``seq_len`` and ``models``: True if ``seq_len`` is within the positions
    of every user's model; else ParameterError naming the model and its limit."""
    for source in user_sources(p["models"]).values():
        try:
            check_tokens(source.config, p["seq_len"], what=f"parameters 'seq_len' and 'models' ({source.label})")
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
    return True


def latest_gpu_year(devices: pd.DataFrame, date_rule: str = "availability") -> int:
    """The latest year in which a GPU of ``devices`` (with a known memory) is dated."""
    gpus = devices[(devices["device_type"] == "gpu") & devices["memory_capacity_GiB"].notna()]
    return int(max(d.year for d in device_dates(gpus, date_rule)))


def paper_info(key: str) -> ModelInfo:
    """The :class:`ModelInfo` of a model of Figure 4."""
    spec = PAPER_MODELS[key]
    return ModelInfo(key, spec.label, spec.year, spec.domain, spec.input_size)


def user_info(source: ModelSource, year: int, tokens: int, config: Mapping[str, Any]) -> ModelInfo:
    """The :class:`ModelInfo` of a user's model compared with the GPU memory of ``year``,
    trained on sequences of ``tokens``; ``config`` says how it was built."""
    path = source.path
    where = str(path.relative_to(REPO_ROOT)) if path is not None and path.is_relative_to(REPO_ROOT) else path
    described = {"config": None if where is None else str(where), "preset": source.preset, **config}
    return ModelInfo(source.label, source.label, year, "nlp", tokens, source, described)
