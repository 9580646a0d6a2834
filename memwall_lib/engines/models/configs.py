"""A model given by the user: a preset name or a Hugging Face ``config.json``, resolved to a
``transformers`` config and built on the meta device (shapes only: no weights, no download).

- :func:`resolve_model` turns one item (a preset name of
  :data:`memwall_lib.engines.counts.presets.PRESETS` or of
  :func:`memwall_lib.engines.models.builders.transformer_config`, or a path to a ``config.json``
  or to the folder holding one) into a :class:`ModelSource`; :func:`resolve_models` does a list
  and refuses two items with one label.
- :func:`build_on_meta` builds the model from the config with ``from_config`` inside
  ``torch.device("meta")``; :func:`model_kind` says whether it is a decoder or an encoder.
- :func:`kv_cache_layout` reads the key/value-cache shape off a config (KV heads, head
  dimension, which layers slide and by how much), the way ``transformers.DynamicCache`` lays it
  out; :func:`memwall_lib.engines.memory.text_claims.kv_cache_values` turns it into values.

Nothing here touches the network: files are read with :mod:`json` and the config class is
looked up by ``model_type`` in transformers' ``CONFIG_MAPPING`` (what ``AutoConfig`` does), so
no ``local_files_only`` switch is needed. Bad input raises :class:`ModelConfigError` with one
line naming the item or file and what was expected. transformers and torch are imported
inside the functions.

Units: parameters are element counts.
"""

from __future__ import annotations

import copy
import difflib
import json
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from ...core.paths import REPO_ROOT
from ..counts.presets import PRESETS, preset_config
from .builders import BERT_SIZES, GPT2_SIZES, transformer_config

#: Names :func:`resolve_model` takes as presets: the LLM presets and the BERT/GPT-2 sizes.
PRESET_NAMES: tuple[str, ...] = tuple(dict.fromkeys([*PRESETS, *BERT_SIZES, *GPT2_SIZES]))
#: Heads :func:`build_on_meta` can put on a model ("auto": see :func:`build_on_meta`).
HEADS: tuple[str, ...] = ("auto", "causal_lm", "masked_lm", "base")
#: Attention paths :func:`build_on_meta` can select.
ATTN_IMPLEMENTATIONS: tuple[str, ...] = ("sdpa", "eager")
Head = Literal["auto", "causal_lm", "masked_lm", "base"]


class ModelConfigError(ValueError):
    """A model item that cannot be resolved or built; the message is one line naming the item
    or file and what was expected."""


@dataclass(frozen=True)
class ModelSource:
    """One resolved model: its ``label`` (for plots and tables), its ``transformers`` config,
    the ``config.json`` it was read from (None for a preset) and the preset name (None for a
    file)."""

    label: str
    config: Any
    path: Path | None = None
    preset: str | None = None


def resolve_model(item: str | Path, root: Path = REPO_ROOT, what: str = "model") -> ModelSource:
    """The :class:`ModelSource` of a preset name (:data:`PRESET_NAMES`) or of a path to a
    Hugging Face ``config.json`` (absolute, or relative to ``root``, the repository root; a
    folder holding ``config.json`` also works). A file's label is the last part of its
    ``_name_or_path`` when it has one, else the file name without ``.json`` (``config.json`` in
    a folder: the folder's name); a preset's label is its name. ``what`` names the item in
    error messages (e.g. ``"models[2]"``)."""
    if isinstance(item, str) and item in PRESET_NAMES:
        config = preset_config(item) if item in PRESETS else transformer_config(item)
        return ModelSource(label=item, config=config, preset=item)
    if not isinstance(item, (str, Path)) or str(item).strip() == "":
        raise ModelConfigError(f"{what}: expected a preset name or a path to a config.json, got {item!r}")
    path = _config_path(item, root, what)
    raw = _read_json(path, what)
    config = _config_from_dict(raw, path, what)
    return ModelSource(label=_label(raw, path), config=config, path=path)


def resolve_models(items: Sequence[str | Path], root: Path = REPO_ROOT, what: str = "models") -> list[ModelSource]:
    """:func:`resolve_model` of every item (named ``what[i]`` in errors); two items with one
    label (case-insensitive) are refused, since tables and plots are keyed by label."""
    sources = [resolve_model(item, root, f"{what}[{i}]") for i, item in enumerate(items)]
    seen: dict[str, int] = {}
    for i, s in enumerate(sources):
        key = s.label.casefold()
        if key in seen:
            raise ModelConfigError(
                f"{what}[{i}]: label {s.label!r} is already taken by {what}[{seen[key]}]; "
                "rename one file (the label is its _name_or_path or file name)"
            )
        seen[key] = i
    return sources


