"""``figures/claims.md`` (core.claims): one table per figure, the paper's claims apart from our
checks and variants, one notes section per claim; and the note builders that write generated
text, on adverse inputs (slower with more threads, equal, NaN)."""

from __future__ import annotations

import json
import math
import re

import pytest

from memwall_lib.core import claims
from memwall_lib.core.paths import FIGURES_DIR
from memwall_lib.engines.remat.run import PlanMeasurement
from memwall_lib.engines.remat.study import StudyPoint
from memwall_lib.figures.fig3_profiling import verdicts as fig3_verdicts
from memwall_lib.figures.fig4b_remat import verdicts as fig4b_verdicts

NAN = float("nan")


def _committed() -> list[dict]:
    out = [json.loads(p.read_text()) for p in sorted(FIGURES_DIR.glob("*.json"))]
    return [s for s in out if "claims" in s and "figure" in s]


def _table_rows(text: str) -> list[str]:
    """Rows of the per-figure tables (above the notes): those that link a claim."""
    head = text.split("## Notes, claim by claim")[0]
    return [line for line in head.splitlines() if line.startswith("| [")]


def test_every_claim_is_once_in_a_table_and_once_in_the_notes() -> None:
    sidecars = _committed()
    text = claims.claims_markdown(sidecars)
    ids = [c["id"] for s in sidecars for c in s["claims"]]
    assert len(ids) == len(set(ids)), "claim ids must be unique: they are the notes' anchors"
    linked = [re.search(r"\]\(#([^)]+)\) \|", row).group(1) for row in _table_rows(text)]
    assert sorted(linked) == sorted(ids)
    anchors = re.findall(r'<a id="([^"]+)"></a>', text)
    assert sorted(anchors) == sorted(ids)
    assert text == (FIGURES_DIR / "claims.md").read_text(), "figures/claims.md is stale: --summary-only"


def test_headline_counts_the_papers_claims_apart_from_our_checks() -> None:
    sidecars = _committed()
    rows = [r for s in sidecars for r in claims.sidecar_rows(s)]
    paper = [r for r in rows if r.kind == "paper"]
    ours = [r for r in rows if r.kind != "paper"]
    assert paper and ours and len(paper) + len(ours) == len(rows)
    text = claims.claims_markdown(sidecars)
    assert f"**The paper's claims: {sum(r.holds is True for r in paper)} of {len(paper)} hold" in text
    assert f"**Our checks and variants: {sum(r.holds is True for r in ours)} of {len(ours)} hold" in text
    # every claim that fails names its cause, and the causes add up in the headline; a
    # holding or undetermined one (a marginal roofline) names none
    assert all(r.cause in claims.CAUSES for r in rows if r.holds is False)
    assert all(r.cause == "" for r in rows if r.holds is not False)


def _sidecar(claim_list: list[claims.Claim], measured: bool = False) -> dict:
    prov = {"measurements": {"x": {"cpu": "AMD EPYC 7B13", "threads": 1, "busy": False}}} if measured else {}
    return {"figure": "figx", "claims": [c.to_dict() for c in claim_list], "provenance": prov}


def test_checks_show_no_paper_value_and_rows_give_their_rule() -> None:
    paper = claims.growth_claim("p", "grows 3x", 3.0, 2.0, [1.5, 2.5], cause="data")
    check = claims.Claim("c", "our check", 1.0, 0.9, None, True, rule="holds if within 15% of 1", kind="check")
    text = claims.claims_markdown([_sidecar([paper, check])])
    assert "| [grows 3x](#p) | 3 | 2 [1.5, 2.5] | **does not hold** | data | holds if 3 lies inside" in text
    assert "| [our check](#c) | — | 0.9 | holds |  | holds if within 15% of 1 |" in text
    assert "compared with (not a value of the paper): 1" in text
    assert "**The paper's claims: 0 of 1 hold; of the 1 that does not: 1 data.**" in text
    assert "**Our checks and variants: 1 of 1 hold.**" in text


def test_only_measured_claims_are_machine_specific() -> None:
    counted = claims.Claim("a", "FLOPs", "> 1", 2.0, None, True, rule="counted")
    timed = claims.Claim("t", "latency", 45.0, 13.8, None, False, cause="machine", measured=True)
    rows = {r.id: r for r in claims.sidecar_rows(_sidecar([counted, timed], measured=True))}
    assert rows["a"].where == "" and rows["t"].where.startswith("machine-specific: measured on AMD EPYC 7B13")


def test_a_sidecar_without_kinds_is_refused() -> None:
    old = {"figure": "figx", "claims": [{"id": "f", "text": "t", "paper": 1, "reproduced": 2, "holds": True}]}
    with pytest.raises(ValueError, match="figx: claim 'f' has no kind.*rerun its notebook"):
        claims.sidecar_rows(old)


