"""Figure 4b's :class:`Result`: every chain studied at both granularities, with the notebook's tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...engines.remat.study import ChainStudy
from . import summary


@dataclass
class Result:
    """Figure 4b analysed: every chain studied at both granularities."""

    parameters: dict[str, Any]
    studies: list[ChainStudy]

    def summary_table(self) -> pd.DataFrame:
        """One row per measured plan; see :func:`.summary.summary_table`."""
        return summary.summary_table(self.studies)

    def anchor_table(self) -> pd.DataFrame:
        """PyTorch's anchor; see :func:`.summary.anchor_table`."""
        return summary.anchor_table(self.studies)

    def anchor_notes(self) -> dict[str, str]:
        """Per chain: whether PyTorch's anchor ran, and how (wrong gradients, failures)."""
        return {s.chain: s.anchor_note for s in self.studies}
