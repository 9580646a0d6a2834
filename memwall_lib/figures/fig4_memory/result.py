"""Figure 4's :class:`Result`: every model's accounting, the GPU memory each is compared with,
the cross-checks, the authors' bars beside ours and the text's claims, with the tables the
notebook shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...core.claims import Claim
from ...engines.memory.saved import CrossCheck
from ...engines.memory.training import TrainingMemory
from ...engines.models.paper_models import PAPER_MODELS
from . import authors_bars, text_claims, transformer_big
from .accounting import accounting_table
from .models import ModelInfo


@dataclass
class Result:
    """Figure 4 analysed: the accounting of every model, the GPU memory each is compared
    with, and the meta-vs-real cross-checks."""

    parameters: dict[str, Any]
    results: dict[str, TrainingMemory]
    gpu: pd.DataFrame
    cross_checks: list[CrossCheck]
    authors_bars: pd.DataFrame
    comparison: dict[str, Any]
    text: dict[str, Any]
    grid: dict[str, Any]
    tbig: list[dict[str, Any]] = field(default_factory=list)
    #: Every model's :class:`.models.ModelInfo` (label, year, how a user's model was built), in order.
    info: dict[str, ModelInfo] = field(default_factory=dict)

    def paper_models(self) -> tuple[dict[str, TrainingMemory], pd.DataFrame]:
        """The accountings and GPU line rows of the models of Figure 4 only (not the user's)."""
        keys = [k for k in self.results if k in PAPER_MODELS]
        return {k: self.results[k] for k in keys}, self.gpu[self.gpu["model"].isin(keys)]

    def user_models_table(self) -> pd.DataFrame:
        """The models given as a preset or a config.json: where each came from, how it was
        built and trained (batch, tokens), and the GPU of the year it is compared with."""
        gpu = self.gpu.set_index("model")
        rows = [
            {
                "model": i.label,
                "config": i.config.get("config") or f"preset {i.config.get('preset')}",
                "model_type": i.config.get("model_type"),
                "head": i.config.get("head"),
                "attention": i.config.get("attn_implementation"),
                "batch": self.results[k].batch_size,
                "tokens": i.input_size,
                "parameters (M)": self.results[k].parameters / 1e6,
                "GPU compared": f"{gpu.loc[k, 'device']} ({i.year}, {gpu.loc[k, 'memory_gb']:.0f} GB)",
            }
            for k, i in self.info.items()
            if not i.is_paper_model
        ]
        return pd.DataFrame(rows)

    def tbig_table(self) -> pd.DataFrame:
        """The Transformer-big experiments (:func:`transformer_big.experiments_table`)."""
        return transformer_big.experiments_table(self.tbig)

    def grid_table(self) -> pd.DataFrame:
        """Feature maps ours / authors, model by model, under each activation convention."""
        t = pd.DataFrame(self.grid["feature_maps_ratio"])
        t.index = [PAPER_MODELS[k].label for k in t.index]
        return t

    def comparison_table(self) -> pd.DataFrame:
        """Our bars beside the authors', segment by segment, with the experiments."""
        return authors_bars.comparison_table(self.comparison)

    def text_tables(self) -> dict[str, pd.DataFrame]:
        """ZeRO, inference footprint and optimizer-memory tables (:func:`text_claims.text_tables`)."""
        return text_claims.text_tables(self.text)

    def text_claims(self) -> list[Claim]:
        """The memory claims of the text (ZeRO, INT4, second-order optimizers)."""
        return text_claims.text_claims(self.text["zero"], self.text["int4"], self.text["optimizers"])

    def accounting_table(self) -> pd.DataFrame:
        """Both accountings per model (GB) beside the GPU memory of its year."""
        gpu = self.gpu.rename(columns={"memory_gb": "GPU GB", "device": "GPU of the year"})
        totals = {k: r.accounting("paper_convention")["total_gb"] for k, r in self.results.items()}
        gpu["fraction used (paper)"] = [authors_bars.fractions_used(totals, self.gpu)[k] for k in self.gpu["model"]]
        return accounting_table(self.results, self.info).merge(
            gpu[["GPU GB", "GPU of the year", "fraction used (paper)"]], left_index=True, right_index=True
        )

    def cross_check_table(self) -> pd.DataFrame:
        """Meta against real counts (bytes), per cross-checked model."""
        return pd.DataFrame(
            [
                {
                    "model": c.name,
                    "meta saved bytes": c.meta.saved_bytes,
                    "real saved bytes": c.real.saved_bytes,
                    "real, by data_ptr": c.real_by_data_ptr,
                    "meta feature-map bytes": c.meta.feature_map_bytes,
                    "real feature-map bytes": c.real.feature_map_bytes,
                    "equal": c.equal,
                }
                for c in self.cross_checks
            ]
        )