def _config_path(item: str | Path, root: Path, what: str) -> Path:
    """The ``config.json`` that ``item`` names, or one line saying why there is none."""
    given = Path(item).expanduser()
    path = given if given.is_absolute() else Path(root) / given
    looks_like_path = given.suffix == ".json" or len(given.parts) > 1 or path.exists()
    if not looks_like_path:
        close = difflib.get_close_matches(str(item), PRESET_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelConfigError(
            f"{what}: {str(item)!r} is not a preset{hint} and not a path to a config.json; "
            f"presets: {', '.join(PRESET_NAMES)}"
        )
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelConfigError(f"{what}: folder {str(path)!r} holds no config.json")
        return path / "config.json"
    if not path.is_file():
        raise ModelConfigError(f"{what}: config file {str(path)!r} does not exist")
    return path


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; a parse error names the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelConfigError(f"{what}: {path}: cannot be read as UTF-8 text ({exc})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelConfigError(
            f"{what}: {path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(raw, dict):
        raise ModelConfigError(
            f"{what}: {path}: expected a JSON object (a Hugging Face config), got a {type(raw).__name__}"
        )
    return raw


def _config_from_dict(raw: dict[str, Any], path: Path, what: str) -> Any:
    """The ``transformers`` config class of ``raw["model_type"]`` built from ``raw`` (what
    ``AutoConfig.from_pretrained`` does with a local file), or one line saying why not."""
    import transformers
    from transformers import CONFIG_MAPPING

    model_type = raw.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ModelConfigError(f'{what}: {path}: has no "model_type" (e.g. "llama"); transformers needs it')
    if model_type not in CONFIG_MAPPING:
        close = difflib.get_close_matches(model_type, list(CONFIG_MAPPING.keys()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelConfigError(
            f"{what}: {path}: model_type {model_type!r} is not known to transformers {transformers.__version__}{hint}"
        )
    try:
        return CONFIG_MAPPING[model_type].from_dict(dict(raw))
    except Exception as exc:  # transformers validates fields in the config class
        raise ModelConfigError(
            f"{what}: {path}: transformers rejects this {model_type} config: {_first_line(exc)}"
        ) from None


def _label(raw: dict[str, Any], path: Path) -> str:
    name = raw.get("_name_or_path")
    if isinstance(name, str) and Path(name.rstrip("/")).name not in ("", ".", ".."):
        return Path(name.rstrip("/")).name
    return path.parent.name if path.name == "config.json" else path.stem


def _first_line(exc: BaseException) -> str:
    """``Type: message`` of ``exc``, cut to its first line and first sentence."""
    lines = str(exc).strip().splitlines()
    first = lines[0].split(". ")[0].rstrip(".") if lines else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# --------------------------------------------------------------------------- building
def model_kind(config: Any) -> Literal["decoder", "encoder"]:
    """Whether ``config`` describes a decoder (causal LM) or an encoder, in this order:
    ``is_decoder=True``; the class names in ``architectures`` (``...ForCausalLM`` /
    ``...LMHeadModel``: decoder; ``...ForMaskedLM`` / ``...ForPreTraining``: encoder); whether
    transformers has a masked-LM class for the model type (encoder: BERT, RoBERTa) or only a
    causal-LM one (decoder). Encoder-decoder models are refused."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
    )

    if getattr(config, "is_encoder_decoder", False):
        raise ModelConfigError(f"model_type {config.model_type!r}: encoder-decoder models are not supported")
    if getattr(config, "is_decoder", False):
        return "decoder"
    for arch in getattr(config, "architectures", None) or ():
        if arch.endswith(("ForCausalLM", "LMHeadModel")):
            return "decoder"
        if arch.endswith(("ForMaskedLM", "ForPreTraining")):
            return "encoder"
    if config.model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        return "encoder"
    if config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "decoder"
    raise ModelConfigError(
        f"model_type {config.model_type!r}: transformers has neither a causal- nor a masked-LM class"
    )


def _auto_class(config: Any, head: str) -> Any:
    import transformers

    if head not in HEADS:
        raise ModelConfigError(f"head: expected one of {list(HEADS)}, got {head!r}")
    if head == "auto":
        head = "causal_lm" if model_kind(config) == "decoder" else "base"
    names = {"causal_lm": "AutoModelForCausalLM", "masked_lm": "AutoModelForMaskedLM", "base": "AutoModel"}
    return getattr(transformers, names[head])


def build_on_meta(config: Any, head: Head = "auto", attn_implementation: str = "sdpa", dtype: Any = None) -> Any:
    """The ``transformers`` model of ``config`` on the meta device (shapes, no memory, no
    weights), in eval mode.

    ``head``: ``"auto"`` puts a causal-LM head on a decoder (``AutoModelForCausalLM``: the
    model generation runs) and none on an encoder (``AutoModel``: BERT's encoder with its
    pooler, the survey's convention); ``"causal_lm"``, ``"masked_lm"`` or ``"base"`` force one
    (decoder or encoder as :func:`model_kind` decides). ``attn_implementation``: ``"sdpa"``
    (PyTorch's scaled-dot-product attention) or ``"eager"`` (op by op), set explicitly; an
    architecture that lacks one (Gemma 2 has no SDPA path) is refused naming it. ``dtype``:
    a ``torch.dtype`` or its name; None keeps the config's (``torch_dtype`` of the published
    file: the dtype of its weights; float32 if absent). ``config`` itself is not modified.

    Speed: transformers skips weight initialisation on the meta device and torch's
    ``nn.init`` calls on meta tensors cost microseconds, so a 70B Llama builds in about 0.1 s
    once its modeling code is imported (``benchmarks/build_on_meta.py``). A module whose
    constructor fails is named (the chain of modules being built, with the layer index).
    """
    import torch

    if attn_implementation not in ATTN_IMPLEMENTATIONS:
        raise ModelConfigError(
            f"attn_implementation: expected one of {list(ATTN_IMPLEMENTATIONS)}, got {attn_implementation!r}"
        )
    auto = _auto_class(config, head)
    config = copy.deepcopy(config)
    kwargs: dict[str, Any] = {"attn_implementation": attn_implementation}
    if dtype is not None:
        kwargs["dtype"] = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    try:
        with torch.device("meta"):
            model = auto.from_config(config, **kwargs)
    except Exception as exc:
        where = " > ".join(_modules_under_construction(exc.__traceback__)) or config.model_type
        hint = "; try attn_implementation='eager'" if "attention implementation" in str(exc) else ""
        raise ModelConfigError(
            f"cannot build model_type {config.model_type!r} ({auto.__name__}, attn_implementation="
            f"{attn_implementation!r}) on the meta device: while constructing {where}: {_first_line(exc)}{hint}"
        ) from None
    return model.eval()


def _modules_under_construction(tb: TracebackType | None) -> list[str]:
    """The ``nn.Module`` constructors active in traceback ``tb``, outermost first, as class
    names (with ``[layer_idx]`` where the constructor had one): the module that failed is last."""
    import torch

    chain: list[str] = []
    seen: set[int] = set()
    for frame, _ in traceback.walk_tb(tb):
        obj = frame.f_locals.get("self") if frame.f_code.co_name == "__init__" else None
        if isinstance(obj, torch.nn.Module) and id(obj) not in seen:
            seen.add(id(obj))
            idx = frame.f_locals.get("layer_idx")
            chain.append(type(obj).__name__ + (f"[{idx}]" if isinstance(idx, int) else ""))
    return chain


# --------------------------------------------------------------------------- KV cache
@dataclass(frozen=True)
class KVCacheLayout:
    """The key/value cache of a decoder: per caching layer, keys and values of ``n_kv_heads``
    heads of ``head_dim`` elements for every token it keeps; ``windows[i]`` is None for a
    full-attention layer, else its sliding window (the layer keeps the last ``window - 1``
    tokens: transformers' ``DynamicSlidingWindowLayer``)."""

    n_kv_heads: int
    head_dim: int
    windows: tuple[int | None, ...]

    @property
    def layers(self) -> int:
        return len(self.windows)

    @property
    def kv_width(self) -> int:
        """Elements of the keys (or of the values) of one token in one layer."""
        return self.n_kv_heads * self.head_dim


def kv_cache_layout(config: Any) -> KVCacheLayout:
    """The :class:`KVCacheLayout` of a decoder's config: KV heads from ``num_key_value_heads``
    (GQA; Falcon: one head when ``multi_query``, ``num_kv_heads`` with its new decoder
    architecture), else one per attention head; ``head_dim`` from the config, else hidden /
    heads; which layers slide, and by how much, from transformers' own
    ``cache_utils.get_layer_types_and_kwargs`` (what ``DynamicCache(config=...)`` builds:
    Mistral and Phi-3 slide on every layer, Gemma 2 on every other one). MLA (DeepSeek's
    ``kv_lora_rank``) and non-attention layers are refused."""
    from transformers.cache_utils import get_layer_types_and_kwargs

    text = config.get_text_config(decoder=True)
    if getattr(text, "kv_lora_rank", None):
        raise ModelConfigError(f"model_type {text.model_type!r}: the KV cache of MLA is not modelled here")
    heads, hidden = int(text.num_attention_heads), int(text.hidden_size)
    kv_heads = int(getattr(text, "num_key_value_heads", None) or heads)
    if text.model_type == "falcon":
        kv_heads = int(text.num_kv_heads) if text.new_decoder_architecture else (1 if text.multi_query else heads)
    head_dim = int(getattr(text, "head_dim", None) or hidden // heads)
    windows: list[int | None] = []
    for kind, kwargs in zip(*get_layer_types_and_kwargs(text)):
        if kind == "full_attention":
            windows.append(None)
        elif kind in ("sliding_attention", "chunked_attention"):
            windows.append(int(kwargs["sliding_window"]))
        elif kind != "dummy":  # "dummy": a layer that keeps no cache
            raise ModelConfigError(f"model_type {text.model_type!r}: cache layer type {kind!r} is not modelled")
    return KVCacheLayout(n_kv_heads=kv_heads, head_dim=head_dim, windows=tuple(windows))
