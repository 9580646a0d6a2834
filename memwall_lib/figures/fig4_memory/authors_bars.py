"""Figure 4's comparison points: the authors' bars and GPU step line (read from
``data/authors_plotted.csv``, the values drawn in their ``gpu_memory_wall.pdf``), the GPUs
behind each step, the GPU line under each policy, and our bars beside the authors'.

Units: the authors' bars are read in the figure's own unit, which is GiB (2**30 bytes; see
:func:`authors_unit_check`); everything we report is in GB (1e9 bytes). GPU capacities are
nominal ("32GB" = 32 GiB), reported in GB.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...engines.memory.training import TrainingMemory
from ...engines.models.paper_models import PAPER_MODELS
from ...tables import GIB, device_dates, gpu_memory_by_year, load_authors_plotted
from ...tables.schemas import AUTHORS_PLOTTED

#: The authors' bar labels (text before the comma) -> our model keys.
AUTHORS_LABELS: dict[str, str] = {
    "AlexNet": "alexnet",
    "VGG19": "vgg19",
    "ResNet152": "resnet152",
    "DenseNet201": "densenet201",
    "ResNeXt101": "resnext101_64x4d",
    "Transformer": "transformer_big",
    "BERT Large": "bert_large",
    "GPT-2": "gpt2_xl",
}
SEGMENTS: tuple[str, ...] = ("parameters", "optimizer", "feature_maps")
#: GPU lines of Figure 4: the authors' steps (default), the largest GPU memory of the year
#: (any GPU), or data-centre GPUs only (GeForce, TITAN and Quadro boards left out).
GPU_LINES: tuple[str, ...] = ("authors", "largest", "datacenter")
NON_DATACENTRE: tuple[str, ...] = ("GeForce", "TITAN", "Quadro")
#: GPUs the models' own papers say they were trained on, where one is named (the step of
#: that year is then identified with it): Krizhevsky et al. 2012 Sec. 5 ("two GTX 580 3GB
#: GPUs"); Simonyan & Zisserman 2015 Sec. 3.3 ("four NVIDIA Titan Black GPUs"); Vaswani et
#: al. 2017 Sec. 5.2 ("8 NVIDIA P100 GPUs").
TRAINED_ON: dict[str, str] = {
    "alexnet": "GeForce GTX 580 3GB",
    "vgg19": "GeForce GTX TITAN Black",
    "transformer_big": "Tesla P100 SXM2 16GB",
}
#: A difference between our bar and the authors' above this fraction needs a reason.
EXPLAIN_ABOVE: float = 0.15


def _model_key(label: str, line: int) -> str:
    name = label.split(",")[0].strip()
    if name not in AUTHORS_LABELS:
        raise ValueError(
            f"{AUTHORS_PLOTTED.name}: line {line}: column 'label': unknown Figure 4 model {name!r}; "
            f"expected one of {sorted(AUTHORS_LABELS)}"
        )
    return AUTHORS_LABELS[name]


def read_authors_fig4(data_dir: str | Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """The authors' Figure 4 from ``data_dir``'s ``authors_plotted.csv`` (read and validated by
    :func:`memwall_lib.tables.load_authors_plotted`): bars (one row per model key, columns
    ``parameters``, ``optimizer``, ``feature_maps``, ``total``, in the figure's unit) and the
    GPU step per model (the figure's unit, nominal GB). Rows of other figures are skipped;
    an unknown model, series or a missing row raises ValueError naming the file, line and column."""
    plotted = load_authors_plotted(data_dir)
    bars: dict[str, dict[str, float]] = {}
    steps: dict[str, float] = {}
    for row in plotted[plotted["figure"] == "fig4"].itertuples():
        if row.kind == "bar_segment":
            if row.series not in SEGMENTS:
                raise ValueError(
                    f"{AUTHORS_PLOTTED.name}: line {row.line}: column 'series': expected one of "
                    f"{list(SEGMENTS)}, got {row.series!r}"
                )
            bars.setdefault(_model_key(row.label, row.line), {})[row.series] = float(row.value)
        elif row.kind == "step":
            for label in row.label.split(";"):
                steps[_model_key(label, row.line)] = float(row.value)
    missing = [k for k in PAPER_MODELS if k not in bars or set(bars[k]) != set(SEGMENTS) or k not in steps]
    if missing:
        raise ValueError(f"{AUTHORS_PLOTTED.name}: Figure 4 rows missing for {missing}")
    frame = pd.DataFrame.from_dict(bars, orient="index").loc[list(PAPER_MODELS), list(SEGMENTS)]
    frame["total"] = frame.sum(axis=1)
    return frame, {k: steps[k] for k in PAPER_MODELS}


def authors_unit_check(bars: pd.DataFrame, results: Mapping[str, TrainingMemory]) -> dict[str, float | None]:
    """The median ratio of our parameter bytes to the authors' parameter bar, read as GB and as
    GiB: the unit whose ratio is nearer 1 is the figure's (parameters are the one segment that
    does not depend on an accounting convention); None without a model of Figure 4."""
    keys = [k for k in results if k in bars.index]
    if not keys:  # no model of Figure 4 (only the user's): nothing to compare with
        return {"median_ratio_if_GB": None, "median_ratio_if_GiB": None}
    ours = np.array([results[k].parameter_bytes for k in keys], dtype=float)
    theirs = bars.loc[keys, "parameters"].to_numpy(dtype=float)
    return {
        "median_ratio_if_GB": float(np.median(ours / (theirs * 1e9))),
        "median_ratio_if_GiB": float(np.median(ours / (theirs * GIB))),
    }


def step_gpus(devices: pd.DataFrame, capacity_gib: float, year: int, key: str) -> tuple[str, list[str]]:
    """The GPUs of ``devices`` with ``capacity_gib`` dated by the end of ``year``
    (availability, else announcement), earliest first, and the one the step is identified
    with: the model's own training GPU (:data:`TRAINED_ON`) where among them, else the earliest."""
    gpus = devices[(devices["device_type"] == "gpu") & (devices["memory_capacity_GiB"] == capacity_gib)].copy()
    gpus["date"] = device_dates(gpus)
    dated = np.array([d.year <= year for d in gpus["date"]], dtype=bool)  # a bool mask even when empty
    gpus = gpus[dated].sort_values(["date", "name"])
    names = [n for n in gpus["name"] if "dual-gpu" not in n.lower()]
    if not names:
        raise ValueError(f"devices: no GPU with {capacity_gib:g} GiB dated by {year} for the authors' step of {key}")
    return (TRAINED_ON[key] if TRAINED_ON.get(key) in names else names[0]), names


def gpu_line(
    policy: str,
    keys: list[str],
    devices: pd.DataFrame,
    authors_steps: Mapping[str, float],
    date_rule: str = "availability",
    exclude: tuple[str, ...] = ("dual-GPU",),
    years: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The GPU memory each model is compared with (columns ``model``, ``year``, ``memory_gb``
    in GB, ``device``, ``candidates``): the authors' step identified with a GPU of our data
    (``"authors"``), the largest GPU memory of the year (``"largest"``), or the largest
    data-centre GPU memory of the year (``"datacenter"``). A key that is not a model of
    Figure 4 (a user's model) is compared with the largest GPU memory of its year in
    ``years`` (data-centre GPUs only under ``"datacenter"``; under ``"authors"``, whose steps
    end in 2019, the largest of any GPU)."""
    if policy not in GPU_LINES:
        raise ValueError(f"policy: expected one of {list(GPU_LINES)}, got {policy!r}")
    paper_keys = [k for k in keys if k in PAPER_MODELS]
    others = {k: int((years or {})[k]) for k in keys if k not in PAPER_MODELS}
    rows: dict[str, dict[str, Any]] = {}
    if policy == "authors":
        for k in paper_keys:
            device, names = step_gpus(devices, authors_steps[k], PAPER_MODELS[k].year, k)
            rows[k] = {
                "model": k,
                "year": PAPER_MODELS[k].year,
                "memory_gb": authors_steps[k] * GIB / 1e9,
                "device": device,
                "candidates": names,
            }
    else:
        rows |= _largest_of_year({k: PAPER_MODELS[k].year for k in paper_keys}, devices, policy, date_rule, exclude)
    rows |= _largest_of_year(others, devices, policy, date_rule, exclude)
    return pd.DataFrame([rows[k] for k in keys])


def _largest_of_year(
    years: Mapping[str, int], devices: pd.DataFrame, policy: str, date_rule: str, exclude: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Per key, the row of :func:`gpu_line` for the largest GPU memory (data-centre GPUs only
    under ``"datacenter"``) dated by the end of its year."""
    if not years:
        return {}
    if policy == "datacenter":
        exclude = (*exclude, *NON_DATACENTRE)
    ys = list(years.values())
    by_year = gpu_memory_by_year(devices, range(min(ys), max(ys) + 1), date_rule, exclude).set_index("year")
    return {
        k: {
            "model": k,
            "year": y,
            "memory_gb": float(by_year.loc[y, "memory_gb"]),
            "device": by_year.loc[y, "device"],
            "candidates": [by_year.loc[y, "device"]],
        }
        for k, y in years.items()
    }


def fractions_used(totals: Mapping[str, float], gpu: pd.DataFrame) -> dict[str, float]:
    """Each model's total (GB) as a fraction of the GPU memory it is compared with."""
    limit = dict(zip(gpu["model"], gpu["memory_gb"]))
    return {k: float(totals[k] / limit[k]) for k in totals}


def _segments_gb(r: TrainingMemory, convention: str) -> dict[str, float]:
    a = r.accounting(convention)
    return {
        "parameters": a["parameters_gb"],
        "optimizer": a["optimizer_gb"],
        "feature_maps": a["activations_gb"],
        "total": a["parameters_gb"] + a["optimizer_gb"] + a["activations_gb"],
    }


def experiment_segments_gb(r: TrainingMemory) -> dict[str, float]:
    """An experiment's bar as the authors draw theirs (GB): fp32 parameters (4 bytes each), the
    optimizer's fp32 state (without the master copy of mixed precision) and the activations
    saved for backward (at the experiment's own precision), or, for an experiment that measured
    it (``peak=True``), the bytes alive at the peak of its forward and backward."""
    params = 4 * r.parameters
    state = r.optimizer_bytes - (4 * r.parameters if r.precision == "mixed" else 0)
    acts = r.peak.peak_bytes if r.peak is not None else r.activation_bytes
    parts = {"parameters": params / 1e9, "optimizer": state / 1e9, "feature_maps": acts / 1e9}
    parts["total"] = sum(parts.values())
    return parts


def authors_comparison(
    bars: pd.DataFrame, results: Mapping[str, TrainingMemory], experiments: Mapping[str, tuple[TrainingMemory, str]]
) -> dict[str, Any]:
    """Our bars (paper convention) beside the authors' (converted from GiB to GB), segment by
    segment, and for each model the experiment that comes closest to the authors' feature
    maps (``experiments[model] = (accounting, what was changed)``: its saved activations
    are compared). A ratio ours / authors outside 1 +- :data:`EXPLAIN_ABOVE` is flagged."""
    out: dict[str, Any] = {}
    for k, r in results.items():
        if k not in bars.index:
            continue
        theirs = {s: float(bars.loc[k, s]) * GIB / 1e9 for s in (*SEGMENTS, "total")}
        ours = _segments_gb(r, "paper_convention")
        ratio = {s: ours[s] / theirs[s] for s in theirs}
        entry: dict[str, Any] = {
            "authors_gb": theirs,
            "ours_gb": ours,
            "ratio": ratio,
            "needs_reason": [s for s in SEGMENTS if abs(ratio[s] - 1) > EXPLAIN_ABOVE],
        }
        if k in experiments:
            exp, what = experiments[k]
            e = experiment_segments_gb(exp)
            e_ratio = {s: e[s] / theirs[s] for s in ("parameters", "optimizer", "feature_maps")}
            ok = all(abs(v - 1) <= EXPLAIN_ABOVE for v in e_ratio.values())
            entry["experiment"] = {
                "what": what,
                "ours_gb": {s: e[s] for s in e_ratio},
                "ratio": e_ratio,
                "reproduced": ok,
            }
            if entry["needs_reason"]:
                found = ", ".join(f"{s} {ratio[s]:.2f} -> {e_ratio[s]:.2f}" for s in entry["needs_reason"])
                entry["reason"] = (
                    f"{'explained' if ok else 'NOT explained'} by the experiment '{what}' (ours / authors: {found})"
                )
        out[k] = entry
    return out


def comparison_table(comparison: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`authors_comparison` as a table: one row per model, GB and ratios."""
    rows = []
    for k, c in comparison.items():
        row = {"model": PAPER_MODELS[k].label}
        for s in SEGMENTS:
            row[f"{s}: authors GB"] = c["authors_gb"][s]
            row[f"{s}: ours / authors"] = c["ratio"][s]
        exp = c.get("experiment")
        if exp:
            row["experiment: feature maps / authors"] = exp["ratio"]["feature_maps"]
            row["experiment: parameters / authors"] = exp["ratio"]["parameters"]
            row["experiment reproduces (15%)"] = exp["reproduced"]
            row["experiment"] = exp["what"]
        rows.append(row)
    return pd.DataFrame(rows)


def convention_grid(bars: pd.DataFrame, conventions: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """Feature maps ours / authors under each activation convention (``conventions[name][model]``
    = our feature-map bytes), the count of models each reproduces within
    :data:`EXPLAIN_ABOVE`, and whether one convention reproduces every model."""
    ratios = {
        name: {k: float(v / (bars.loc[k, "feature_maps"] * GIB)) for k, v in per_model.items() if k in bars.index}
        for name, per_model in conventions.items()
    }
    within = {name: [k for k, r in rs.items() if abs(r - 1) <= EXPLAIN_ABOVE] for name, rs in ratios.items()}
    models = sorted({k for rs in ratios.values() for k in rs}, key=list(PAPER_MODELS).index)
    best = {k: min(ratios, key=lambda n: abs(ratios[n].get(k, np.inf) - 1)) for k in models}
    return {
        "feature_maps_ratio": ratios,
        "reproduced": within,
        "one_reproduces_all": bool(models) and any(len(w) == len(models) for w in within.values()),
        "closest": best,
    }
