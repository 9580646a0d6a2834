"""Figure 5's :class:`Result`: accelerators with their ridge points and its fits, the workloads'
intensities, one model's roofline bounds and the critical decode batches, with the tables the
notebook shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...core.trends import GrowthFit


@dataclass
class Result:
    """Figure 5 analysed: accelerators with ridge points, their fits, workload intensities,
    one model's roofline bounds, and critical decode batches."""

    parameters: dict[str, Any]
    accelerators: pd.DataFrame
    fits: dict[str, GrowthFit | None]
    intensities: pd.DataFrame
    latency: pd.DataFrame
    critical: pd.DataFrame
    critical_fit: GrowthFit | None
    removed: dict[str, list[str]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # where each model comes from, by label
    methods: dict[str, str] = field(default_factory=dict)  # "analytic" or "traced", by label

    def fits_table(self) -> pd.DataFrame:
        """Growth per 2 years (95% CI) of the ridge point and of its two factors, same devices."""
        return pd.DataFrame(
            {
                k: {"points": f.n, "x / 2 yrs": f.per_2yr, "95% CI": f.per_2yr_ci95, "R^2": f.r_squared}
                for k, f in self.fits.items()
                if f is not None
            }
        ).T

    def intensity_table(self) -> pd.DataFrame:
        """Arithmetic intensity (FLOPs/byte): one row per model and phase, one column per batch."""
        return self.intensities.pivot_table(index=["model", "phase"], columns="batch", values="intensity")

    def decode_b1_margin(self) -> pd.DataFrame:
        """Per accelerator: its ridge point over the largest batch-1 decode intensity (> 1: memory-bound)."""
        b1 = self.intensities[(self.intensities["phase"] == "decode") & (self.intensities["batch"] == 1)]
        top = float(b1["intensity"].max())
        acc = self.accelerators[self.accelerators["ridge"].notna()]
        return pd.DataFrame(
            {
                "name": acc["name"],
                "year": acc["year"].round(2),
                "ridge": acc["ridge"],
                "ridge_over_b1_decode": acc["ridge"] / top,
            }
        ).reset_index(drop=True)
