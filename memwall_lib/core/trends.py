"""Growth-trend fitting: least squares of log10(value) on date in fractional years.

A :class:`GrowthFit` reports the growth factor per 2 years and per 20 years with a 95%
confidence interval from the t distribution of the slope (scipy), and draws its fitted
line. Also: normalization to a reference point, leave-one-out and bootstrap sensitivity.
Nothing here reads files or plots.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats


class FitError(ValueError):
    """The data cannot be fitted (too few points, equal dates, non-positive values)."""


def fractional_year(dates: Iterable[dt.date | pd.Timestamp | np.datetime64] | dt.date) -> np.ndarray:
    """Dates (date objects, timestamps or ISO strings) as fractional years:
    2020-07-02 -> about 2020.5 (day of year / days in year)."""
    if isinstance(dates, (dt.date, pd.Timestamp, np.datetime64, str)):
        dates = [dates]
    out = []
    for d in dates:
        try:
            ts = pd.Timestamp(d)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"dates: expected a date (datetime.date, Timestamp or ISO 'YYYY-MM-DD'), got {d!r}: {exc}"
            ) from None
        if pd.isna(ts):
            raise ValueError(f"dates: expected a date, got a missing value {d!r}")
        start = pd.Timestamp(year=ts.year, month=1, day=1)
        days = 366 if ts.is_leap_year else 365
        out.append(ts.year + (ts - start).days / days)
    return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class GrowthFit:
    """A fitted exponential trend ``value = 10**(intercept + slope * (year - year_ref))``.

    ``slope`` is in log10 units per year. Growth factors are multiplicative over the
    horizon (e.g. ``per_2yr = 10**(2*slope)``); their CIs are 95% from the slope's t
    distribution with n-2 degrees of freedom.
    """

    n: int
    slope: float
    slope_stderr: float
    intercept: float
    year_ref: float
    year_min: float
    year_max: float
    r_squared: float

    @property
    def dof(self) -> int:
        return self.n - 2

    def growth(self, years: float) -> float:
        """Growth factor over ``years`` years."""
        return float(10 ** (self.slope * years))

    def growth_ci95(self, years: float) -> tuple[float, float]:
        """95% confidence interval of the growth factor over ``years`` years."""
        t = stats.t.ppf(0.975, self.dof)
        lo, hi = self.slope - t * self.slope_stderr, self.slope + t * self.slope_stderr
        return float(10 ** (lo * years)), float(10 ** (hi * years))

    @property
    def per_2yr(self) -> float:
        return self.growth(2.0)

    @property
    def per_2yr_ci95(self) -> tuple[float, float]:
        return self.growth_ci95(2.0)

    @property
    def per_20yr(self) -> float:
        return self.growth(20.0)

    @property
    def per_20yr_ci95(self) -> tuple[float, float]:
        return self.growth_ci95(20.0)

    def predict(self, years: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Fitted values at fractional ``years``."""
        y = np.asarray(years, dtype=float)
        return 10 ** (self.intercept + self.slope * (y - self.year_ref))

    def line(
        self, year_min: float | None = None, year_max: float | None = None, n: int = 50
    ) -> tuple[np.ndarray, np.ndarray]:
        """Points (years, values) of the fitted line, by default over the fitted span."""
        years = np.linspace(
            self.year_min if year_min is None else year_min, self.year_max if year_max is None else year_max, n
        )
        return years, self.predict(years)

    def summary(self) -> dict[str, float | int | list[float]]:
        """A JSON-ready summary: n, span, slope, R^2, growth per 2 and 20 years with CIs."""
        d = asdict(self)
        d.update(
            per_2yr=self.per_2yr,
            per_2yr_ci95=list(self.per_2yr_ci95),
            per_20yr=self.per_20yr,
            per_20yr_ci95=list(self.per_20yr_ci95),
        )
        return d


