"""Dropout masks counted as the target device stores them, checked against Korthikanti et al.
2022 ("Reducing Activation Recomputation in Large Transformer Models", arXiv:2205.05198, Sec. 4.1)."""

from __future__ import annotations

import pytest
import torch

from memwall_lib.engines.memory import live as peak
from memwall_lib.engines.memory import saved as storage
from memwall_lib.engines.memory import training as tm
from memwall_lib.engines.models import builders, paper_models


def _bert_layer(s: int, b: int, h: int, a: int) -> tuple[torch.nn.Module, object]:
    """One BERT encoder layer (Hugging Face, eager attention) on meta, train mode, fed an input
    that requires grad (as a layer inside a network is)."""
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertLayer

    cfg = BertConfig(hidden_size=h, num_attention_heads=a, intermediate_size=4 * h, attn_implementation="eager")
    with torch.device("meta"):
        layer = BertLayer(cfg).train()
        x = torch.empty(b, s, h, requires_grad=True)
    return layer, lambda m: m(x)[0].sum()


@pytest.mark.parametrize("s,b,h,a", [(512, 16, 1024, 16), (128, 2, 256, 4)])
def test_bert_layer_matches_korthikanti_with_one_byte_masks(s: int, b: int, h: int, a: int) -> None:
    # Korthikanti et al., Eq. (1), 16-bit activations and 1-byte dropout masks, per layer:
    #   34 sbh + 5 a s^2 b bytes, where 34 = 11 (attention) + 19 (MLP) + 4 (two layer norms):
    #   attention: QKV input 2, Q and K 4, V 2, output-projection input 2 (= 10, 2-byte) + mask 1
    #   MLP: first linear input 2, second linear input 8, GELU input 8 (= 18, 2-byte) + mask 1
    #   layer norms: inputs 2 + 2 (2-byte);  a s^2 b: softmax output 2 + dropout output 2 + mask 1.
    # In fp32 every 2-byte term doubles and masks stay 1 byte:
    #   sbh: (10 + 18 + 4) * 2 + 1 + 1 = 66;  a s^2 b: (2 + 2) * 2 + 1 = 9  ->  66 sbh + 9 a s^2 b.
    # The paper leaves out the layer norms' mean and 1/std (2 sb fp32 values each, "we only
    # include sbh, not sbh + 2sb"); PyTorch saves them: 2 layer norms x 2 x sb x 4 bytes = 16 sb.
    layer, forward = _bert_layer(s, b, h, a)
    cuda = storage.measure_activations(layer, forward, storage.mask_bytes_for("cuda"))
    assert cuda.saved_bytes == 66 * s * b * h + 9 * a * s * s * b + 16 * s * b
    # on the CPU the three masks (attention probabilities, after the output projection, after
    # the MLP) are fp32 tensors: 3 bytes more per mask element
    cpu = storage.measure_activations(layer, forward, storage.mask_bytes_for("cpu"))
    assert cuda.mask_elements == cpu.mask_elements == a * s * s * b + 2 * s * b * h
    assert cpu.saved_bytes - cuda.saved_bytes == 3 * cuda.mask_elements


def test_meta_and_real_agree_under_either_mask_rule() -> None:
    from transformers import GPT2Config

    def build(device: str) -> tuple[torch.nn.Module, object]:
        cfg = GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=100, attn_implementation="eager")
        model = builders.build_from_config(cfg, device=device).train()
        ids = torch.zeros(2, 16, dtype=torch.long, device=device)
        return model, lambda m: m(input_ids=ids, labels=ids).loss

    for rule in (None, 1):
        check = storage.cross_check_meta_vs_real(build, "tiny", rule)
        assert check.equal, check.to_dict()
        assert check.meta.mask_elements > 0


def test_no_dropout_no_masks_and_eval_mode_none() -> None:
    lin = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5))
    x = torch.randn(3, 4)
    assert storage.measure_activations(lin.eval(), lambda m: m(x).sum(), 1).mask_elements == 0
    train = storage.measure_activations(lin.train(), lambda m: m(x).sum(), 1)
    assert train.mask_elements == 12 and train.saved_bytes == 4 * 12 + 12  # linear input fp32 + mask


