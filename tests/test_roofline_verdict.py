"""Figure 3's roofline verdict (issue 20): a prediction whose distance from the 25% bound is
smaller than its run-to-run spread is "marginal" and leaves the claim undetermined instead of
flipping it; and notebook 03's ``threads`` and ``data_dir`` parameters (issue 22). No timing."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import fig3_parameters

from memwall_lib.core import params
from memwall_lib.figures import fig3_profiling as profiling
from memwall_lib.figures.fig3_profiling import measured, verdicts

RUNTIME = {"runtime": {"device_name": "a CPU", "dtype": "float32", "threads": 1, "load_average_1min": 0.1}}


def test_margin_and_spread_arithmetic() -> None:
    assert measured.margin(0.85) == pytest.approx(0.10) and measured.margin(1.30) == pytest.approx(-0.05)
    # predicted 1 s; the fastest run 1 s, the median 2 s: the ratio moves from 1.0 to 0.5
    assert measured.ratio_spread(1.0, 1.0, 2.0) == pytest.approx(0.5)
    assert measured.ratio_spread(3.0, 2.0, 2.0) == 0.0


@pytest.mark.parametrize(
    "ratio, spread, expected",
    [
        (0.80, 0.01, "within"),
        (1.20, 0.04, "within"),
        (0.76, 0.02, "marginal"),  # 0.01 inside, within its spread
        (0.73, 0.05, "marginal"),  # 0.02 outside, within its spread
        (1.27, 0.03, "marginal"),
        (0.70, 0.02, "outside"),
        (1.40, 0.00, "outside"),
        (0.75, 0.00, "marginal"),  # on the bound itself
    ],
)
def test_standing(ratio: float, spread: float, expected: str) -> None:
    assert measured.standing(ratio, spread) == expected


def _preds(points: list[tuple[float, float]]) -> dict:
    return {
        "bert-large": {
            "seq_len": [128 * 2**i for i in range(len(points))],
            "ratio": [r for r, _ in points],
            "ratio_spread": [s for _, s in points],
            "standing": [measured.standing(r, s) for r, s in points],
            "single_roof_ratio": [0.5] * len(points),
        }
    }


def test_roofline_claim_holds_is_marginal_or_fails_by_the_spread() -> None:
    firm = verdicts.roofline_claims(_preds([(0.9, 0.01), (1.1, 0.02)]), RUNTIME)[0]
    assert firm.holds is True and "marginal" not in firm.note
    # the flip: 0.70 against the bound with a run-to-run spread of 0.08 is marginal, not "does not hold"
    close = verdicts.roofline_claims(_preds([(0.9, 0.01), (0.70, 0.08)]), RUNTIME)[0]
    assert close.holds is None and close.reproduced == 0.70
    assert "marginal: BERT-Large 256 (0.7 +- 0.08)" in close.note and "margin -0.05" in close.note
    assert close.to_dict()["cause"] == ""
    # a miss farther than its spread does not hold, whatever is marginal beside it
    miss = verdicts.roofline_claims(_preds([(0.76, 0.02), (0.60, 0.05)]), RUNTIME)[0]
    assert miss.holds is False and miss.to_dict()["cause"] == "machine" and "1 of 2 within 25%" in miss.note


def test_threads_above_the_logical_cpus_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: ``threads 512`` on 2 cores was accepted without a word."""
    monkeypatch.setattr(measured.os, "cpu_count", lambda: 2)
    with pytest.raises(params.ParameterError, match=r"parameter 'threads': 512 exceeds this machine's 2 logical"):
        params.check_parameters(fig3_parameters(threads=512), profiling.PARAMETERS, profiling.RELATIONS)
    for ok in (0, 2):
        assert (
            params.check_parameters(fig3_parameters(threads=ok), profiling.PARAMETERS, profiling.RELATIONS)["threads"]
            == ok
        )


def test_the_survey_latencies_come_from_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: Figure 3 reads ``survey_cpu_latency.csv`` from its ``data_dir``, before any timing."""
    read: list[Path] = []

    class Stop(Exception):
        pass

    def load(folder: Path) -> None:
        read.append(Path(folder))
        raise Stop

    monkeypatch.setattr(profiling, "load_survey_latency", load)
    monkeypatch.setattr(profiling.measured, "measure_models", lambda *a, **k: pytest.fail("timed before reading"))
    checked = params.check_parameters(
        fig3_parameters(data_dir=str(tmp_path)), profiling.PARAMETERS, profiling.RELATIONS
    )
    with pytest.raises(Stop):
        profiling.analyse(checked)
    assert read == [tmp_path]
