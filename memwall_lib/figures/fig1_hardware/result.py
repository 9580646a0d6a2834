"""Figure 1's :class:`Result`: the three series, their paper-era fits (and with the extension),
and the sensitivity of each fit to the conventions, with the tables the notebook shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ...core.trends import GrowthFit
from .series import Conventions, Series
from .verdicts import extension_residuals


@dataclass
class Result:
    """Figure 1 analysed: the three series, their paper-era fits (and fits with the
    extension), and the sensitivity of each fit to the conventions."""

    parameters: dict[str, Any]
    conventions: Conventions
    series: dict[str, Series]
    fits: dict[str, GrowthFit]
    fits_extended: dict[str, GrowthFit] | None
    sensitivity: pd.DataFrame
    #: Paper claim id -> our method on the authors' plotted points (``authors_plotted.csv`` of
    #: the run's ``data_dir``; :func:`memwall_lib.figures.authors_points.authors_points`).
    authors_values: dict[str, float]
    #: The last year the extension's data cover (``extension_year_max``, or the data's last year
    #: where that comes first: the claims say "data through" it).
    extension_through: int

    def fits_table(self) -> pd.DataFrame:
        """One row per series: points, growth per 2 years with its 95% CI, per 20 years, R^2."""
        return pd.DataFrame(
            {
                key: {
                    "points": f.n,
                    "x / 2 yrs": f.per_2yr,
                    "95% CI": f.per_2yr_ci95,
                    "x / 20 yrs": f.per_20yr,
                    "R^2": f.r_squared,
                }
                for key, f in self.fits.items()
            }
        ).T

    def residuals(self) -> pd.DataFrame | None:
        """Each extension point against the paper-era trend (None without the extension)."""
        if self.fits_extended is None:
            return None
        return pd.concat({key: extension_residuals(s) for key, s in self.series.items()})
