"""Figure 1's claims and sidecar tables: the growth per 2 and per 20 years of each series against the paper's, and each point's ratio to the paper-era trend."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...core.claims import Claim
from ...core.trends import GrowthFit
from ..paper_claims import paper_growth_claim
from .series import CLAIM_IDS, Series


# --------------------------------------------------------------------------- claims
def rate_claims(fits: dict[str, GrowthFit], id_suffix: str = "", text_suffix: str = "", note: str = "") -> list[Claim]:
    """Six claims: growth per 2 years and per 20 years of each series vs the paper's (variants
    of the paper's claims when ``id_suffix`` names other data)."""
    kind = "variant" if id_suffix else "paper"
    claims = []
    for key, fit in fits.items():
        per_2yr, per_20yr = CLAIM_IDS[key]
        for cid, value, ci95 in ((per_2yr, fit.per_2yr, fit.per_2yr_ci95), (per_20yr, fit.per_20yr, fit.per_20yr_ci95)):
            claims.append(
                paper_growth_claim(cid, value, ci95, suffix=id_suffix, text_suffix=text_suffix, note=note, kind=kind)
            )
    return claims


def extension_residuals(series: Series) -> pd.DataFrame:
    """For each extension point: its value over the paper-era trend's prediction at its date
    (>1: above the trend)."""
    fit = series.fit()
    ext = series.table[series.table["extension"]]
    return pd.DataFrame(
        {
            "name": ext["name"],
            "year": ext["year"],
            "value": ext["value"],
            "trend_value": fit.predict(ext["year"].to_numpy()),
            "ratio_to_trend": ext["value"].to_numpy() / fit.predict(ext["year"].to_numpy()),
        }
    )


def series_data(series: Series, fit: GrowthFit, fit_extended: GrowthFit | None = None) -> dict[str, Any]:
    """The numbers behind one plotted series, for the sidecar."""
    t = series.table
    out: dict[str, Any] = {
        "unit": series.unit,
        "convention": series.convention,
        "points": {
            "name": t["name"].tolist(),
            "year": t["year"].round(4).tolist(),
            "value": t["value"].tolist(),
            "normalized": series.normalized().tolist(),
            "label": t["label"].tolist(),
            "extension": t["extension"].tolist(),
        },
        "normalized_to": t["name"].iloc[0],
        "fit": fit.summary(),
    }
    if "precision" in t:
        out["points"]["precision"] = t["precision"].tolist()
    if fit_extended is not None:
        out["fit_with_extension"] = fit_extended.summary()
    return out
