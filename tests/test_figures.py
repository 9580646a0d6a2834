"""Figure writing (core.output): atomic, deterministic PDF/PNG, sidecar contract; claims and
the claims summary (core.claims); the plot style (core.plotting)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

from memwall_lib.core import claims, output, plotting


def _fig():
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1, 10, 100])
    ax.set_yscale("log")
    return fig


def _claims():
    return [
        claims.growth_claim("c1", "grows 3x", 3.0, 2.9, [2.5, 3.2], authors_points=3.04),
        claims.Claim("c2", "qualitative", "yes", "no", None, False, rule="manual"),
    ]


def _write(fig, name: str, out_dir: Path, claims=(), data=None, parameters=None) -> dict[str, Path]:
    """One figure written by output.write_figures; its files by extension."""
    output.write_figures(
        {name: fig}, claims={name: list(claims)}, data={name: data or {}}, parameters=parameters or {}, out_dir=out_dir
    )
    return {ext: out_dir / f"{name}.{ext}" for ext in ("png", "pdf", "json", "sha256")}


def test_write_figure_writes_three_files_and_the_contract(tmp_path: Path) -> None:
    paths = _write(_fig(), "figx", tmp_path, _claims(), {"x": [1.0, float("nan")]}, {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["figx.json", "figx.pdf", "figx.png", "figx.sha256"]
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    sc = json.loads(paths["json"].read_text())
    assert set(sc) == {"figure", "parameters", "claims", "data", "provenance"}
    assert sc["figure"] == "figx" and sc["data"]["x"] == [1.0, None]
    for c in sc["claims"]:
        assert {"id", "text", "paper", "reproduced", "ci95", "holds"} <= set(c)
    assert sc["claims"][0]["holds"] is True and sc["claims"][0]["ci95"] == [2.5, 3.2]
    assert set(sc["provenance"]) == {"git_commit", "packages", "python", "machine"}
    assert sc["provenance"]["packages"]["numpy"]


def test_growth_claim_verdict_follows_the_ci() -> None:
    assert claims.growth_claim("a", "t", 3.0, 2.8, [2.5, 3.1]).holds
    assert not claims.growth_claim("a", "t", 3.0, 2.3, [2.0, 2.6]).holds


def test_same_inputs_give_the_same_pdf_and_png_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    _write(_fig(), "f", a)
    _write(_fig(), "f", b)
    assert (a / "f.pdf").read_bytes() == (b / "f.pdf").read_bytes()
    assert (a / "f.png").read_bytes() == (b / "f.png").read_bytes()


def test_failed_write_leaves_the_old_files_and_no_temporaries(tmp_path: Path) -> None:
    _write(_fig(), "f", tmp_path, data={"v": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TypeError):
        _write(_fig(), "f", tmp_path, data={"v": object()})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_atomic_write_cleans_up_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "x.json"
    target.write_text("old")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        output.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_claims_summary_lists_every_claim(tmp_path: Path) -> None:
    _write(_fig(), "figa", tmp_path, _claims())
    text = claims.write_claims_summary(tmp_path).read_text()
    assert "**The paper's claims: 1 of 2 hold; of the 1 that does not: 1 cause not stated.**" in text
    assert "| claim | paper | ours | verdict | cause | rule |" in text
    assert "| [grows 3x](#c1) | 3 | 2.9 [2.5, 3.2] | holds |  | holds if 3 lies inside the reproduced 95% CI |" in text
    assert "| [qualitative](#c2) | yes | no | **does not hold** |  | manual |" in text
    # the authors' points, where known, are in the claim's notes
    assert "- paper: 3; ours: 2.9, 95% CI [2.5, 3.2]; our method on the authors' points: 3.04" in text
    assert "- paper: yes; ours: no\n" in text


def test_authors_points_is_in_the_sidecar_only_where_known() -> None:
    c1, c2 = (c.to_dict() for c in _claims())
    assert c1["authors_points"] == 3.04 and "authors_points" not in c2


def test_write_figures_writes_every_output_and_returns_every_claim(tmp_path: Path) -> None:
    c1, c2 = _claims()
    written = output.write_figures(
        {"fa": _fig(), "fb": _fig()},
        claims={"fa": [c1], "fb": [c2]},
        data={"fa": {"v": 1}, "fb": {"v": 2}},
        parameters={"p": 1},
        out_dir=tmp_path / "new",
    )
    assert written == [c1, c2]
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [
        "fa.json",
        "fa.pdf",
        "fa.png",
        "fa.sha256",
        "fb.json",
        "fb.pdf",
        "fb.png",
    ]
    fb = json.loads((tmp_path / "new" / "fb.json").read_text())
    assert fb["figure"] == "fb" and fb["data"] == {"v": 2} and fb["parameters"] == {"p": 1}
    assert [c["id"] for c in fb["claims"]] == ["c2"]


def test_write_figures_rejects_outputs_that_differ(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"differ in \['fb'\]"):
        output.write_figures(
            {"fa": _fig()}, claims={"fa": [], "fb": []}, data={"fa": {}}, parameters={}, out_dir=tmp_path
        )
    assert not list(tmp_path.iterdir())


def test_claims_frame_lists_claims_without_the_rule() -> None:
    frame = claims.claims_frame(_claims())
    assert list(frame["id"]) == ["c1", "c2"] and "rule" not in frame.columns
    assert list(frame["holds"]) == [True, False]
    assert list(frame.columns[:5]) == ["id", "text", "paper", "authors_points", "reproduced"]


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    umask = os.umask(0o022)
    try:
        p = output.atomic_write_text(tmp_path / "a.json", "{}")
    finally:
        os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o644


def test_declutter_labels_separates_overlapping_labels() -> None:
    fig, ax = plt.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    plotting.annotate_points(ax, [5.0, 5.05, 5.1], [5.0, 5.0, 5.0], ["first label", "second label", "third label"])
    assert plotting.declutter_labels(ax) >= 2
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]  # the text alone, not its leader line
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    frame = ax.get_window_extent(renderer)
    assert all(frame.x0 <= b.x0 and b.x1 <= frame.x1 for b in boxes)


def test_declutter_labels_keeps_a_label_inside_the_axes_and_off_the_legend() -> None:
    fig, ax = plt.subplots()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.scatter([0.1, 5.0], [5.0, 9.6], label="points")
    plotting.annotate_points(ax, [0.1], [5.0], ["a long label left of the axis"], offset=(-4, 4), ha="right")
    ax.legend(loc="center")
    plotting.declutter_labels(ax)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (label,) = ax.texts
    box, frame = Text.get_window_extent(label, renderer), ax.get_window_extent(renderer)
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1  # mirrored to the right of its point
    assert not box.overlaps(ax.get_legend().get_window_extent(renderer))


def test_a_claim_from_its_paper_id_takes_the_registry_text_and_value() -> None:
    from memwall_lib import paper
    from memwall_lib.figures.paper_claims import paper_claim, paper_growth_claim

    entry = paper.claim("fig4b.reduction_at_20pct")
    c = paper_claim(
        "fig4b.reduction_at_20pct", 4.1, False, suffix="gpt2", fields=dict(overhead="20%", workload="GPT-2")
    )
    assert (c.id, c.paper, c.ci95) == ("fig4b.reduction_at_20pct.gpt2", entry.value, None)
    assert c.text == entry.format(overhead="20%", workload="GPT-2")
    assert paper_claim("fig4.authors_bars", 6, False, paper_value=8, kind="check").paper == 8
    g = paper_growth_claim("fig1.flops.per_2yr", 3.1, [2.8, 3.4], suffix="ext2025", text_suffix="(data through 2025)")
    assert (g.id, g.text, g.holds) == (
        "fig1.flops.per_2yr.ext2025",
        f"{paper.claim('fig1.flops.per_2yr').text} (data through 2025)",
        True,
    )
    with pytest.raises(KeyError, match="no paper claim"):
        paper_claim("fig9.made_up", 1, True)


def test_an_undetermined_claim_is_neither_held_nor_failed(tmp_path: Path) -> None:
    # issue 22: a claim the data cannot decide (too few points, a search bound reached) is
    # "undetermined" in the sidecar and claims.md, never "does not hold"
    open_ = claims.Claim("c3", "undecided", "> 1", None, None, None, rule="fit", cause="data")
    assert open_.to_dict()["holds"] is None and open_.to_dict()["cause"] == ""
    _write(_fig(), "figu", tmp_path, [*_claims(), open_])
    text = claims.write_claims_summary(tmp_path).read_text()
    assert "**The paper's claims: 1 of 3 hold, 1 undetermined; of the 1 that does not: 1 cause not stated.**" in text
    assert "| [undecided](#c3) | > 1 |  | undetermined |  | fit |" in text
    assert "**undecided**: undetermined (" in text


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ci95": [1.0]}, r"ci95: expected two finite numbers \(low, high\) with low <= high, got \[1.0\]"),
        ({"ci95": [3.0, 1.0]}, r"ci95: expected two finite numbers"),
        ({"ci95": "ab"}, r"ci95: expected two finite numbers"),
        ({"reproduced": float("nan")}, r"reproduced: expected a finite number, got nan"),
        ({"paper": None}, r"paper: expected a number, got None"),  # a TypeError
    ],
)
def test_growth_claim_refuses_what_it_cannot_judge(kwargs: dict, match: str) -> None:
    args = {"claim_id": "x", "text": "t", "paper": 3.0, "reproduced": 2.9, "ci95": [2.5, 3.2], **kwargs}
    with pytest.raises((TypeError, ValueError), match=match):
        claims.growth_claim(**args)
