"""Figure 2's :class:`Result`: the paper era, the extension (all parameters, and MoE counted by
active parameters) and the sensitivity of the paper-era fits, with the table the notebook shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .points import Era


@dataclass
class Result:
    """Figure 2 analysed: the paper era, the extension (all parameters, and MoE counted by
    active parameters), and the sensitivity of the paper-era fits to values and model sets."""

    parameters: dict[str, Any]
    paper_era: Era
    extended: Era | None
    extended_active: Era | None
    sensitivity: pd.DataFrame
    memory_sensitivity: list[dict[str, Any]]
    #: Paper claim id -> our method on the authors' plotted points (``authors_plotted.csv`` of
    #: the run's ``data_dir``; :func:`memwall_lib.figures.authors_points.authors_points`).
    authors_values: dict[str, float]
    #: The last year the extension's data cover (``extension_year_max``, or the data's last year
    #: where that comes first: the claims say "data through" it).
    extension_through: int

    def fits_table(self) -> pd.DataFrame:
        """The transformer-size fit of each era (growth, CI, leave-one-out, bootstrap)."""
        eras = {"paper era": self.paper_era, "with extension": self.extended}
        return pd.DataFrame(
            {
                name: era.size_fit.summary() | {"fit": "transformer size"}
                for name, era in eras.items()
                if era is not None
            }
        ).T
