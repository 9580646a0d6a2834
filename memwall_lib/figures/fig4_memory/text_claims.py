"""The memory claims of the paper's text, checked with the engines beside Figure 4: ZeRO's
"8x larger models", INT4's "about 8x smaller footprint", second-order optimizers' "3-4x more
memory than SGD" (:mod:`memwall_lib.engines.memory.text_claims`). Shown in notebook 04.

Units: bytes, GB = 1e9 bytes; factors are ratios of bytes.
"""

from __future__ import annotations

from typing import Any

from ... import paper
from ...core.claims import Claim
from ...engines.memory import text_claims as mc
from ...engines.models.builders import GPT2_SIZES
from ...engines.models.paper_models import build_paper_model
from ..paper_claims import paper_claim

#: Data-parallel device counts of the ZeRO table (64: ZeRO's Fig. 1).
ZERO_DEVICES: tuple[int, ...] = (1, 2, 4, 8, 16, 64, 256, 1024)
#: A factor claim "holds" within this fraction of the paper's value.
TOLERANCE: float = 0.10
#: Decoders of the INT4 table: (model, tokens in the KV cache), GPT-2 sizes at 1024 tokens.
INT4_MODELS: tuple[str, ...] = ("gpt2", "gpt2-xl")


def zero_table() -> dict[str, Any]:
    """Model-state reduction factor per ZeRO stage and device count, with the limits."""
    return {
        "devices": list(ZERO_DEVICES),
        "k_bytes": mc.ZERO_K,
        "reduction": {f"stage{s}": [mc.zero_reduction(n, s) for n in ZERO_DEVICES] for s in (1, 2, 3)},
        "limit": {f"stage{s}": (mc.zero_limit(s) if s < 3 else None) for s in (1, 2, 3)},
        "fig1_check_gb": {f"stage{s}": mc.zero_model_state_bytes(7.5e9, 64, s) / 1e9 for s in (0, 1, 2, 3)},
    }


def int4_table() -> dict[str, Any]:
    """Inference footprint (GB) of GPT-2 and GPT-2 XL at 1024 tokens, per format, and fp32 / format."""
    out: dict[str, Any] = {}
    for name in INT4_MODELS:
        size = GPT2_SIZES[name]
        params = _gpt2_parameters(name)
        fp = {
            f: mc.inference_footprint_bytes(params, size["n_layer"], size["n_embd"], 1024, 1, f) / 1e9
            for f in mc.FORMAT_BYTES
        }
        out[name] = {"parameters": params, "footprint_gb": fp, "fp32_over": {f: fp["fp32"] / v for f, v in fp.items()}}
    return out


def _gpt2_parameters(name: str) -> int:
    from ...engines.models.builders import build_from_config, gpt2_config

    model = build_from_config(gpt2_config(name), device="meta")
    return sum(p.numel() for p in model.parameters())


def optimizer_table(models: tuple[str, ...] = ("resnet152", "bert_large", "gpt2_xl")) -> dict[str, Any]:
    """Memory over SGD (parameters + gradients + state, fp32) per method, for Figure 4 models."""
    out: dict[str, Any] = {}
    for key in models:
        model, _ = build_paper_model(key, batch_size=1, input_size=32)
        shapes = [tuple(p.shape) for p in model.parameters() if p.requires_grad]
        out[key] = {m: mc.memory_over_sgd(shapes, m) for m in mc.OPTIMIZER_METHODS}
        out[key]["shampoo_no_diagonal_fallback"] = mc.memory_over_sgd(shapes, "shampoo", max_dim=10**9)
    return out


