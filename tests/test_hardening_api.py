"""Library entry points reject bad arguments with a TypeError or ValueError naming the
argument (issue 11), never a foreign traceback or a silent default."""

from __future__ import annotations

import datetime as dt

import pytest
import torch
from transformers import BertConfig, GPT2Config

from memwall_lib import tables
from memwall_lib.core import trends
from memwall_lib.core.checks import check_int
from memwall_lib.engines import remat
from memwall_lib.engines.memory import training as training_memory
from memwall_lib.engines.models import paper_models

TINY_GPT2 = dict(n_embd=32, n_layer=2, n_head=2, n_positions=64, vocab_size=100)


def _tiny() -> tuple[torch.nn.Module, object]:
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    x = torch.zeros(3, 4)
    return model, lambda m: m(x).sum()


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: training_memory.account(None, lambda m: 0), TypeError, "model: expected a torch.nn.Module"),
        (lambda: training_memory.account(_tiny()[0], None), TypeError, "forward: expected a callable"),
        (lambda: training_memory.account(*_tiny(), batch_size=-1), ValueError, "batch_size: expected an integer >= 0"),
        (lambda: training_memory.parameter_count(None), TypeError, "model: expected a torch.nn.Module"),
        (lambda: paper_models.gpt_memory(None), TypeError, "config: expected a transformers.GPT2Config"),
        (
            lambda: paper_models.gpt_memory(BertConfig()),
            TypeError,
            r"config: .*got BertConfig \(model_type 'bert'\)",
        ),
        (
            lambda: paper_models.gpt_memory(GPT2Config(), tokens=4096),
            ValueError,
            "tokens: expected an integer <= 1024",
        ),
        (
            lambda: paper_models.gpt_memory(GPT2Config(**TINY_GPT2), tokens=0),
            ValueError,
            "tokens: expected an integer >= 1",
        ),
        (lambda: paper_models.gpt_memory(GPT2Config(**TINY_GPT2), batch_size=-2), ValueError, "batch_size"),
        (lambda: paper_models.gpt_memory(GPT2Config(**TINY_GPT2), batch_size=1.5), TypeError, "batch_size"),
        (
            lambda: paper_models.paper_model_memory("alexnet", batch_size=0),
            ValueError,
            "batch_size: expected an integer >= 1",
        ),
        (lambda: paper_models.paper_model_memory("alexnet", batch_size=-3), ValueError, "batch_size"),
        (lambda: paper_models.paper_model_memory("alexnet", input_size=0), ValueError, "input_size"),
        (lambda: trends.bootstrap_growth([2000, 2001, 2002], [1, 2, 4], n_resamples=0), ValueError, "n_resamples"),
        (lambda: trends.bootstrap_growth([2000, 2001, 2002], [1, 2, 4], n_resamples=2.5), TypeError, "n_resamples"),
        (lambda: trends.bootstrap_growth([2000, 2001, 2002], [1, 2, 4], horizon_years=0), ValueError, "horizon_years"),
        (lambda: trends.fractional_year("2019-13-45"), ValueError, "dates: expected a date .* got '2019-13-45'"),
        (lambda: trends.fractional_year([None]), ValueError, "dates: expected a date"),
        (lambda: tables.load_models(None), TypeError, "data_dir: expected a folder"),
        (lambda: remat.gpt2_chain(layers=0), ValueError, "layers: expected an integer >= 1"),
        (lambda: remat.gpt2_chain(hidden=30, heads=4), ValueError, "heads: expected a divisor of hidden"),
        (lambda: remat.gpt2_chain(batch_size=-1), ValueError, "batch_size"),
        (lambda: remat.resnet_chain(batch_size=0), ValueError, "batch_size"),
    ],
)
def test_bad_arguments_are_named(call, exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        call()


def test_fractional_year_still_takes_dates_and_strings() -> None:
    assert trends.fractional_year("2020-01-01")[0] == 2020.0
    assert trends.fractional_year([dt.date(2021, 1, 1)])[0] == 2021.0


def test_check_int_accepts_numpy_integers() -> None:
    import numpy as np

    assert check_int("n", np.int64(3)) == 3
    with pytest.raises(TypeError, match="n: expected an integer, got True"):
        check_int("n", True)


def test_gpt_memory_accepts_tokens_up_to_n_positions() -> None:
    tm = paper_models.gpt_memory(GPT2Config(**TINY_GPT2), tokens=64)
    assert tm.parameters > 0 and tm.activation_bytes > 0


def test_frozen_parameters_are_reported_not_silently_zero() -> None:
    model, forward = _tiny()
    full = training_memory.account(model, forward)
    model[0].requires_grad_(False)
    part = training_memory.account(model, forward)
    assert part.frozen_parameters == 4 * 8 + 8 and part.frozen_parameter_bytes == 4 * 40
    assert part.parameters == full.parameters - 40
    for p in model.parameters():
        p.requires_grad_(False)
    frozen = training_memory.account(model, forward)
    assert frozen.parameters == 0 and frozen.frozen_parameters == full.parameters
    assert full.frozen_parameters == 0
