"""Measured claims (issue 11): each measurement records the CPU, the threads and the load around
it, warns when the machine was busy, and claims.md marks its verdicts as machine-specific."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from memwall_lib.core import claims, provenance


@pytest.fixture(autouse=True)
def _no_recorded_measurements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance, "_MEASUREMENTS", {})


def test_an_idle_machine_gives_no_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 8)
    c = provenance.measurement_conditions(1, 0.5, 1.6)
    assert c["busy"] is False and c["warning"] is None
    assert c["threads"] == 1 and c["logical_cpus"] == 8 and "cpu" in c


@pytest.mark.parametrize("before, after", [(7.5, 2.0), (1.0, 9.0)])
def test_a_busy_machine_is_flagged(monkeypatch: pytest.MonkeyPatch, before: float, after: float) -> None:
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 8)
    c = provenance.measurement_conditions(1, before, after)
    assert c["busy"] is True and "the machine was busy" in c["warning"] and "8 logical CPUs" in c["warning"]


def test_zero_threads_means_every_core(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 4)
    assert provenance.measurement_conditions(0, 0.0, 0.0)["threads"] == 4


def test_more_threads_than_cpus_is_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 22: threads 512 on 2 cores flipped a roofline verdict without a word
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 2)
    c = provenance.measurement_conditions(512, 0.0, 0.0, other_cpu_load=0.0)
    assert c["busy"] is False and c["threads"] == 512
    assert c["warning"].startswith("512 threads on 2 logical CPUs: the threads take turns on the cores")
    assert "use threads <= 2" in c["warning"]
    assert provenance.measurement_conditions(2, 0.0, 0.0, other_cpu_load=0.0)["warning"] is None


def test_other_processes_cpu_use_decides_when_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance.os, "cpu_count", lambda: 2)
    # a lagging 1-min load of 3 (earlier work) does not flag a measurement nobody competed with
    quiet = provenance.measurement_conditions(1, 3.0, 3.0, other_cpu_load=0.1)
    assert quiet["busy"] is False and quiet["other_cpu_load"] == 0.1
    loud = provenance.measurement_conditions(1, 0.0, 0.0, other_cpu_load=0.9)
    assert loud["busy"] is True and "other processes used 0.90 cores" in loud["warning"]


def test_busy_cpu_seconds_grows_with_work() -> None:
    before = provenance.busy_cpu_seconds()
    if before is None:
        pytest.skip("no /proc/stat on this system")
    sum(i * i for i in range(2_000_000))
    assert provenance.busy_cpu_seconds() > before


def test_measuring_records_into_provenance_and_warns_when_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "measurements" not in provenance.provenance()  # data-driven figures: nothing measured
    monkeypatch.setattr(provenance, "busy_cpu_seconds", lambda: None)  # the load-average rule
    loads = iter([0.1, 0.2])
    monkeypatch.setattr(provenance, "load_average", lambda: next(loads))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with provenance.measuring("latency", threads=1) as cond:
            pass
    assert cond["load_1min_before"] == 0.1 and cond["load_1min_after"] == 0.2
    assert provenance.provenance()["measurements"]["latency"]["busy"] is False
    loads = iter([1000.0, 1000.0])
    with pytest.warns(UserWarning, match="latency: the machine was busy"):
        with provenance.measuring("latency", threads=1):
            pass
    assert provenance.provenance()["measurements"]["latency"]["busy"] is True


def test_claims_md_marks_measured_verdicts_machine_specific(tmp_path: Path) -> None:
    def claim(cid: str, measured: bool) -> dict:
        return {"id": cid, "text": "t", "paper": 2, "reproduced": 2, "ci95": None, "holds": True, "kind": "paper"} | {
            "cause": "",
            "measured": measured,
        }

    fig3 = {
        "figure": "fig3",
        "claims": [claim("timed", True), claim("counted", False)],
        "provenance": {"measurements": {"x": {"cpu": "AMD EPYC 7B13", "threads": 1, "busy": True}}},
    }
    fig1 = {"figure": "fig1", "claims": [claim("fitted", False)], "provenance": {}}
    for sc in (fig3, fig1):
        (tmp_path / f"{sc['figure']}.json").write_text(json.dumps(sc))
    text = claims.write_claims_summary(tmp_path).read_text()
    notes = {block.split("\n")[0]: block for block in text.split("### ")[1:]}
    assert "machine-specific: measured on AMD EPYC 7B13, 1 thread(s), machine busy" in notes["timed"]
    assert "| [t](#timed) | 2 | 2 | holds (measured) |" in text
    # a claim counted, not measured, of the same figure is not machine-specific; nor is a data figure's
    assert "| [t](#counted) | 2 | 2 | holds |" in text and "| [t](#fitted) | 2 | 2 | holds |" in text
    assert text.count("machine-specific: measured") == 1
