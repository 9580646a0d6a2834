"""Plausibility of ``models.csv`` across columns and files: the checks that catch a parameter
count typed in millions, training compute in a unit 1000x too small, or a date decades off,
which each column's own wide range lets through.

- dates: an ``arxiv`` date lies in the month of an arXiv identifier its ``source`` cites (new-style
  identifiers are ``YYMM.NNNNN``); an ``announcement`` came before the model's paper, so no later
  than the month of the latest one cited; no transformer or mixture of experts predates the
  Transformer; no date lies in the future;
- compute: at least :data:`TOKENS_PER_PARAMETER_MIN` training tokens per parameter
  (``C / (6 N^2)``, from C = 6 N D), and at most the per-year ceiling :func:`compute_ceiling`;
- the authors' table: our values and dates within a stated factor and gap of theirs.

Every bound is stated in ``data/README.md`` ("Plausibility across columns and files"); errors are
:class:`~memwall_lib.core.schema.CellError` s naming file, row, column, value and bound.
Units: parameters in billions (1e9), compute in PFLOPs (1e15 FLOPs), FLOPs here in FLOPs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re

import pandas as pd

from ..core.schema import CellError
from ..core.trends import fractional_year
from .schemas import AUTHORS_TABLES, MODELS

#: The Transformer's paper, arXiv:1706.03762 v1 (Vaswani et al., 2017-06-12; the table's own
#: Transformer rows): no transformer or mixture-of-experts transformer is older.
TRANSFORMER_DATE = dt.date(2017, 6, 12)
TRANSFORMER_FAMILIES = ("transformer", "moe")
#: A new-style arXiv identifier (since April 2007), ``YYMM.NNNN`` or ``YYMM.NNNNN``, as
#: ``arXiv:2005.14165`` or ``arxiv.org/abs/2005.14165``.
ARXIV_ID = re.compile(r"(?:arxiv[:\s]\s*|arxiv\.org/(?:abs|pdf)/)(\d{2})(\d{2})\.\d{4,5}", re.IGNORECASE)
#: Training tokens per parameter, C / (6 N^2), at least: the table's least-trained model is
#: Megatron-Turing NLG at 0.51 (270e9 tokens for 530e9 parameters), GPT-3 1.7, Chinchilla 20.
#: A count typed in millions (x1000) gives 1e-6 of the true value.
TOKENS_PER_PARAMETER_MIN = 0.05
#: Families whose compute follows C = 6 N D closely enough for the floor (recommenders, whose
#: parameters are mostly embeddings read sparsely, do not).
DENSE_FAMILIES = ("transformer", "moe", "rnn", "cnn")
#: Training compute ceiling in FLOPs: 2e27 at 2025.0, about 30x above the table's largest run
#: (Llama 3.1 405B, 3.8e25 FLOPs), halving every 6 months back to 2010 and every 20 months
#: before: the doubling times of the largest training runs (Sevilla et al., "Compute Trends
#: Across Three Eras of Machine Learning", arXiv:2202.05924).
COMPUTE_CEILING_FLOPS = (2e27, 2025.0)
COMPUTE_DOUBLING_YEARS = (0.5, 20 / 12)
DEEP_LEARNING_ERA = 2010.0
#: Our values against the authors' table (authors_tables.csv): their largest disagreements
#: are 4.2x in parameters (RoBERTa-Large, 1.5B vs 355M), 23x in compute (Inception-v3, an
#: erratum) and 197 days in date (AlexNet).
AUTHORS_PARAMETER_RATIO_MAX = 10.0
AUTHORS_COMPUTE_RATIO_MAX = 100.0
AUTHORS_DATE_GAP_DAYS = 366


def compute_ceiling(year: float) -> float:
    """The largest plausible training compute in FLOPs of a model released in ``year``."""
    base, at = COMPUTE_CEILING_FLOPS
    recent, early = COMPUTE_DOUBLING_YEARS
    if year >= DEEP_LEARNING_ERA:
        return base * 2.0 ** ((year - at) / recent)
    return base * 2.0 ** ((DEEP_LEARNING_ERA - at) / recent) * 2.0 ** ((year - DEEP_LEARNING_ERA) / early)


def arxiv_months(source: str) -> list[tuple[int, int]]:
    """(year, month) of every new-style arXiv identifier ``source`` cites."""
    return sorted({(2000 + int(y), int(m)) for y, m in ARXIV_ID.findall(source) if 1 <= int(m) <= 12})


def check_model_dates(models: pd.DataFrame, today: dt.date | None = None) -> list[CellError]:
    """An ``arxiv`` date in the month of a cited arXiv identifier; an ``announcement`` no later
    than the month of the latest one cited; transformers from :data:`TRANSFORMER_DATE`; no
    date after ``today`` (default: the day this runs)."""
    today = dt.date.today() if today is None else today
    errors = []
    for r in models.itertuples():
        months = arxiv_months(str(r.source))
        shown = ", ".join(f"{y}-{m:02d}" for y, m in months)
        if r.date_rule == "arxiv" and (r.date.year, r.date.month) not in months:
            want = f"the month of an arXiv identifier its source cites ({shown})" if months else "an arXiv identifier"
            text = (
                f"expected a date_rule arxiv date (arXiv v1) in {want}; got {r.date.isoformat()}"
                if months
                else f"expected {want} (arXiv:YYMM.NNNNN) in source for date_rule arxiv; none found"
            )
            errors.append(CellError.of(MODELS.name, r, "date" if months else "source", text))
        elif r.date_rule == "announcement" and months and (r.date.year, r.date.month) > months[-1]:
            y, m = months[-1]
            text = (
                f"expected an announcement (before the model's paper) no later than {y}-{m:02d}-"
                f"{calendar.monthrange(y, m)[1]:02d}, the month of the latest arXiv identifier its source cites; "
                f"got {r.date.isoformat()}"
            )
            errors.append(CellError.of(MODELS.name, r, "date", text))
        if r.family in TRANSFORMER_FAMILIES and r.date < TRANSFORMER_DATE:
            text = (
                f"expected a {r.family} date on or after {TRANSFORMER_DATE.isoformat()} (the Transformer's paper, "
                f"arXiv:1706.03762), got {r.date.isoformat()}"
            )
            errors.append(CellError.of(MODELS.name, r, "date", text))
        if r.date > today:
            errors.append(
                CellError.of(
                    MODELS.name,
                    r,
                    "date",
                    f"expected a date on or before today ({today.isoformat()}), got {r.date.isoformat()}",
                )
            )
    return errors


def check_model_compute(models: pd.DataFrame) -> list[CellError]:
    """Where training compute is given: at least :data:`TOKENS_PER_PARAMETER_MIN` tokens per
    parameter (N = active parameters where given, else total; :data:`DENSE_FAMILIES`), and no
    more than :func:`compute_ceiling` of the model's date."""
    errors = []
    for r in models.itertuples():
        pf = r.training_compute_pflops
        if math.isnan(pf):
            continue
        flops = pf * 1e15
        col = "parameters_active_billions" if r.parameters_active_billions > 0 else "parameters_total_billions"
        n = getattr(r, col) * 1e9
        per_parameter = flops / (6 * n * n)
        if r.family in DENSE_FAMILIES and per_parameter < TOKENS_PER_PARAMETER_MIN:
            text = (
                f"expected at least {TOKENS_PER_PARAMETER_MIN:g} training tokens per parameter (training compute "
                f"{flops:.3g} FLOPs / (6 N^2), C = 6 N D), got {per_parameter:.3g} with N = {n:.3g} from {col} = "
                f"{getattr(r, col):g}: a count in millions, not billions?"
            )
            errors.append(CellError.of(MODELS.name, r, col, text))
        ceiling = compute_ceiling(float(fractional_year(r.date)[0]))
        if flops > ceiling:
            text = (
                f"expected at most {ceiling / 1e15:.3g} PFLOPs for a model of {r.date.isoformat()} (plausibility "
                f"ceiling: the largest runs' growth, arXiv:2202.05924), got {pf:g}: TFLOPs, not PFLOPs?"
            )
            errors.append(CellError.of(MODELS.name, r, "training_compute_pflops", text))
    return errors


