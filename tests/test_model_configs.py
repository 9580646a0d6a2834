"""A model given by the user (:mod:`memwall_lib.engines.models.configs`): every example config
of ``examples/configs`` resolves, gets its label, builds on the meta device with the parameter
count its model card states; presets still resolve; the KV-cache layout matches what
transformers' own ``DynamicCache`` holds; and every kind of bad input gets one line naming the
item or file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from memwall_lib.core.paths import REPO_ROOT
from memwall_lib.engines.memory.text_claims import kv_cache_values
from memwall_lib.engines.models.configs import (
    PRESET_NAMES,
    ModelConfigError,
    ModelSource,
    build_on_meta,
    kv_cache_layout,
    model_kind,
    resolve_model,
    resolve_models,
)

EXAMPLES = REPO_ROOT / "examples" / "configs"

#: file stem -> (label, kind, parameters of the model build_on_meta gives). Sources of the counts:
#: Llama 3.1 8B: 8.03B (model card); Mistral 7B: 7.24B (Jiang et al. 2023, arXiv:2310.06825);
#: Qwen2.5-7B: 7.61B (model card); Gemma 2 2B: 2.61B (Gemma Team 2024, arXiv:2408.00118, Table 2:
#: 590M embedding + 2.02B non-embedding, tied); Phi-3-mini: 3.8B (arXiv:2404.14219); Mixtral:
#: 46.7B (arXiv:2401.04088); Pythia-160M: 162,322,944 (model card's table, 85,056,000 of them
#: non-embedding); OPT-125m: 125M (arXiv:2205.01068); Falcon-7B: 6.92B (arXiv:2311.16867);
#: BERT-Base: 110M (Devlin et al. 2019; BertModel with its pooler); RoBERTa-base: 125M.
EXPECTED: dict[str, tuple[str, str, int]] = {
    "llama-3.1-8b": ("llama-3.1-8b", "decoder", 8_030_261_248),
    "mistral-7b": ("mistral-7b", "decoder", 7_241_732_096),
    "qwen2.5-7b": ("qwen2.5-7b", "decoder", 7_615_616_512),
    "gemma-2-2b-it": ("gemma-2-2b-it", "decoder", 2_614_341_888),
    "phi-3-mini-4k": ("Phi-3-mini-4k-instruct", "decoder", 3_821_079_552),
    "mixtral-8x7b": ("mixtral-8x7b", "decoder", 46_702_792_704),
    "pythia-160m": ("pythia-160m", "decoder", 162_322_944),
    "opt-125m": ("opt-125m", "decoder", 125_239_296),
    "falcon-7b-instruct": ("falcon-7b-instruct", "decoder", 6_921_720_704),
    "bert-base-uncased": ("bert-base-uncased", "encoder", 109_482_240),
    "roberta-base": ("roberta-base", "encoder", 124_645_632),
}
#: Architectures without an SDPA path in transformers.
EAGER_ONLY = {"gemma2"}


def _numel(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def _attn(source: ModelSource) -> str:
    return "eager" if source.config.model_type in EAGER_ONLY else "sdpa"


def test_every_example_is_listed_in_the_readme_with_its_source() -> None:
    files = sorted(p.stem for p in EXAMPLES.glob("*.json"))
    assert files == sorted(EXPECTED)
    readme = (EXAMPLES / "README.md").read_text()
    for stem in files:
        assert f"`{stem}.json`" in readme, stem
    assert readme.count("https://huggingface.co/") >= len(files)


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_example_resolves_builds_and_counts(stem: str) -> None:
    label, kind, params = EXPECTED[stem]
    source = resolve_model(f"examples/configs/{stem}.json")  # relative to the repository root
    assert (source.label, source.preset, source.path) == (label, None, EXAMPLES / f"{stem}.json")
    assert model_kind(source.config) == kind
    model = build_on_meta(source.config, attn_implementation=_attn(source))
    assert _numel(model) == params
    assert all(p.device.type == "meta" for p in model.parameters())
    assert not model.training


def test_dense_llama_matches_the_hand_formula() -> None:
    # Llama 3.1 8B: per layer q and o (d x h*hd each), k and v (d x kv*hd each), SwiGLU (3 d f),
    # two RMSNorms (2 d); untied embedding and head (2 V d); final norm (d)
    d, layers, h, kv, hd, f, vocab = 4096, 32, 32, 8, 128, 14336, 128256
    layer = 2 * d * h * hd + 2 * d * kv * hd + 3 * d * f + 2 * d
    expected = layers * layer + 2 * vocab * d + d
    source = resolve_model(EXAMPLES / "llama-3.1-8b.json")
    assert _numel(build_on_meta(source.config)) == expected == 8_030_261_248
    # Qwen2.5-7B: the same with biases on q, k and v
    d, layers, h, kv, hd, f, vocab = 3584, 28, 28, 4, 128, 18944, 152064
    layer = 2 * d * h * hd + 2 * d * kv * hd + 3 * d * f + 2 * d + (h * hd + 2 * kv * hd)
    qwen = build_on_meta(resolve_model(EXAMPLES / "qwen2.5-7b.json").config)
    assert _numel(qwen) == layers * layer + 2 * vocab * d + d


def test_pythia_non_embedding_parameters_match_the_model_card() -> None:
    model = build_on_meta(resolve_model(EXAMPLES / "pythia-160m.json").config)
    embedding = model.get_input_embeddings().weight.numel() + model.get_output_embeddings().weight.numel()
    assert _numel(model) - embedding == 85_056_000


def test_a_folder_with_config_json_takes_the_folder_name(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    shutil.copy(EXAMPLES / "mistral-7b.json", folder / "config.json")
    by_folder = resolve_model(folder)
    by_file = resolve_model(folder / "config.json")
    assert by_folder.label == by_file.label == "my-model"
    assert by_folder.path == folder / "config.json"
    # relative to another root
    assert resolve_model("my-model", root=tmp_path).label == "my-model"


def test_label_from_name_or_path_uses_its_last_part(tmp_path: Path) -> None:
    raw = json.loads((EXAMPLES / "mistral-7b.json").read_text())
    for name, label in (("org/My-Model", "My-Model"), ("./", "x"), ("", "x"), ("/home/me/ckpt/", "ckpt")):
        (tmp_path / "x.json").write_text(json.dumps({**raw, "_name_or_path": name}))
        assert resolve_model(tmp_path / "x.json").label == label, name


def test_heads_attention_and_dtype_are_explicit() -> None:
    bert = resolve_model(EXAMPLES / "bert-base-uncased.json").config
    mlm = build_on_meta(bert, head="masked_lm")
    assert type(mlm).__name__ == "BertForMaskedLM" and _numel(mlm) == 109_514_298  # tied decoder
    llama = resolve_model(EXAMPLES / "llama-3.1-8b.json").config
    assert type(build_on_meta(llama, head="base")).__name__ == "LlamaModel"
    before = llama.to_dict()
    for impl in ("eager", "sdpa"):
        assert build_on_meta(llama, attn_implementation=impl).config._attn_implementation == impl
    import torch

    assert build_on_meta(llama).dtype == torch.bfloat16  # the published torch_dtype
    assert build_on_meta(llama, dtype="float32").dtype == torch.float32
    assert llama.to_dict() == before  # the source config is left as it was


def test_presets_still_resolve() -> None:
    for name in PRESET_NAMES:
        source = resolve_model(name)
        assert (source.label, source.preset, source.path) == (name, name, None)
    assert _numel(build_on_meta(resolve_model("gpt2").config)) == 124_439_808
    assert _numel(build_on_meta(resolve_model("llama2-7b").config)) == 6_738_415_616
    assert model_kind(resolve_model("bert-large").config) == "encoder"
    mixed = resolve_models(["llama3-70b", "examples/configs/qwen2.5-7b.json"])
    assert [s.label for s in mixed] == ["llama3-70b", "qwen2.5-7b"]


# --------------------------------------------------------------------------- KV cache
TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=4,
    num_attention_heads=4,
    vocab_size=128,
    pad_token_id=0,
    bos_token_id=0,
    eos_token_id=0,
)
#: Example configs shrunk to a few layers, with what each exercises in the cache.
SHRUNK = {
    "mistral-7b": dict(sliding_window=8, num_key_value_heads=2),  # every layer slides
    "gemma-2-2b-it": dict(sliding_window=8, num_key_value_heads=2, head_dim=32),  # every other one
    "phi-3-mini-4k": dict(sliding_window=7, num_key_value_heads=4),  # multi-head, window 7
    "qwen2.5-7b": dict(num_key_value_heads=2, use_sliding_window=True, sliding_window=8, max_window_layers=2),
    "llama-3.1-8b": dict(num_key_value_heads=1),  # GQA down to one KV head
    "falcon-7b-instruct": dict(num_kv_heads=4),  # multi_query: one KV head whatever num_kv_heads says
    "opt-125m": dict(ffn_dim=128, word_embed_proj_dim=64),
}


@pytest.mark.parametrize("stem", sorted(SHRUNK))
def test_kv_cache_layout_is_what_dynamic_cache_holds(stem: str, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, DynamicCache

    raw = {**json.loads((EXAMPLES / f"{stem}.json").read_text()), **TINY, **SHRUNK[stem]}
    (tmp_path / "c.json").write_text(json.dumps(raw))
    config = resolve_model(tmp_path / "c.json").config
    layout = kv_cache_layout(config)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", dtype=torch.float32).eval()
    cache = DynamicCache(config=config)
    batch, seen = 2, 0
    for step in (5, 10, 1):  # a prefill, a second chunk past the window, a decode step
        with torch.no_grad():
            model(torch.zeros(batch, step, dtype=torch.long), cache=cache, use_cache=True)
        seen += step
        held = sum(layer.keys.numel() + layer.values.numel() for layer in cache.layers)
        assert held == kv_cache_values(layout.layers, seen, layout.kv_width, batch, layout.windows), seen


def test_kv_cache_layouts_of_the_examples() -> None:
    def layout(stem: str) -> tuple[int, int, set[int | None], int]:
        lay = kv_cache_layout(resolve_model(EXAMPLES / f"{stem}.json").config)
        return lay.n_kv_heads, lay.head_dim, set(lay.windows), lay.layers

    assert layout("llama-3.1-8b") == (8, 128, {None}, 32)
    assert layout("mistral-7b") == (8, 128, {4096}, 32)
    assert layout("qwen2.5-7b") == (4, 128, {None}, 28)  # use_sliding_window false
    assert layout("phi-3-mini-4k") == (32, 96, {2047}, 32)
    assert layout("falcon-7b-instruct") == (1, 64, {None}, 32)
    gemma = kv_cache_layout(resolve_model(EXAMPLES / "gemma-2-2b-it.json").config)
    assert gemma.windows[:4] == (4096, None, 4096, None) and gemma.head_dim == 256
    seventy = kv_cache_layout(resolve_model("llama3-70b").config)
    assert seventy.kv_width == 8 * 128  # GQA: 8 of 64 heads keep keys and values
    with pytest.raises(ModelConfigError, match="MLA"):
        kv_cache_layout(resolve_model("deepseek-v3").config)


# --------------------------------------------------------------------------- bad input
def _one_line(exc: pytest.ExceptionInfo[ModelConfigError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and isinstance(exc.value, ValueError)
    return text


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _llama(tmp_path: Path, **changes: Any) -> Path:
    raw = {**json.loads((EXAMPLES / "llama-3.1-8b.json").read_text()), "num_hidden_layers": 2, **changes}
    return _write(tmp_path / "bad-llama.json", json.dumps(raw))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(tmp_path / "nope.json", what="models[1]")
    assert (
        _one_line(exc).startswith("models[1]:") and "nope.json" in str(exc.value) and "does not exist" in str(exc.value)
    )
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(tmp_path)
    assert "holds no config.json" in _one_line(exc)


def test_an_unknown_preset_suggests_one() -> None:
    with pytest.raises(ModelConfigError) as exc:
        resolve_model("llama3-7b")
    assert "did you mean 'llama3-70b'" in _one_line(exc) and "config.json" in str(exc.value)
    with pytest.raises(ModelConfigError):
        resolve_model("")


def test_json_that_does_not_parse_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "broken.json", '{\n  "model_type": "llama",\n  oops\n}\n')
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(path)
    assert "broken.json: not valid JSON at line 3, column 3" in _one_line(exc)
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(_write(tmp_path / "list.json", "[1, 2]"))
    assert "expected a JSON object" in _one_line(exc)


def test_model_type_missing_or_unknown(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(_write(tmp_path / "none.json", '{"hidden_size": 64}'))
    assert "none.json" in _one_line(exc) and "model_type" in str(exc.value)
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(_write(tmp_path / "typo.json", '{"model_type": "llamma"}'))
    assert "'llamma' is not known to transformers" in _one_line(exc) and "did you mean 'llama'" in str(exc.value)


def test_a_config_transformers_rejects(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError) as exc:
        resolve_model(_llama(tmp_path, num_attention_heads=0))
    assert "bad-llama.json: transformers rejects this llama config" in _one_line(exc)


def test_a_config_that_cannot_be_built_names_the_module(tmp_path: Path) -> None:
    config = resolve_model(_llama(tmp_path, intermediate_size=-5)).config
    with pytest.raises(ModelConfigError) as exc:
        build_on_meta(config)
    text = _one_line(exc)
    assert "LlamaDecoderLayer[0] > LlamaMLP" in text and "negative dimension" in text
    gemma = resolve_model(EXAMPLES / "gemma-2-2b-it.json").config
    with pytest.raises(ModelConfigError) as exc:
        build_on_meta(gemma, attn_implementation="sdpa")
    assert "Gemma2ForCausalLM" in _one_line(exc) and "attn_implementation='eager'" in str(exc.value)


def test_bad_head_and_attention_arguments() -> None:
    config = resolve_model("gpt2").config
    with pytest.raises(ModelConfigError, match="head: expected one of"):
        build_on_meta(config, head="seq2seq")  # type: ignore[arg-type]
    with pytest.raises(ModelConfigError, match="attn_implementation: expected one of"):
        build_on_meta(config, attn_implementation="flash")


def test_duplicate_labels_name_both_items(tmp_path: Path) -> None:
    shutil.copy(EXAMPLES / "qwen2.5-7b.json", tmp_path / "QWEN2.5-7B.json")
    items = ["examples/configs/qwen2.5-7b.json", "gpt2", str(tmp_path / "QWEN2.5-7B.json")]
    with pytest.raises(ModelConfigError) as exc:
        resolve_models(items)
    assert _one_line(exc).startswith("models[2]: label 'QWEN2.5-7B' is already taken by models[0]")
    with pytest.raises(ModelConfigError, match=r"models\[1\]: label 'gpt2'"):
        resolve_models(["gpt2", "gpt2"])
