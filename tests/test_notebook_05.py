"""Notebook 05 end to end with a small GPT-2 stack and a small ResNet-152: files, sidecar,
every kind of plan present with equal gradients, claims computed from the measurements, the
reading of the claim and Checkmate's result stated, PyTorch's anchor marked valid or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_figure_files, sidecar
from papermill.exceptions import PapermillExecutionError

from memwall_lib.core.paths import NOTEBOOKS_DIR
from memwall_lib.engines import remat
from memwall_lib.engines.remat.study import POLICIES
from memwall_lib.figures.fig4b_remat import verdicts as fig4b_verdicts
from memwall_lib.run.runner import run_notebook

pytestmark = pytest.mark.notebook
NB = "05_rematerialization"
FIG = "fig4b_rematerialization"
QUICK = dict(
    gpt2_layers=4,
    gpt2_hidden=64,
    gpt2_heads=4,
    gpt2_tokens=32,
    resnet_image_size=32,
    every_k=[2],
    n_spread=1,
    resolution=100,
    timing_repeats=1,
    compile_budgets=[1.0, 0.3],
)
KINDS = {"none", "every block", "every k", "sqrt(n)", "block frontier", "operator frontier", *POLICIES}
CLAIMS = (
    ("fig4b.reduction_at_20pct", "block", "overhead"),
    ("fig4b.operator_at_20pct_flops", "operator", "overhead"),
    ("fig4b.operator_at_20pct_time", "operator", "time_overhead"),
)


@pytest.fixture(scope="module")
def quick(notebook_run) -> Path:
    return notebook_run(NB, **QUICK)


def test_writes_files_and_every_kind_of_plan(quick: Path) -> None:
    assert_figure_files(quick, FIG)
    data = sidecar(quick, FIG)["data"]
    assert "5.1x" in data["checkmate"] and "wall time" in data["claim_reading"]
    for chain in remat.CHAINS:
        ms = data[chain]["measurements"]
        assert {m["kind"] for m in ms} >= KINDS
        assert all(m["grads_equal"] and m["peak_bytes"] > 0 for m in ms)
        assert all((m["time_overhead"] is not None) == m["timed"] for m in ms)
        assert data[chain]["frontiers"]["operator"] and data[chain]["frontiers"]["block"]
        anchor = data[chain]["compile_anchor"]
        if anchor["note"].startswith("torch.compile could not run"):
            continue
        assert [p["budget"] for p in anchor["points"]] == [1.0, 0.3]
        # each distinct block compiled once: GPT-2's stack (embedding, 4 blocks, final norm) has 3
        distinct = {"gpt2": 3, "resnet152": 10}[chain]
        assert f"compiling the {distinct} distinct blocks of {data[chain]['n_blocks']}" in anchor["note"]
        for p, row in zip(anchor["points"], anchor["table"]):
            assert p["n_compiled"] == distinct
            assert row["valid"] == (not p["error"] and p["grads_equal"]) and row["cause"] == p["cause"]
            # no point is called wrong because of a mask our harness drew: only a mismatch with the masks replayed
            assert (
                bool(p["wrong_blocks"])
                == (p["cause"] == "mismatch")
                == ("DIFFER" in row["status"] if not p["error"] else False)
            )
            assert (p["cause"] == "fresh mask") <= (p["grads_equal"] and p["recomputed_random"] > 0)
        off = anchor["dropout_off"]
        assert (off is not None) == (chain == "gpt2")  # ResNet has no dropout
        if off is not None:
            assert all(q["cause"] in ("ok", "failed") and q["mask_bytes"] == 0 for q in off["points"])


def test_claims_are_computed_from_the_measurements(quick: Path) -> None:
    sc = sidecar(quick, FIG)
    limit = sc["parameters"]["max_overhead"]
    claims = {c["id"]: c for c in sc["claims"]}
    for chain in remat.CHAINS:
        d = sc["data"][chain]
        ms = d["measurements"]
        for cid, level, key in CLAIMS:
            ok = [
                m
                for m in ms
                if m["kind"] == "none" or (m["level"] == level and m[key] is not None and m[key] <= limit + 1e-12)
            ]
            best = min(m["peak_bytes"] for m in ok)
            claim = claims[f"{cid}.{chain}"]
            assert claim["reproduced"] == pytest.approx(d["reference_peak_bytes"] / best, rel=1e-12)
            assert claim["paper"] == fig4b_verdicts.PAPER_REDUCTION
            assert claim["holds"] == (
                claim["reproduced"] >= fig4b_verdicts.REDUCTION_TOLERANCE * fig4b_verdicts.PAPER_REDUCTION
            )
        by = "best_operator_by_flops"
        assert d[by]["reduction"] == claims[f"fig4b.operator_at_20pct_flops.{chain}"]["reproduced"]
        assert f"{d[by]['time_overhead']:+.0%}" in claims[f"fig4b.operator_at_20pct_flops.{chain}"]["note"]


def test_bad_value_names_the_parameter(tmp_path: Path) -> None:
    with pytest.raises(PapermillExecutionError, match="'device': expected one of"):
        run_notebook(
            NOTEBOOKS_DIR / f"{NB}.ipynb", {"device": "tpu", "output_dir": str(tmp_path)}, output=tmp_path / "out.ipynb"
        )


#: A four-layer Mistral (sliding window, GQA: 4 query / 2 KV heads of 16) written to a temporary file.
TINY_MISTRAL = {
    "_name_or_path": "my-org/tiny-mistral",
    "model_type": "mistral",
    "architectures": ["MistralForCausalLM"],
    "hidden_size": 64,
    "intermediate_size": 160,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "sliding_window": 8,
    "vocab_size": 500,
    "max_position_embeddings": 256,
}


def test_a_config_path_is_a_chain_of_its_layers(notebook_run, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("configs") / "tiny.json"
    path.write_text(json.dumps(TINY_MISTRAL))
    out = notebook_run(
        NB,
        chains=[str(path)],
        config_layers=3,
        config_hidden=32,
        config_tokens=24,
        every_k=[2],
        n_spread=1,
        resolution=100,
        timing_repeats=1,
        compile_anchor=False,
    )
    assert_figure_files(out, FIG)
    sc = sidecar(out, FIG)
    d = sc["data"]["tiny-mistral"]  # labelled from the config's _name_or_path
    assert d["n_blocks"] == 3
    assert d["description"].startswith("tiny-mistral layers (mistral): 3 of 4, hidden 32 of 64, 2 of 4 heads")
    assert all(m["grads_equal"] and m["peak_bytes"] > 0 for m in d["measurements"])
    assert {c["id"] for c in sc["claims"]} == {f"{cid}.tiny-mistral" for cid, _, _ in CLAIMS}


def test_a_bad_chain_item_is_one_line_before_any_work(tmp_path: Path) -> None:
    from memwall_lib.core.params import ParameterError
    from memwall_lib.run.preflight import check_run

    nb = NOTEBOOKS_DIR / f"{NB}.ipynb"
    (tmp_path / "broken.json").write_text('{"model_type": "mistral", "hidden_size": }')
    for chains, match in (
        ([str(tmp_path / "missing.json")], "does not exist"),
        ([str(tmp_path / "broken.json")], "not valid JSON at line 1"),
        (["resnet"], r"'resnet' is not a chain \(did you mean 'resnet152'\?\)"),
    ):
        with pytest.raises(ParameterError, match=match) as err:
            check_run([nb], {"chains": chains})
        assert "\n" not in str(err.value)
