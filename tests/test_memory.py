"""Training-memory accounting: activations counted on meta equal a real run, optimizer state
and parameters equal torch.optim's after a real step, the GPU step line, bad input."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
import torch
from helpers import measure_optimizer_step
from torch import nn

from memwall_lib.core.params import ParameterError
from memwall_lib.engines.memory import saved as storage
from memwall_lib.engines.memory import training as tm
from memwall_lib.engines.models import builders, paper_models
from memwall_lib.figures import fig4_memory
from memwall_lib.tables import gpu_memory_by_year


class TinyNet(nn.Module):
    """Conv -> BN -> in-place ReLU -> view -> linear: views and in-place results share storages,
    and the linear layer saves its (parameter) weight."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.bn(self.conv(x))).flatten(1))


def _tiny(device: str, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, object]:
    torch.manual_seed(0)
    with torch.device(device):
        model = TinyNet().train().to(dtype)
        x = (torch.randn(2, 3, 8, 8) if device != "meta" else torch.empty(2, 3, 8, 8)).to(dtype)
        y = torch.zeros(2, dtype=torch.long)
    return model, lambda m: nn.functional.cross_entropy(m(x), y)


def _tiny_gpt2(device: str, dtype: torch.dtype = torch.float32) -> tuple[nn.Module, object]:
    from transformers import GPT2Config

    torch.manual_seed(0)
    cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=100, attn_implementation="eager")
    model = builders.build_from_config(cfg, device=device, dtype=dtype).train()
    ids = torch.zeros(2, 16, dtype=torch.long, device=device)
    return model, lambda m: m(input_ids=ids, labels=ids).loss