def check_against_authors(authors: pd.DataFrame, models: pd.DataFrame) -> list[CellError]:
    """Each model the authors' table lists keeps its parameters within
    :data:`AUTHORS_PARAMETER_RATIO_MAX`, its compute within :data:`AUTHORS_COMPUTE_RATIO_MAX`
    and its date within :data:`AUTHORS_DATE_GAP_DAYS` of the authors' (errors name the row of
    ``models.csv`` and the authors' row)."""
    ours = {r.name: r for r in models.itertuples()}
    errors = []
    for a in authors.itertuples():
        m = ours.get(a.model)
        if m is None:
            continue
        theirs = f"the authors' table ({AUTHORS_TABLES.name} row {a.row})"
        for col, their, limit in (
            ("parameters_total_billions", a.parameters_billions, AUTHORS_PARAMETER_RATIO_MAX),
            ("training_compute_pflops", a.training_compute_pflops, AUTHORS_COMPUTE_RATIO_MAX),
        ):
            value = getattr(m, col)
            if value > 0 and their > 0 and max(value / their, their / value) > limit:
                text = f"expected within {limit:g}x of {their:g}, the value of {theirs}; got {value:g}"
                errors.append(CellError.of(MODELS.name, m, col, text))
        gap = abs((m.date - a.authors_date).days)
        if gap > AUTHORS_DATE_GAP_DAYS:
            text = (
                f"expected within {AUTHORS_DATE_GAP_DAYS} days of {a.authors_date.isoformat()}, the date of {theirs}; "
                f"got {m.date.isoformat()} ({gap} days off)"
            )
            errors.append(CellError.of(MODELS.name, m, "date", text))
    return errors
