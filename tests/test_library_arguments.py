"""Library misuse (issue 22, part 6): the public functions of core, tables and engines called with a
wrong type or range raise TypeError or ValueError naming the argument and what was expected,
never a foreign traceback (AttributeError, KeyError, IsADirectoryError) or a silent wrong
answer (a string iterated letter by letter, NaN returned, "0 of 0 claims hold")."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from memwall_lib import tables
from memwall_lib.core import checks, claims, output, trends
from memwall_lib.core.paths import DATA_DIR
from memwall_lib.core.schema import read_table


@pytest.fixture(scope="module")
def hw() -> Any:
    return tables.load_hardware()


def _cases(hw: Any, tmp: Path) -> dict[str, tuple[Callable[[], Any], type[Exception], str]]:
    years = np.array([2000.0, 2001.0, 2002.0])
    return {
        "growth_claim with a 1-element CI": (
            lambda: claims.growth_claim("x", "t", 2.0, 2.1, [1.0]),
            ValueError,
            r"ci95: expected two finite numbers",
        ),
        "growth_claim of NaN": (
            lambda: claims.growth_claim("x", "t", 2.0, float("nan"), [1.0, 3.0]),
            ValueError,
            r"reproduced: expected a finite number, got nan",
        ),
        "read_table without a schema": (
            lambda: read_table(DATA_DIR / "models.csv", None),
            TypeError,
            r"schema: expected a memwall_lib.core.schema.Schema",
        ),
        "read_table of None": (
            lambda: read_table(None, tables.SCHEMAS["models.csv"]),
            TypeError,
            r"path: expected a CSV file path",
        ),
        "device_peaks on the devices frame": (
            lambda: tables.device_peaks(hw.devices),
            ValueError,
            r"peak_flops: missing column\(s\) \['device', 'precision', 'unit', 'sparsity', 'peak_TFLOPS'\]",
        ),
        "device_peaks on a list": (lambda: tables.device_peaks([1, 2]), TypeError, r"peak_flops: expected a pandas"),
        "device_dates on the peaks": (
            lambda: tables.device_dates(hw.peak_flops),
            ValueError,
            r"devices: missing column\(s\) \['announce_date', 'availability_date'\]",
        ),
        "gpu_memory_by_year with exclude a string": (
            lambda: tables.gpu_memory_by_year(hw.devices, [2020], exclude="dual-GPU"),
            TypeError,
            r"exclude: expected a list of strings, got the string 'dual-GPU' \(write \['dual-GPU'\]\)",
        ),
        "gpu_memory_by_year of a year as text": (
            lambda: tables.gpu_memory_by_year(hw.devices, ["2020"]),
            TypeError,
            r"years\[0\]: expected an integer, got '2020'",
        ),
        "atomic_write_text on a folder": (
            lambda: output.atomic_write_text(tmp, "x"),
            ValueError,
            r"path: expected a file, got the folder",
        ),
        "atomic_write_text on None": (
            lambda: output.atomic_write_text(None, "x"),
            TypeError,
            r"path: expected a file path",
        ),
        "atomic_write_text of bytes": (
            lambda: output.atomic_write_text(tmp / "a.txt", b"x"),
            TypeError,
            r"text: expected a str, got bytes",
        ),
        "leave_one_out with 2 points": (
            lambda: trends.leave_one_out(years[:2], [1.0, 2.0]),
            ValueError,
            r"needs at least 3 points, got 2",
        ),
        "leave_one_out with 3 points": (
            lambda: trends.leave_one_out(years, [1.0, 2.0, 4.0]),
            ValueError,
            r"years: leave_one_out needs at least 4 points",
        ),
        "leave_one_out over a negative horizon": (
            lambda: trends.leave_one_out(np.arange(2000.0, 2005.0), [1.0, 2.0, 4.0, 8.0, 16.0], horizon_years=-2),
            ValueError,
            r"horizon_years: expected a positive number of years, got -2",
        ),
        "write_claims_summary on an empty folder": (
            lambda: claims.write_claims_summary(tmp),
            ValueError,
            r"out_dir: no figure sidecar",
        ),
        "write_claims_summary on None": (
            lambda: claims.write_claims_summary(None),
            TypeError,
            r"out_dir: expected a folder",
        ),
        "load_models of a missing folder": (
            lambda: tables.load_models(tmp / "nope"),
            ValueError,
            r"data_dir: folder .* does not exist",
        ),
        "load_authors_plotted of None": (
            lambda: tables.load_authors_plotted(None),
            TypeError,
            r"data_dir: expected a folder",
        ),
    }


def _engine_cases() -> dict[str, tuple[Callable[[], Any], type[Exception], str]]:
    from memwall_lib.engines import remat
    from memwall_lib.engines.counts import llm
    from memwall_lib.engines.memory import saved
    from memwall_lib.engines.memory import text_claims as mc
    from memwall_lib.engines.models import builders

    chain = remat.gpt2_chain(layers=2, hidden=32, heads=2, tokens=8, batch_size=1, vocab_size=64, dropout=0.0)
    profile = remat.profile_chain_ops(chain)
    no_gpu = "cpu" if torch.cuda.is_available() else "cuda"  # a device this machine cannot use
    return {
        "memory_over_sgd of no shapes": (
            lambda: mc.memory_over_sgd([], "adam"),
            ValueError,
            r"shapes: expected parameter shapes holding at least one element",
        ),
        "memory_over_sgd of a string": (
            lambda: mc.memory_over_sgd("3x4", "adam"),
            TypeError,
            r"shapes: expected a list of shapes",
        ),
        "optimizer_state_elements of a negative shape": (
            lambda: mc.optimizer_state_elements([[-3, 4]], "adam"),
            ValueError,
            r"shapes\[0\]: expected an integer >= 0, got -3",
        ),
        "inference_footprint_bytes of negative tokens": (
            lambda: mc.inference_footprint_bytes(1000, 2, 8, -10),
            ValueError,
            r"tokens: expected an integer >= 0, got -10",
        ),
        "inference_footprint_bytes of negative parameters": (
            lambda: mc.inference_footprint_bytes(-1000, 2, 8, 10),
            ValueError,
            r"parameters: expected a number >= 0, got -1000",
        ),
        "inference_footprint_bytes of zero layers": (
            lambda: mc.inference_footprint_bytes(1000, 0, 8, 10),
            ValueError,
            r"layers: expected an integer >= 1, got 0",
        ),
        "storage_nbytes of a string": (
            lambda: saved.storage_nbytes("x"),
            TypeError,
            r"tensor: expected a torch.Tensor, got str",
        ),
        "expected_experts_touched of negative tokens": (
            lambda: llm.expected_experts_touched(8, 2, -5),
            ValueError,
            r"tokens: expected a number >= 0, got -5",
        ),
        "expected_experts_touched with top_k above the experts": (
            lambda: llm.expected_experts_touched(8, 9, 5),
            ValueError,
            r"top_k: expected an integer <= 8, got 9",
        ),
        "gpt2_config with no positions": (
            lambda: builders.gpt2_config(max_positions=0),
            ValueError,
            r"max_positions: expected an integer >= 1, got 0",
        ),
        "bert_config with positions as text": (
            lambda: builders.bert_config(max_positions="512"),
            TypeError,
            r"max_positions: expected an integer, got '512'",
        ),
        "build_from_config on a TPU": (
            lambda: builders.build_from_config(builders.gpt2_config(), device="tpu"),
            ValueError,
            r"device: expected one of \['cpu', 'cuda'\], got 'tpu'",
        ),
        "gpt2_chain with dropout 1.5": (
            lambda: remat.gpt2_chain(layers=1, hidden=32, heads=2, dropout=1.5),
            ValueError,
            r"dropout: expected a number >= 0 and <= 1, got 1.5",
        ),
        "gpt2_chain with dropout NaN": (
            lambda: remat.gpt2_chain(layers=1, hidden=32, heads=2, dropout=float("nan")),
            ValueError,
            r"dropout: expected a finite number, got nan",
        ),
        "gpt2_chain on a device this machine lacks": (
            lambda: remat.gpt2_chain(layers=1, hidden=32, heads=2, device=no_gpu),
            ValueError,
            r"device: ",
        ),
        "resnet_chain on a TPU": (
            lambda: remat.resnet_chain(device="tpu"),
            ValueError,
            r"device: expected one of",
        ),
        "segment_cost with s > e": (
            lambda: remat.segment_cost(profile, 2, 1, True),
            ValueError,
            r"s, e: expected 0 <= s <= e < 4 \(the profile's blocks\), got s=2, e=1",
        ),
        "segment_cost past the last block": (
            lambda: remat.segment_cost(profile, 0, 9, True),
            ValueError,
            r"s, e: expected 0 <= s <= e < 4",
        ),
        "schedule_every_k with k 0": (lambda: remat.schedule_every_k(4, 0), ValueError, r"k: expected >= 1, got 0"),
        "frontier at resolution 0": (
            lambda: remat.frontier(profile, resolution=0),
            ValueError,
            r"resolution: expected an integer >= 1, got 0",
        ),
        "plan_for_budget of NaN bytes": (
            lambda: remat.plan_for_budget(profile, float("nan")),
            ValueError,
            r"budget_bytes: expected a positive finite number of bytes, got nan",
        ),
    }


def _failures(cases: dict[str, tuple[Callable[[], Any], type[Exception], str]]) -> list[str]:
    failures = []
    for label, (call, kind, match) in cases.items():
        try:
            call()
        except kind as exc:
            if not re.search(match, str(exc)):
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
            elif "\n" in str(exc):
                failures.append(f"{label}: more than one line: {exc}")
        except Exception as exc:  # a foreign one
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
        else:
            failures.append(f"{label}: returned without an error")
    return failures


def test_every_misuse_names_its_argument(hw: Any, tmp_path: Path) -> None:
    assert _failures(_cases(hw, tmp_path)) == []


def test_every_engine_misuse_names_its_argument() -> None:
    assert _failures(_engine_cases()) == []


def test_engine_arguments_in_range_still_work() -> None:
    from memwall_lib.engines.counts import llm
    from memwall_lib.engines.memory import text_claims as mc

    assert llm.expected_experts_touched(8, 8, 1) == 8.0
    assert llm.expected_experts_touched(8, 2, 0) == 0.0
    assert mc.optimizer_state_elements([(3, 4), ()], "adam") == 2 * 12 + 2 * 1
    assert mc.memory_over_sgd(((3, 4) for _ in range(2)), "adam") == 2.0  # a generator is read once


def test_the_checkers() -> None:
    with pytest.raises(TypeError, match=r"x: expected a pandas DataFrame \(a table\), got list"):
        checks.check_frame("x", [], ["a"], "a table")
    with pytest.raises(TypeError, match=r"x: expected a list of strings, got the item 3"):
        checks.check_str_list("x", ["a", 3])
    assert checks.check_str_list("x", ("a", "b")) == ["a", "b"]
    assert checks.check_int("n", np.int64(3)) == 3