def _graph_saved_bytes(loss: torch.Tensor, exclude: set[int]) -> int:
    """Bytes of the distinct storages in the autograd graph's ``_saved_*`` attributes: an
    independent count from the graph itself, not from the hooks."""
    seen: dict[int, int] = {}
    stack, visited = [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in visited:
            continue
        visited.add(fn)
        for name in dir(fn):
            # only SavedVariables (they have a _raw_saved_ twin); Scalars read back as new tensors
            if not name.startswith("_saved_") or not hasattr(fn, "_raw" + name):
                continue
            try:
                value = getattr(fn, name)
            except RuntimeError:
                continue
            for t in value if isinstance(value, (tuple, list)) else (value,):
                # Python numbers (float64/int64 0-d "wrapped numbers") are kept without pack hooks
                if isinstance(t, torch.Tensor) and not (t.dim() == 0 and t.dtype in (torch.float64, torch.int64)):
                    key = storage.storage_key(t)
                    if key not in exclude:
                        seen.setdefault(key, storage.storage_nbytes(t))
        stack.extend(f for f, _ in fn.next_functions)
    return sum(seen.values())


def test_storage_key_is_shared_by_views_and_inplace_results_on_meta() -> None:
    t = torch.empty(4, 6, device="meta")
    assert t.untyped_storage().data_ptr() == 0  # why data_ptr cannot be the identity
    assert storage.storage_key(t) == storage.storage_key(t.view(24)) == storage.storage_key(t.t())
    assert storage.storage_key(t) == storage.storage_key(t.relu_())
    assert storage.storage_key(t) != storage.storage_key(torch.empty(4, 6, device="meta"))
    assert storage.storage_nbytes(t[1]) == 96  # a view counts its whole storage


@pytest.mark.parametrize("build", [_tiny, _tiny_gpt2], ids=["cnn", "gpt2"])
def test_meta_count_equals_real_count(build) -> None:
    check = storage.cross_check_meta_vs_real(build, "tiny")
    assert check.equal, check.to_dict()
    assert check.meta.saved_bytes > 0 and check.meta.parameter_saves > 0


def test_hook_count_equals_the_autograd_graph() -> None:
    for build in (_tiny, _tiny_gpt2):
        model, forward = build("cpu")
        counted = storage.measure_activations(model, forward).saved_bytes
        loss = forward(model)
        exclude = {storage.storage_key(t) for t in [*model.parameters(), *model.buffers()]}
        assert _graph_saved_bytes(loss, exclude) == counted


def test_tiny_cnn_activations_by_hand() -> None:
    # conv saves its input (2*3*8*8 fp32); BN saves its input (the conv output), mean and invstd;
    # in-place ReLU saves its result (the BN output storage); fc saves the flattened view of it
    # (same storage) and its weight (a parameter: excluded); cross-entropy saves log-softmax
    # output (2*10), the targets (2 int64) and nll_loss's total weight (a 0-d fp32).
    model, forward = _tiny("meta")
    count = storage.measure_activations(model, forward)
    expected = 4 * (2 * 3 * 64) + 4 * (2 * 4 * 64) + 2 * 4 * 4 + 4 * (2 * 4 * 64) + 4 * 20 + 8 * 2 + 4
    assert count.saved_bytes == expected
    # feature maps: conv, BN (= ReLU, in place) and fc outputs
    assert count.feature_map_bytes == 4 * (2 * 4 * 64) * 2 + 4 * 20


@pytest.mark.parametrize("optimizer", tm.OPTIMIZERS)
@pytest.mark.parametrize("precision", tm.PRECISIONS)
def test_optimizer_state_and_parameters_match_a_real_step(optimizer: str, precision: str) -> None:
    for build in (_tiny, _tiny_gpt2):
        model, forward = build("cpu", torch.bfloat16 if precision == "mixed" else torch.float32)
        real = measure_optimizer_step(model, forward, optimizer, precision)
        assert real["optimizer_state"] == tm.optimizer_state_bytes(model, optimizer, precision)
        assert real["parameters"] == tm.parameter_bytes(model, precision)
        assert real["gradients"] == tm.gradient_bytes(model, precision)


def test_tied_weights_are_counted_once() -> None:
    # the tiny GPT-2 (h=32, 2 layers, 100 tokens, 64 positions), counted by hand; lm_head is
    # tied to the token embedding (wte) and adds nothing
    h, layers, vocab, positions = 32, 2, 100, 64
    per_layer = (
        2 * h  # ln_1 weight, bias
        + h * 3 * h
        + 3 * h  # attn.c_attn (q, k, v)
        + h * h
        + h  # attn.c_proj
        + 2 * h  # ln_2
        + h * 4 * h
        + 4 * h  # mlp.c_fc
        + 4 * h * h
        + h
    )  # mlp.c_proj
    expected = vocab * h + positions * h + layers * per_layer + 2 * h  # wte, wpe, blocks, ln_f
    assert expected == 30720
    model, _ = _tiny_gpt2("meta")
    assert model.lm_head.weight is model.transformer.wte.weight  # the premise: tied
    # 2 embeddings + 12 tensors per block + ln_f (weight, bias); lm_head shares wte's tensor
    assert tm.parameter_count(model) == (expected, 2 + 12 * layers + 2)
    assert tm.parameter_bytes(model) == 4 * expected
    assert tm.optimizer_state_bytes(model, "adam") == 8 * expected + 4 * (2 + 12 * layers + 2)


def test_both_accountings() -> None:
    model, forward = _tiny("meta")
    r = tm.account(model, forward, optimizer="adam", name="tiny", batch_size=2)
    n, tensors = tm.parameter_count(model)
    full, paper = r.accounting("full"), r.accounting("paper_convention")
    assert full["parameters_gb"] == paper["parameters_gb"] == 4 * n / 1e9
    assert full["gradients_gb"] == 4 * n / 1e9 and paper["gradients_gb"] == 0
    assert full["optimizer_gb"] == (8 * n + 4 * tensors) / 1e9
    assert full["activations_gb"] == r.activation_bytes / 1e9
    assert paper["activations_gb"] == r.feature_map_bytes / 1e9
    for acc, conv in ((full, "full"), (paper, "paper_convention")):
        parts = acc["parameters_gb"] + acc["gradients_gb"] + acc["optimizer_gb"] + acc["activations_gb"]
        assert acc["total_gb"] == pytest.approx(parts, rel=1e-12)
        assert acc["total_gb"] == pytest.approx(r.total_bytes(conv) / 1e9, rel=1e-12)


def test_mixed_precision_halves_parameters_and_activations() -> None:
    fp32 = paper_models.paper_model_memory("alexnet", batch_size=2, input_size=64)
    mixed = paper_models.paper_model_memory("alexnet", batch_size=2, input_size=64, precision="mixed")
    assert mixed.parameter_bytes * 2 == fp32.parameter_bytes
    assert mixed.optimizer_bytes == fp32.optimizer_bytes + fp32.parameter_bytes  # + the fp32 master copy
    assert mixed.activation_bytes < fp32.activation_bytes


def test_paper_model_sizes() -> None:
    # parameter counts of the Figure 4 models (meta: instant)
    expected = {"alexnet": 61.1e6, "vgg19": 143.7e6, "resnet152": 60.2e6, "transformer_big": 214e6, "gpt2_xl": 1558e6}
    for key, n in expected.items():
        model, _ = paper_models.build_paper_model(key, batch_size=1, input_size=32)
        assert tm.parameter_count(model)[0] == pytest.approx(n, rel=0.01), key


def test_transformer_big_variants_by_hand() -> None:
    # nn.Transformer, d 1024, FFN 4096: an encoder layer has attention 4d^2 + 4d, FFN 2df + f + d
    # and two layer norms (4d); a decoder layer two attentions, the FFN and three norms (6d);
    # plus the encoder's and decoder's final norms (4d); then the embeddings (V x d each)
    d, f = 1024, 4096
    layers = 6 * (4 * d * d + 4 * d + 2 * d * f + f + d + 4 * d) + 6 * (8 * d * d + 8 * d + 2 * d * f + f + d + 6 * d)
    expected = {
        "fairseq_big": layers + 4 * d + 32768 * d,  # one shared 32768 x d matrix
        "separate_embeddings_40k": layers + 4 * d + 3 * 40000 * d,  # source, target, output
        "separate_embeddings_32k_eager": layers + 4 * d + 3 * 32000 * d,
    }
    for variant, n in expected.items():
        model, _ = paper_models.build_paper_model("transformer_big", batch_size=1, input_size=8, variant=variant)
        assert tm.parameter_count(model)[0] == n, variant


def test_paper_model_memory_counts_each_setting_once() -> None:
    """The same settings, defaults spelled out or not, give the one (cached) count, equal to a
    fresh account(); other settings their own; a peak is the count without it plus measure_peak."""
    from dataclasses import replace

    from memwall_lib.engines.memory.live import measure_peak

    memory = paper_models.paper_model_memory("transformer_big", input_size=16)
    assert paper_models.paper_model_memory("transformer_big", batch_size=6, input_size=16, optimizer="adam") is memory
    model, forward = paper_models.build_paper_model("transformer_big", input_size=16)
    assert tm.account(model, forward, optimizer="adam", name="transformer_big", batch_size=6) == memory
    four_byte_masks = paper_models.paper_model_memory("transformer_big", input_size=16, mask_target="cpu")
    assert four_byte_masks.activation_bytes > memory.activation_bytes
    peak = paper_models.paper_model_memory("transformer_big", input_size=16, peak=True)
    assert replace(peak, peak=None) == memory
    model, forward = paper_models.build_paper_model("transformer_big", input_size=16)
    assert peak.peak == measure_peak(model, forward, 1)


def _devices() -> pd.DataFrame:
    d = dt.date
    rows = [
        ("old gpu", "gpu", d(2011, 5, 1), None, 6.0),
        ("cpu", "cpu", d(2012, 1, 1), None, 512.0),
        ("big gpu", "gpu", d(2013, 11, 1), d(2014, 2, 1), 12.0),
        ("unknown", "gpu", d(2013, 1, 1), None, math.nan),
        ("Dual-GPU board", "gpu", d(2014, 6, 1), None, 24.0),
        ("tpu", "tpu", d(2015, 1, 1), None, 64.0),
    ]
    return pd.DataFrame(
        rows, columns=["name", "device_type", "announce_date", "availability_date", "memory_capacity_GiB"]
    )


GIB_IN_GB = 2**30 / 1e9


def test_gpu_memory_by_year_step_line() -> None:
    line = gpu_memory_by_year(_devices(), range(2010, 2016), exclude=())
    assert list(line["year"]) == list(range(2010, 2016))
    assert math.isnan(line["memory_gb"][0]) and pd.isna(line["device"][0])
    # availability (2014) wins over announcement (2013); CPUs, TPUs and unknown memory are ignored;
    # capacities are nominal GiB, reported in GB (1e9 bytes)
    assert list(line["memory_gb"][1:]) == pytest.approx([g * GIB_IN_GB for g in (6, 6, 6, 24, 24)])
    announce = gpu_memory_by_year(_devices(), [2013], date_rule="announce")
    assert list(announce["memory_gb"]) == pytest.approx([12 * GIB_IN_GB]) and list(announce["device"]) == ["big gpu"]
    excluded = gpu_memory_by_year(_devices(), [2015])  # dual-GPU boards excluded by default
    assert list(excluded["memory_gb"]) == pytest.approx([12 * GIB_IN_GB])


def test_bad_input_names_the_parameter() -> None:
    with pytest.raises(ValueError, match="date_rule"):
        gpu_memory_by_year(_devices(), [2015], date_rule="release")
    with pytest.raises(ValueError, match="optimizer"):
        tm.optimizer_state_bytes(nn.Linear(2, 2), "lamb")
    with pytest.raises(ValueError, match="precision"):
        tm.parameter_bytes(nn.Linear(2, 2), "fp8")
    with pytest.raises(ValueError, match="model"):
        paper_models.paper_model_memory("lenet")
    with pytest.raises(ParameterError, match="batch_sizes"):
        fig4_memory.accounting.resolve_settings(["alexnet", "vgg19"], [1], "paper")
    with pytest.raises(ValueError, match="memory_capacity_GiB"):
        gpu_memory_by_year(_devices().drop(columns=["memory_capacity_GiB"]), [2015])


def test_gpt3_config_is_175b() -> None:
    config = builders.gpt3_config()
    model = builders.build_from_config(config, device="meta")
    assert tm.parameter_count(model)[0] == pytest.approx(175e9, rel=0.01)


def test_account_rejects_a_precision_that_does_not_match_the_parameters() -> None:
    import torch

    model = nn.Sequential(nn.Linear(8, 8)).to(torch.bfloat16)
    x = torch.randn(2, 8, dtype=torch.bfloat16)
    with pytest.raises(ValueError, match="precision: 'fp32' expects 4-byte parameters"):
        tm.account(model, lambda m: m(x).float().sum(), optimizer="adam", precision="fp32")
    mixed = tm.account(model, lambda m: m(x).float().sum(), optimizer="adam", precision="mixed")
    assert mixed.parameter_bytes == sum(p.numel() * p.element_size() for p in model.parameters())


def test_a_config_trains_with_its_own_head_and_attention_path() -> None:
    from memwall_lib.engines.memory import from_config
    from memwall_lib.engines.models.configs import resolve_model

    def source(name: str):
        return resolve_model(f"examples/configs/{name}.json").config

    # an encoder trains its masked-LM head; Gemma 2 has no SDPA path and falls back to eager
    bert = from_config.config_training(source("bert-base-uncased"), tokens=16)
    gemma = from_config.config_training(source("gemma-2-2b-it"), tokens=16)
    assert (bert.head, bert.attn_implementation) == ("masked_lm", "sdpa")
    assert (gemma.head, gemma.attn_implementation) == ("causal_lm", "eager")
    # saved activations grow with the batch and the tokens; mixed precision halves the parameters
    pythia = source("pythia-160m")
    one, _ = from_config.config_model_memory(pythia, batch_size=1, tokens=64)
    two, _ = from_config.config_model_memory(pythia, batch_size=2, tokens=64)
    half, _ = from_config.config_model_memory(pythia, batch_size=1, tokens=64, precision="mixed")
    assert one.parameters == 162_322_944 and two.activation_bytes == pytest.approx(2 * one.activation_bytes, rel=0.01)
    assert half.parameter_bytes * 2 == one.parameter_bytes and half.activation_bytes < one.activation_bytes
    with pytest.raises(ValueError, match="tokens: 4096 tokens exceed the 2048 positions model_type 'gpt_neox'"):
        from_config.config_training(pythia, tokens=4096)
