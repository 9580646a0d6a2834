"""Figure 3's :class:`Result`: the analytic sweeps, the breakdown, the FLOP check, the measured
latencies with their checks and the survey's, the machine and class rooflines and their
predictions, the user's own models beside the presets, with the tables the notebook shows.
Units: seconds, FLOP/s, bytes/s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...engines.timing import class_roofline
from ...engines.timing.single_roof import Roofline
from . import measured, user_models


@dataclass
class Result:
    """Figure 3 analysed: analytic sweeps, the per-op breakdown, the FLOP check, measured
    latencies (with whole-run checks and the survey's beside them), the machine roofline,
    the class roofline and its predictions; ``user``: the user's own models, counted and timed
    (:mod:`.user_models`; empty when ``models`` holds only the survey's)."""

    parameters: dict[str, Any]
    analytic: dict[str, Any]
    breakdown: pd.DataFrame
    flop_check: pd.DataFrame
    measured: dict[str, Any]
    validation: dict[str, Any]
    decode_steps: dict[str, Any]
    roofline: Roofline
    class_roofline: class_roofline.ClassRoofline
    predicted: dict[str, Any]
    normalized: dict[str, Any]
    survey: dict[str, Any]
    thread_scaling: dict[str, Any]
    user: dict[str, Any] = field(default_factory=dict)

    def analytic_table(self) -> pd.DataFrame:
        """GFLOPs, MOPs (GB) and arithmetic intensity per model and length, in both precisions."""
        return pd.concat(
            {
                (conv, m): pd.DataFrame(v)
                for conv in ("survey_8bit", "measured_precision")
                for m, v in self.analytic[conv].items()
            },
            names=["convention", "model"],
        )

    def user_counted_table(self) -> pd.DataFrame:
        """The user's models counted: GFLOPs, MOPs (GB) and intensity per length, both
        conventions, with the method (analytic or traced); empty without user models."""
        return user_models.counted_frame(self.user)

    def user_latency_table(self) -> pd.DataFrame:
        """The user's models timed by whole runs (seconds), normalized to the presets'
        reference point; empty without user models."""
        return user_models.latency_frame(self.user)

    def agreement_table(self) -> pd.DataFrame:
        """The sampled estimate against whole runs (seconds; ratio = sampled / whole)."""
        return measured.agreement_frame(self.validation)

    def survey_table(self) -> pd.DataFrame:
        """Our normalized latency beside the survey's (ratio = ours / survey's)."""
        return measured.survey_frame(self.survey)

    def thread_scaling_table(self) -> pd.DataFrame:
        """The decoder / BERT-Base latency ratio at 128 tokens per thread count (seconds)."""
        cols = ("threads", "encoder_s", "decoder_s", "ratio")
        return pd.DataFrame({k: self.thread_scaling.get(k, []) for k in cols}).set_index("threads")

    def class_rates_table(self) -> pd.DataFrame:
        """What each operation class attains at each model's shapes (FLOP/s or bytes/s, by the
        calibrated size: tokens, or 1 for decoding), beside the machine's GEMM peak and STREAM."""
        rows = [
            {
                "model": m,
                "class": c,
                "size": n,
                "rate_G": r / 1e9,
                "unit": v["unit"],
                "of_roof": r / (self.roofline.peak_flops if v["unit"] == "FLOP/s" else self.roofline.bandwidth),
            }
            for m, per in class_roofline.class_rates(self.class_roofline).items()
            for c, v in per.items()
            for n, r in zip(v["size"], v["rate"])
        ]
        return pd.DataFrame(rows).set_index(["model", "class", "size"])

    def predictions_table(self) -> pd.DataFrame:
        """Measured against predicted latency (seconds) per model and length: the class
        roofline, the ratio's run-to-run spread, margin to the 25% bound and standing
        (:func:`.measured.standing`), its seconds per class, the class that bounds it, and one
        roof's prediction."""
        cols = [
            "seq_len",
            "measured_s",
            "predicted_s",
            "ratio",
            "ratio_to_median",
            "ratio_spread",
            "margin",
            "standing",
            "bound_by",
            "overhead_s",
            *(f"{c}_s" for c in class_roofline.CLASSES),
            "single_roof_ratio",
        ]
        return pd.concat({m: pd.DataFrame(v)[cols] for m, v in self.predicted.items()}, names=["model"])
