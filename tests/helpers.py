"""Helpers shared by the tests (import them with ``from helpers import ...``; pytest puts
``tests/`` on ``sys.path`` because it has no ``__init__.py``). Fixtures live in conftest.py.

- reading sidecars: :func:`committed_sidecar` (``figures/``), :func:`sidecar` (a run's folder);
- comparing them: :func:`assert_numbers_close`, :func:`assert_sidecar_reproduces`,
  :func:`assert_figure_files`;
- brute force for the rematerialization planner: :func:`all_plans`,
  :func:`brute_force_plan_optimum` (the library's optimum is checked against them).
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from memwall_lib.core.paths import FIGURES_DIR
from memwall_lib.engines.counts import llm
from memwall_lib.engines.memory.saved import storage_key, storage_nbytes
from memwall_lib.engines.remat.plan import recomputed_ops
from memwall_lib.engines.remat.profile import OpChainProfile, OpPlan, predict_plan


# --------------------------------------------------------------------------- sidecars
def fig3_parameters(**overrides: object) -> dict[str, Any]:
    """Notebook 03's parameters at tiny sizes (one model, 16 tokens, no timing repeats), with
    ``overrides``: a namespace for :func:`memwall_lib.core.params.check_parameters`."""
    base = {
        "models": ["bert-base"],
        "analytic_lengths": [16],
        "breakdown_lengths": [16],
        "measured_lengths": [16],
        "latency_method": "sampled",
        "validation_lengths": [],
        "validation_repeats": 1,
        "repeats": 1,
        "warmup": 0,
        "threads": 1,
        "device": "cpu",
        "dtype": "float32",
        "clock": "wall",
        "flop_check_generate_len": 16,
        "scaling_threads": [],
        "data_dir": "data",
        "output_dir": "build/x",
    }
    return {**base, **overrides}


def committed_sidecar(figure: str) -> dict[str, Any]:
    """The sidecar committed in ``figures/`` for ``figure``."""
    return json.loads((FIGURES_DIR / f"{figure}.json").read_text())


def sidecar(folder: Path, figure: str) -> dict[str, Any]:
    """The sidecar a notebook run wrote into ``folder`` for ``figure``."""
    return json.loads((folder / f"{figure}.json").read_text())


def assert_numbers_close(new: Any, old: Any, rtol: float = 1e-9, path: str = "data") -> None:
    """Recursively compare two JSON trees: same keys, same strings, numbers within ``rtol``."""
    if isinstance(old, dict):
        assert isinstance(new, dict), f"{path}: expected an object"
        assert set(new) == set(old), f"{path}: keys differ: {sorted(set(new) ^ set(old))}"
        for k in old:
            assert_numbers_close(new[k], old[k], rtol, f"{path}.{k}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{path}: list length differs"
        for i, (a, b) in enumerate(zip(new, old)):
            assert_numbers_close(a, b, rtol, f"{path}[{i}]")
    elif isinstance(old, bool) or old is None or isinstance(old, str):
        assert new == old, f"{path}: {new!r} != committed {old!r}"
    elif isinstance(old, (int, float)):
        assert isinstance(new, (int, float)), f"{path}: expected a number, got {new!r}"
        assert abs(new - old) <= rtol * max(abs(old), abs(new), 1e-300), (
            f"{path}: {new!r} differs from committed {old!r} (rtol {rtol}); regenerate the figure"
        )
    else:
        assert new == old, f"{path}: {new!r} != committed {old!r}"


def assert_sidecar_reproduces(new: dict[str, Any], old: dict[str, Any], rtol: float = 1e-9) -> None:
    """``new`` equals the committed sidecar ``old`` (numbers within ``rtol``) apart from its
    provenance and its ``output_dir`` parameter, which say where and when it was written."""

    def strip(sc: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in sc.items() if k != "provenance"}
        out["parameters"] = {**sc.get("parameters", {}), "output_dir": None}
        return out

    assert "provenance" in new, "the new sidecar has no provenance"
    assert_numbers_close(strip(new), strip(old), rtol, path=str(old.get("figure", "sidecar")))


def assert_figure_files(folder: Path, figure: str) -> None:
    """``figure`` was written as a non-trivial PNG, PDF and JSON sidecar, and the executed
    notebook that wrote it (``notebook_run`` keeps it there) showed every figure inline."""
    for ext in ("png", "pdf", "json"):
        assert (folder / f"{figure}.{ext}").stat().st_size > 1000, f"{figure}.{ext}"
    assert_figures_shown_inline(folder)


def assert_figures_shown_inline(folder: Path) -> None:
    """The executed notebook in ``folder`` shows, in its plot cell (``figure.plot(...)``), one
    ``image/png`` output per figure it wrote (a PNG file in ``folder``)."""
    (executed,) = folder.glob("*.executed.ipynb")
    cells = json.loads(executed.read_text())["cells"]
    (plot_cell,) = [c for c in cells if c["cell_type"] == "code" and "figure.plot(" in "".join(c["source"])]
    shown = [o for o in plot_cell["outputs"] if "image/png" in o.get("data", {})]
    written = sorted(p.name for p in folder.glob("*.png"))
    assert len(shown) == len(written), f"{executed.name}: {len(shown)} inline figure(s), wrote {written}"


# --------------------------------------------------------------------------- remat brute force
def _check_n(n: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n: expected a positive number of blocks, got {n!r}")


def segmentations(n: int) -> list[list[tuple[int, int]]]:
    """Every way to cut an n-block chain into consecutive segments (start, end inclusive): 2^(n-1)."""
    _check_n(n)
    out = []
    for cuts in range(2 ** (n - 1)):
        bounds, s = [], 0
        for i in range(n - 1):
            if cuts >> i & 1:
                bounds.append((s, i))
                s = i + 1
        bounds.append((s, n - 1))
        out.append(bounds)
    return out


def all_plans(profile: OpChainProfile) -> list[OpPlan]:
    """Every operator-level plan (segmentations x types x keep sets): brute force for tiny chains."""
    out: list[OpPlan] = []
    for bounds in segmentations(len(profile)):
        options = []
        for s, e in bounds:
            cands = [(b, j) for b in range(s, e + 1) for j, op in recomputed_ops(profile, b, e) if op.cacheable]
            opts: list[tuple[int, int, bool, frozenset]] = [(s, e, False, frozenset())]
            for r in range(len(cands) + 1):
                opts += [(s, e, True, frozenset(k)) for k in itertools.combinations(cands, r)]
            options.append(opts)
        out += [OpPlan(tuple(segs), "brute force") for segs in itertools.product(*options)]
    return out


def brute_force_plan_optimum(profile: OpChainProfile, budget_bytes: float) -> tuple[float, int] | None:
    """(least recompute FLOPs, least peak among those) over every operator-level plan fitting the budget."""
    best: tuple[float, int] | None = None
    for plan in all_plans(profile):
        peak, extra = predict_plan(profile, plan)
        if peak <= budget_bytes and (best is None or (extra, peak) < best):
            best = (extra, peak)
    return best


# --------------------------------------------------------------------------- the LLM engine against torch's counter
def count_hf_flops(
    config: Any,
    batch: int,
    n_new: int,
    context_len: int = 0,
    *,
    device: str = "meta",
    experts_implementation: str = "batched_mm",
    seed: int = 0,
) -> dict[str, int]:
    """FlopCounterMode's count (per aten op and ``"total"``) of one HF forward of ``n_new``
    tokens per sequence after an uncounted prefill of ``context_len`` tokens (0: none)."""
    import torch

    from memwall_lib.engines.timing.workloads import cache_keyword, cache_of, count_flops, start_ids

    b, n, c = batch, n_new, context_len
    torch.manual_seed(seed)
    net = build_hf(config, device, experts_implementation)
    kw: dict[str, Any] = {}
    with torch.no_grad():
        if c:
            out = net(input_ids=start_ids(c, config.vocab_size, device, b, seed), use_cache=True)
            kw = {cache_keyword(net): cache_of(out)}
        ids = start_ids(n, config.vocab_size, device, b, seed + 1)
        return count_flops(lambda: net(input_ids=ids, use_cache=True, **kw))


def validate_llm_flops(config: Any, batch: int, tokens: int, context_len: int, **kw: Any) -> list[dict[str, Any]]:
    """Analytic matmul FLOPs (``mla="expanded"``: what HF runs; LM head on every new token)
    against :func:`count_hf_flops` for a prefill of ``tokens`` and a decode step after a
    cache of ``context_len`` tokens. Rows: ``{"phase", "analytic", "counted", "equal"}``."""
    spec = llm.get_spec(config)
    rows = []
    for phase, n, c in (("prefill", tokens, 0), ("decode", 1, context_len)):
        a = int(sum(o.matmul_flops for o in llm.pass_ops(spec, batch, n, c + n, mla="expanded")))
        counted = count_hf_flops(config, batch, n, c, **kw)["total"]
        rows.append({"phase": phase, "analytic": a, "counted": counted, "equal": a == counted})
    return rows


# --------------------------------------------------------------------------- a real optimizer step, to check the counts
def make_optimizer(name: str, params: Iterable[Any]) -> Any:
    """The ``torch.optim`` optimizer ``name`` (sgd, sgd_momentum with momentum 0.9, adam, adamw)."""
    import torch

    if name == "sgd":
        return torch.optim.SGD(params, lr=1e-3)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=1e-3, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-4)
    return torch.optim.AdamW(params, lr=1e-4)


def state_tensor_bytes(optimizer: Any) -> int:
    import torch

    seen: dict[int, int] = {}
    for state in optimizer.state.values():
        for v in state.values():
            if isinstance(v, torch.Tensor):
                seen.setdefault(storage_key(v), storage_nbytes(v))
    return sum(seen.values())


def measure_optimizer_step(
    model: Any, forward: Callable[[Any], Any], optimizer: str = "adam", precision: str = "fp32"
) -> dict[str, int]:
    """Run one real training step and return the bytes really held, read from the tensors:
    ``parameters`` (the model's trainable parameters), ``gradients`` (their ``.grad``) and
    ``optimizer_state`` (every tensor in ``optimizer.state``, plus the fp32 master weights
    under mixed precision, where the model must already be in 16-bit).

    ``forward(model)`` returns the loss. Used to check :func:`optimizer_state_bytes`.
    """
    import torch

    params = [q for q in model.parameters() if q.requires_grad]
    if precision == "mixed":
        if any(p.dtype not in (torch.float16, torch.bfloat16) for p in params):
            raise ValueError("precision 'mixed': cast the model to float16 or bfloat16 first")
        master = [p.detach().float().clone().requires_grad_(True) for p in params]
        opt = make_optimizer(optimizer, master)
    else:
        master = []
        opt = make_optimizer(optimizer, params)
    model.zero_grad(set_to_none=True)
    forward(model).float().backward()
    grads = sum(storage_nbytes(p.grad) for p in params if p.grad is not None)
    if master:
        for m, p in zip(master, params):
            m.grad = p.grad.float()
        opt.step()
        with torch.no_grad():
            for m, p in zip(master, params):
                p.copy_(m)
        for m in master:
            m.grad = None
    else:
        opt.step()
    state = state_tensor_bytes(opt) + sum(storage_nbytes(m) for m in master)
    return {"parameters": sum(storage_nbytes(p) for p in params), "gradients": grads, "optimizer_state": state}


# --------------------------------------------------------------------------- Hugging Face causal LMs (random weights)
def build_hf(config: Any, device: str = "meta", experts_implementation: str = "batched_mm") -> Any:
    """The HF causal LM of ``config`` (random weights, eager attention, eval mode).

    ``experts_implementation``: ``"batched_mm"`` runs every (token, expert) pair as one
    batched matmul (no data-dependent shapes, so it runs on ``meta``); ``"eager"`` loops over
    the experts actually hit (``nonzero``: needs real tensors, e.g. ``device="cpu"``)."""
    import torch
    from transformers import DeepseekV3ForCausalLM, GPT2LMHeadModel, LlamaForCausalLM, MixtralForCausalLM

    classes = {
        "llama": LlamaForCausalLM,
        "mixtral": MixtralForCausalLM,
        "deepseek_v3": DeepseekV3ForCausalLM,
        "gpt2": GPT2LMHeadModel,
    }
    mt = getattr(config, "model_type", None)
    if mt not in classes:
        raise ValueError(f"config: model_type {mt!r} is not supported; expected one of {sorted(classes)}")
    cfg = copy.deepcopy(config)
    cfg._attn_implementation = "eager"
    if mt in ("mixtral", "deepseek_v3"):
        cfg._experts_implementation = experts_implementation
    with torch.device(device):
        return classes[mt](cfg).eval()
