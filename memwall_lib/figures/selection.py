"""Selections of points that cannot be fitted, refused before any fit with a line naming the
parameters that made them (issue 22): an empty year range or contradictory choices
(``device_set labelled`` with ``year_min 2021``) would otherwise surface as a
:class:`~memwall_lib.core.trends.FitError` that names no parameter. Shared by Figures 1 and 2.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ..core.params import ParameterError

#: A growth fit with a 95% CI needs at least this many points
#: (:func:`memwall_lib.core.trends.fit_growth`).
MIN_POINTS = 3


def require_points(what: str, n: int, names: Sequence[str], params: Mapping[str, Any], span: str = "") -> None:
    """Raise ParameterError naming ``names`` (with their values in ``params``) when the
    selection ``what`` has fewer than :data:`MIN_POINTS` points; ``span`` says what the data
    hold (e.g. "the data's devices span 1996-2025")."""
    if n >= MIN_POINTS:
        return
    shown = ", ".join(f"'{k}' ({params[k]!r})" for k in names if k in params)
    raise ParameterError(
        f"parameters {shown}: {what} has {n} point(s), and a growth fit needs at least {MIN_POINTS}"
        + (f"; {span}" if span else "")
    )


def extension_through(params: Mapping[str, Any], last_data_year: int) -> int:
    """The last year the extension's data cover: ``extension_year_max``, or the data's last
    year where that comes first (a warning says so: claims then say "data through" the
    data's year, not the parameter's, and their ids end in that year)."""
    asked = int(params["extension_year_max"])
    if last_data_year >= asked:
        return asked
    warnings.warn(
        f"extension_year_max {asked} is past the last year of the data ({last_data_year}): the extension's "
        f"claims say 'data through {last_data_year}'",
        stacklevel=3,
    )
    return last_data_year