def fit_growth(
    years: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, name: str = "series"
) -> GrowthFit:
    """Least-squares fit of log10(values) on fractional ``years``.

    Raises FitError (naming ``name``) for fewer than 3 points (no confidence interval is
    possible), all dates equal, or a value that is not a positive finite number.
    """
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise FitError(f"{name}: years and values must be 1-D and of equal length, got shapes {x.shape} and {y.shape}")
    if len(x) < 3:
        raise FitError(f"{name}: a growth fit with a 95% CI needs at least 3 points, got {len(x)}")
    bad = [i for i, v in enumerate(y) if not (np.isfinite(v) and v > 0)]
    if bad:
        raise FitError(
            f"{name}: values must be positive and finite to take logs; "
            f"bad value(s) at position(s) {bad}: {[float(y[i]) for i in bad]}"
        )
    if not np.all(np.isfinite(x)):
        raise FitError(f"{name}: years must be finite")
    if np.ptp(x) == 0:
        raise FitError(
            f"{name}: all {len(x)} points have the same date ({x[0]:.2f}); a growth rate needs points spread over time"
        )
    year_ref = float(np.floor(x.min()))
    res = stats.linregress(x - year_ref, np.log10(y))
    stderr = float(res.stderr)
    return GrowthFit(
        n=len(x),
        slope=float(res.slope),
        slope_stderr=stderr,
        intercept=float(res.intercept),
        year_ref=year_ref,
        year_min=float(x.min()),
        year_max=float(x.max()),
        r_squared=float(res.rvalue**2),
    )


#: Points :func:`leave_one_out` needs: each fit without one point keeps the 3 a CI needs.
LEAVE_ONE_OUT_MIN_POINTS = 4


def _check_horizon(horizon_years: Any) -> None:
    if (
        isinstance(horizon_years, bool)
        or not isinstance(horizon_years, numbers.Real)
        or not math.isfinite(horizon_years)
        or horizon_years <= 0
    ):
        raise ValueError(f"horizon_years: expected a positive number of years, got {horizon_years!r}")


def leave_one_out(
    years: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, horizon_years: float = 2.0
) -> tuple[float, float]:
    """Range (min, max) of the growth factor over ``horizon_years`` when each point in turn
    is left out of the fit: how much one point moves the trend. ValueError (naming the
    argument) with fewer than :data:`LEAVE_ONE_OUT_MIN_POINTS` points, where leaving one out
    leaves no CI-capable fit, or a ``horizon_years`` that is not a positive number; the points
    are checked as :func:`fit_growth` checks them."""
    _check_horizon(horizon_years)
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    fit_growth(x, y, name="leave_one_out")  # the same checks as the fit itself
    if len(x) < LEAVE_ONE_OUT_MIN_POINTS:
        raise ValueError(
            f"years: leave_one_out needs at least {LEAVE_ONE_OUT_MIN_POINTS} points (each fit without one keeps 3), "
            f"got {len(x)}"
        )
    rates = []
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        rates.append(fit_growth(x[keep], y[keep]).growth(horizon_years))
    return float(min(rates)), float(max(rates))


def bootstrap_growth(
    years: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    horizon_years: float = 2.0,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of the growth factor over ``horizon_years``
    (resampling points with replacement; resamples with a single date are skipped)."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"n_resamples: expected an integer, got {n_resamples!r}")
    if n_resamples < 100:
        raise ValueError(f"n_resamples: expected at least 100 resamples for a 95% interval, got {n_resamples}")
    _check_horizon(horizon_years)
    x = np.asarray(years, dtype=float)
    y = np.asarray(values, dtype=float)
    fit_growth(x, y, name="bootstrap")  # the same checks as the fit itself
    rng = np.random.default_rng(seed)
    logy = np.log10(y)
    slopes = []
    for _ in range(n_resamples):
        idx = rng.integers(0, len(x), len(x))
        xs = x[idx]
        if np.ptp(xs) == 0:
            continue
        slopes.append(np.polyfit(xs, logy[idx], 1)[0])
    if not slopes:
        raise FitError(f"bootstrap: none of {n_resamples} resamples had two distinct dates")
    lo, hi = np.percentile(slopes, [2.5, 97.5])
    return float(10 ** (lo * horizon_years)), float(10 ** (hi * horizon_years))