def test_claim_rejects_unknown_words_and_drops_the_cause_of_a_claim_that_holds() -> None:
    with pytest.raises(ValueError, match="kind"):
        claims.Claim("x", "t", 1, 1, None, True, kind="mine")
    with pytest.raises(ValueError, match="cause"):
        claims.Claim("x", "t", 1, 1, None, False, cause="luck")
    d = claims.Claim("x", "t", 1, 1, None, True, cause="data").to_dict()
    assert d["cause"] == "" and d["kind"] == "paper" and d["measured"] is False


# --------------------------------------------------------------------------- note builders
SCALING = {"seq_len": 128, "encoder": "bert-base", "decoder": "gpt2", "threads": [1, 2]}


def test_thread_note_says_slower_when_a_model_slows_down() -> None:
    # the busy machine of the issue: both slower with two threads, the ratio up 3.7x
    note = fig3_verdicts.thread_note(
        {**SCALING, "encoder_s": [1.0, 3.0], "decoder_s": [10.0, 111.0], "ratio": [10, 37]}
    )
    assert "BERT-Base runs 3.00x slower" in note and "GPT-2 runs 11.10x slower" in note
    assert "faster" not in note and "may explain" not in note and "busy" in note


def test_thread_note_on_equal_times_and_a_flat_ratio() -> None:
    note = fig3_verdicts.thread_note({**SCALING, "encoder_s": [1.0, 1.0], "decoder_s": [10.0, 10.0], "ratio": [10, 10]})
    assert "BERT-Base runs at the same speed" in note and "GPT-2 runs at the same speed" in note
    assert note.endswith("the ratio does not grow with threads here")


def test_thread_note_on_nan() -> None:
    note = fig3_verdicts.thread_note({**SCALING, "encoder_s": [1.0, NAN], "decoder_s": [10.0, 9.0], "ratio": [10, NAN]})
    assert "BERT-Base has no comparable time" in note and note.endswith("the ratios cannot be compared")
    assert "grows" not in note and "nan" not in note.lower().replace("cannot", "")


def test_thread_note_grows_with_threads_only_when_both_speed_up() -> None:
    note = fig3_verdicts.thread_note({**SCALING, "encoder_s": [1.0, 0.5], "decoder_s": [10.0, 9.0], "ratio": [10, 18]})
    assert "BERT-Base runs 2.00x faster" in note and "GPT-2 runs 1.11x faster" in note
    assert "so the ratio grows with threads" in note and "may explain part of the gap at 128 tokens" in note


def _survey(worst: float, holds: bool) -> claims.Claim:
    return claims.Claim("fig3.latency_vs_survey", "t", 1.0, worst, None, holds, kind="check")


def test_survey_sentence_follows_the_verdict() -> None:
    assert "not of the same order" in fig3_verdicts.survey_sentence([_survey(0.219, False)])
    assert "4.6x smaller" in fig3_verdicts.survey_sentence([_survey(0.219, False)])
    assert "3.5x larger" in fig3_verdicts.survey_sentence([_survey(3.5, False)])
    held = fig3_verdicts.survey_sentence([_survey(0.8, True)])
    assert "of the same order" in held and "not" not in held
    assert "not compared" in fig3_verdicts.survey_sentence([_survey(NAN, False)])
    assert "not compared" in fig3_verdicts.survey_sentence([])


def _point(kind: str, wall_s: float, extra: float = 20.0) -> StudyPoint:
    m = PlanMeasurement("plan", 100, 100, extra, extra, 100.0, wall_s=wall_s, ref_wall_s=1.0, n_kept=3)
    return StudyPoint(kind, m, timed=True)


class _Study:
    ref_peak_bytes = 500


def test_describe_says_in_words_when_no_plan_fits() -> None:
    none = fig4b_verdicts.describe(_Study(), _point("none", 1.0, 0.0), 0.2, "wall time")  # type: ignore[arg-type]
    assert "no plan of this level costs at most 20% extra wall time" in none and "none (none" not in none
    best = fig4b_verdicts.describe(_Study(), _point("operator frontier", NAN), 0.2)  # type: ignore[arg-type]
    assert (
        "5.00x at 20.0% extra matrix-product FLOPs = " in best and "in the full count, wall time not measured" in best
    )
    assert "nan" not in best


def test_wall_note_follows_the_plans_own_numbers() -> None:
    slower = fig4b_verdicts.wall_note(6.6, 1.0, _point("operator frontier", 1.38), 4.0)
    assert "+38% wall time for 20% extra FLOPs" in slower and "machine-specific" in slower
    cheap = fig4b_verdicts.wall_note(6.6, 1.0, _point("operator frontier", 1.1), 4.0)  # time overhead below FLOPs'
    assert "machine-specific" not in cheap and "+10% wall time" in cheap
    assert "nan" not in fig4b_verdicts.wall_note(6.6, 1.0, _point("operator frontier", NAN), 4.0)
    assert fig4b_verdicts.wall_note(6.6, 6.0, _point("operator frontier", 1.1), 4.0) == ""
    assert math.isnan(NAN)