def text_claims(zero: dict[str, Any], int4: dict[str, Any], opt: dict[str, Any]) -> list[Claim]:
    """The three claims with paper value, reproduced value and verdict. A ZeRO or INT4 factor
    away from 8x would be our accounting's (method); the second-order factor's gap is the
    paper's: its '3-4x' is activations over parameters."""
    claims = []
    zero_8x = paper.claim("text.zero_8x").value
    i64 = zero["devices"].index(64)
    s2 = zero["reduction"]["stage2"][i64]
    first3 = next(n for n, f in zip(zero["devices"], zero["reduction"]["stage3"]) if f >= 8)
    claims.append(
        paper_claim(
            "text.zero_8x",
            s2,
            abs(s2 / zero_8x - 1) <= TOLERANCE,
            fields=dict(setting="stage 2 = optimizer state and gradients partitioned, 64 devices"),
            rule=f"holds if within {TOLERANCE:.0%} of 8x",
            cause="method",
            note=f"stage 1 (optimizer state only) at most {zero['limit']['stage1']:.0f}x; stage 2 tends to "
            f"{zero['limit']['stage2']:.0f}x as devices grow ({s2:.2f}x at 64); stage 3 reaches 8x at "
            f"{first3} devices (= device count). K = {zero['k_bytes']} bytes/parameter (mixed-precision Adam)",
        )
    )
    int4_8x = paper.claim("text.int4_8x").value
    xl = int4["gpt2-xl"]["fp32_over"]
    claims.append(
        paper_claim(
            "text.int4_8x",
            xl["int4"],
            abs(xl["int4"] / int4_8x - 1) <= TOLERANCE,
            fields=dict(model="GPT-2 XL, 1024 tokens, int4 with one fp16 scale per 128 values"),
            rule=f"holds if within {TOLERANCE:.0%} of 8x",
            cause="method",
            note=f"fp32 over int4 {xl['int4']:.2f}x, over int8 {xl['int8']:.2f}x, over fp16 {xl['fp16']:.2f}x; "
            f"fp16 over int4 {xl['int4'] / xl['fp16']:.2f}x: 8x holds against fp32 only (GPT-2 124M: "
            f"{int4['gpt2']['fp32_over']['int4']:.2f}x); the latency half of the claim is not checked here",
        )
    )
    for method in ("shampoo", "adahessian"):
        vals = {k: v[method] for k, v in opt.items()}
        lo, hi = min(vals.values()), max(vals.values())
        claims.append(
            paper_claim(
                "text.second_order_3to4x",
                f"{lo:.2f}-{hi:.2f}",
                lo >= 3 * (1 - TOLERANCE) and hi <= 4 * (1 + TOLERANCE),
                suffix=method,
                fields=dict(
                    method=method.capitalize() if method != "adahessian" else "AdaHessian", model=", ".join(vals)
                ),
                rule=f"holds if every model's factor lies in [3, 4] within {TOLERANCE:.0%}",
                cause="paper",
                note="; ".join(f"{k}: {v:.2f}x (Adam {opt[k]['adam']:.2f}x)" for k, v in vals.items())
                + (
                    "; Shampoo with diagonal fallback above 1200 per dimension (Gupta et al. Sec. 5)"
                    if method == "shampoo"
                    else "; includes the per-step Rademacher vector and Hv; not the double-backward graph"
                )
                + ". The 2021 blog's '3-4x' is activations over parameters",
            )
        )
    return claims


def text_tables(text: dict[str, Any]) -> dict[str, Any]:
    """The three tables of the text's claims as DataFrames: ZeRO's model-state reduction per
    stage and device count, the inference footprint (GB) per format, memory over SGD per method."""
    import pandas as pd

    zero = pd.DataFrame(text["zero"]["reduction"], index=pd.Index(text["zero"]["devices"], name="devices"))
    int4 = pd.DataFrame({k: v["footprint_gb"] for k, v in text["int4"].items()}).T
    int4["fp32 / int4"] = [v["fp32_over"]["int4"] for v in text["int4"].values()]
    opt = pd.DataFrame(text["optimizers"]).T
    return {"zero": zero, "footprint_gb": int4, "memory_over_sgd": opt}
