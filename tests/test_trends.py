"""Trend fitting on synthetic data with a known growth rate, and its edge cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from memwall_lib.core import trends


def _synthetic(rate_per_2yr: float, n: int = 40, noise: float = 0.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    years = np.sort(rng.uniform(1996, 2023, n))
    values = 5.0 * rate_per_2yr ** ((years - 1996) / 2) * 10 ** rng.normal(0, noise, n)
    return years, values


@pytest.mark.parametrize("rate", [1.4, 1.6, 3.0, 410.0])
def test_recovers_exact_growth_rate(rate: float) -> None:
    years, values = _synthetic(rate)
    fit = trends.fit_growth(years, values)
    assert fit.per_2yr == pytest.approx(rate, rel=1e-9)
    assert fit.per_20yr == pytest.approx(rate**10, rel=1e-8)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.predict([1996.0])[0] == pytest.approx(5.0, rel=1e-9)


def test_noisy_fit_ci_contains_true_rate_about_95_percent_of_the_time() -> None:
    hits = 0
    trials = 400
    for seed in range(trials):
        years, values = _synthetic(3.0, n=25, noise=0.3, seed=seed)
        lo, hi = trends.fit_growth(years, values).per_2yr_ci95
        hits += lo <= 3.0 <= hi
    assert 0.92 <= hits / trials <= 0.98


def test_ci_brackets_the_estimate_and_widens_with_noise() -> None:
    y1, v1 = _synthetic(2.0, noise=0.05)
    y2, v2 = _synthetic(2.0, noise=0.5)
    f1, f2 = trends.fit_growth(y1, v1), trends.fit_growth(y2, v2)
    for f in (f1, f2):
        lo, hi = f.per_2yr_ci95
        assert lo < f.per_2yr < hi
        lo20, hi20 = f.per_20yr_ci95
        assert lo20 < f.per_20yr < hi20
    assert np.ptp(f2.per_2yr_ci95) > np.ptp(f1.per_2yr_ci95)


def test_line_spans_the_data() -> None:
    years, values = _synthetic(3.0)
    fit = trends.fit_growth(years, values)
    lx, ly = fit.line()
    assert lx[0] == pytest.approx(years.min()) and lx[-1] == pytest.approx(years.max())
    assert np.allclose(ly, fit.predict(lx))


@pytest.mark.parametrize(
    "years, values, match",
    [
        ([2000.0], [1.0], "at least 3 points, got 1"),
        ([2000.0, 2001.0], [1.0, 2.0], "at least 3 points, got 2"),
        ([2010.0, 2010.0, 2010.0], [1.0, 2.0, 3.0], "same date"),
        ([2000.0, 2001.0, 2002.0], [1.0, 0.0, 3.0], r"positive and finite.*position\(s\) \[1\]"),
        ([2000.0, 2001.0, 2002.0], [1.0, -2.0, 3.0], "positive"),
        ([2000.0, 2001.0, 2002.0], [1.0, float("nan"), 3.0], "positive and finite"),
        ([2000.0, 2001.0], [1.0, 2.0, 3.0], "equal length"),
    ],
)
def test_bad_input_gives_a_clear_error(years, values, match) -> None:
    with pytest.raises(trends.FitError, match=match):
        trends.fit_growth(years, values, name="test series")


def test_error_names_the_series() -> None:
    with pytest.raises(trends.FitError, match="^DRAM: "):
        trends.fit_growth([1.0], [1.0], name="DRAM")


def test_fractional_year() -> None:
    assert trends.fractional_year(dt.date(2020, 1, 1))[0] == pytest.approx(2020.0)
    assert trends.fractional_year([dt.date(2021, 7, 2)])[0] == pytest.approx(2021 + 182 / 365)


def test_leave_one_out_and_bootstrap_bracket_the_fit() -> None:
    years, values = _synthetic(3.0, n=12, noise=0.2, seed=3)
    fit = trends.fit_growth(years, values)
    lo, hi = trends.leave_one_out(years, values)
    assert lo <= fit.per_2yr <= hi
    blo, bhi = trends.bootstrap_growth(years, values, n_resamples=500)
    assert blo < fit.per_2yr < bhi


def test_bootstrap_checks_its_input_like_the_fit() -> None:
    with pytest.raises(trends.FitError, match="same date"):
        trends.bootstrap_growth([2000.0, 2000.0, 2000.0], [1.0, 2.0, 3.0])
    with pytest.raises(trends.FitError, match="positive"):
        trends.bootstrap_growth([2000.0, 2001.0, 2002.0], [1.0, -2.0, 3.0])


def test_fractional_year_accepts_iso_strings() -> None:
    assert trends.fractional_year("2020-01-01")[0] == pytest.approx(2020.0)