def test_fused_gelu_saves_less_than_eager_tanh_gelu() -> None:
    # HF's gelu_new computes 0.5 x (1 + tanh(c (x + 0.044715 x^3))) op by op: besides its input
    # it saves tanh's output, 0.5 x and 1 + tanh (3 more 4h-wide tensors per layer); the fused
    # gelu(approximate="tanh") saves only its input.
    eager = paper_models.paper_model_memory("gpt2_xl", input_size=64)
    fused = paper_models.paper_model_memory("gpt2_xl", input_size=64, gelu="fused")
    s, b, h, layers = 64, 1, 1600, 48
    assert eager.activation_bytes - fused.activation_bytes == layers * 3 * 4 * s * b * h * 4


def test_bad_mask_rule_names_the_argument() -> None:
    with pytest.raises(ValueError, match="target"):
        storage.mask_bytes_for("tpu")
    with pytest.raises(ValueError, match="dropout_mask_bytes"):
        storage.measure_activations(torch.nn.Linear(2, 2), lambda m: m(torch.ones(1, 2)).sum(), 0)
    with pytest.raises(ValueError, match="mask_target"):
        paper_models.paper_model_memory("alexnet", batch_size=1, input_size=64, mask_target="tpu")


def test_alexnet_2012_as_published() -> None:
    # Krizhevsky et al. 2012: 96 first-layer filters, grouped conv2/4/5 (two towers), ~61M parameters
    model = builders.build_alexnet_2012("meta")
    convs = [m for m in model if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [96, 256, 384, 384, 256]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]
    assert tm.parameter_count(model)[0] == 60_965_224
    # the fused LRN saves its input and output; the eager one saves more; both compute the same
    x = torch.randn(2, 3, 227, 227)
    torch.manual_seed(0)
    fused = builders.build_alexnet_2012("cpu", lrn="fused").eval()
    eager = builders.build_alexnet_2012("cpu", lrn="eager").eval()
    eager.load_state_dict(fused.state_dict())
    assert torch.allclose(fused(x), eager(x))
    xg = x.clone().requires_grad_(True)
    fused(xg).sum().backward()
    g_fused, xg.grad = xg.grad, None
    eager(xg).sum().backward()
    assert torch.allclose(g_fused, xg.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("gelu,extra_sbh", [("gelu_pytorch_tanh", 0), ("gelu_new", 48)])
def test_gpt2_layer_against_korthikanti(gelu: str, extra_sbh: int) -> None:
    # A GPT-2 block (pre-norm) holds the same tensors as the BERT layer: with a fused GELU it
    # matches 66 sbh + 9 a s^2 b (+ 16 sb of layer-norm statistics) exactly. Hugging Face's eager
    # gelu_new saves tanh's output, 0.5 x and 1 + tanh besides its input: 3 x 4h fp32 = 48 sbh more.
    from transformers import GPT2Config
    from transformers.models.gpt2.modeling_gpt2 import GPT2Block

    s, b, h, a = 128, 2, 256, 4
    cfg = GPT2Config(
        n_embd=h, n_head=a, n_layer=1, n_positions=s, activation_function=gelu, attn_implementation="eager"
    )
    with torch.device("meta"):
        block = GPT2Block(cfg).train()
        x = torch.empty(b, s, h, requires_grad=True)
    count = storage.measure_activations(block, lambda m: m(x)[0].sum(), 1)
    assert count.saved_bytes == (66 + extra_sbh) * s * b * h + 9 * a * s * s * b + 16 * s * b


# --------------------------------------------------------------------------- Transformer big, peak
def _small_seq2seq(**kw: object) -> tuple[torch.nn.Module, object]:
    """A 1+1-layer Transformer (d 32, 4 heads, FFN 64, 50 tokens) on meta, 2 x 16 tokens."""
    model = builders.build_transformer_big(
        "meta", vocab_size=50, d_model=32, nhead=4, dim_feedforward=64, num_layers=1, max_positions=16, **kw
    )
    ids = torch.zeros(2, 16, dtype=torch.long, device="meta")
    f = torch.nn.functional
    return model, lambda m: f.cross_entropy(m(ids, ids).flatten(0, 1), ids.flatten())


def test_transformer_dropout_options_remove_exactly_their_masks() -> None:
    b, n, heads, ff = 2, 16, 4, 64
    full = storage.measure_activations(*_small_seq2seq(), 1)
    no_attn = storage.measure_activations(*_small_seq2seq(attention_dropout=0.0), 1)
    no_relu = storage.measure_activations(*_small_seq2seq(activation_dropout=0.0), 1)
    # three attentions (encoder self, decoder self, decoder cross), each a b x heads x n x n mask
    assert full.mask_elements - no_attn.mask_elements == 3 * b * heads * n * n
    # two FFNs (encoder, decoder), each a b x n x ff mask after the ReLU
    assert full.mask_elements - no_relu.mask_elements == 2 * b * n * ff
    with pytest.raises(ValueError, match="attention_dropout"):
        builders.build_transformer_big("meta", attention_dropout=1.5)
    with pytest.raises(ValueError, match="attention"):
        builders.build_transformer_big("meta", attention="flash")


def test_eager_attention_keeps_16_bit_attention_where_sdpa_math_upcasts() -> None:
    # op by op, a bf16 model saves its b x heads x n x n attention weights in bf16; on meta and
    # CPU, the math path of scaled-dot-product attention computes bf16 attention in fp32
    b, n, heads = 2, 16, 4
    eager_model, eager_fwd = _small_seq2seq(attention="eager")
    sdpa_model, sdpa_fwd = _small_seq2seq()
    assert tm.parameter_count(eager_model) == tm.parameter_count(sdpa_model)
    eager = storage.measure_activations(eager_model.to(torch.bfloat16), eager_fwd, 1)
    sdpa = storage.measure_activations(sdpa_model.to(torch.bfloat16), sdpa_fwd, 1)
    assert sdpa.saved_bytes - eager.saved_bytes >= 3 * 2 * (2 * b * heads * n * n)  # softmax + dropped, 2 B more


def test_label_smoothing_and_pre_norm_save_the_same_bytes() -> None:
    # label-smoothed cross-entropy keeps the same vocabulary-sized log-probabilities (and a few
    # scalars: less than one vocabulary row of 50 fp32 values more)
    model, fwd = _small_seq2seq()
    ids = torch.zeros(2, 16, dtype=torch.long, device="meta")
    f = torch.nn.functional
    smooth = storage.measure_activations(
        model, lambda m: f.cross_entropy(m(ids, ids).flatten(0, 1), ids.flatten(), label_smoothing=0.1), 1
    )
    plain = storage.measure_activations(model, fwd, 1)
    assert 0 <= smooth.saved_bytes - plain.saved_bytes < 50 * 4
    assert storage.measure_activations(*_small_seq2seq(norm_first=True), 1).saved_bytes == plain.saved_bytes


def test_peak_of_a_linear_layer_by_hand() -> None:
    # y = x W^T (2 x 1000), loss = sum(y): y dies when the forward returns; the backward makes
    # dW (1000 x 3, 12000 bytes), the peak; x and W were made before the step (not counted)
    lin = torch.nn.Linear(3, 1000, bias=False, device="meta")
    x = torch.empty(2, 3, device="meta")
    p = peak.measure_peak(lin, lambda m: m(x).sum())
    assert p.forward_bytes == 4  # the loss
    assert p.gradient_bytes == 12000 and lin.weight.grad is None
    assert p.peak_phase == "backward" and 12000 <= p.peak_bytes <= 12000 + 64


def test_peak_starts_from_the_saved_set_and_follows_the_mask_rule() -> None:
    model, fwd = _small_seq2seq()
    saved = storage.measure_activations(model, fwd, 1)
    one, four = peak.measure_peak(model, fwd, 1), peak.measure_peak(model, fwd, None)
    assert one.forward_bytes == saved.saved_bytes + 4  # + the loss
    assert one.peak_bytes >= one.forward_bytes
    assert four.forward_bytes - one.forward_bytes == 3 * saved.mask_elements  # 4-byte masks, not 1
    r = paper_models.paper_model_memory("transformer_big", variant="separate_embeddings_32k", peak=True)
    assert r.peak is not None and r.peak.forward_bytes == r.activation_bytes + 4
    # the peak: the saved set plus the gradients of the log-probabilities and logits (b n V fp32 each)
    assert r.peak.peak_bytes - r.peak.forward_bytes >= 2 * 6 * 512 * 32000 * 4
    with pytest.raises(TypeError, match="peak"):
        paper_models.paper_model_memory("alexnet", batch_size=1, input_size=64, peak=1)  # type: ignore[arg-type]
