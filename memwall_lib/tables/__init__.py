"""The tables of ``data/``: one schema per CSV (:mod:`.schemas`), loaders that validate each
file and check it against the others (:mod:`.loaders`, with the plausibility checks across
columns and files that catch unit slips: :mod:`.hardware_checks`, :mod:`.hardware_cross`,
:mod:`.model_checks`), device helpers (:mod:`.devices`), and
accelerators a user supplies (:mod:`.user_chips`: an ``accelerators_file``
validated like ``data/``, or ``extra_accelerators`` specs), in the shape of the data's tables.

Layer rule: tables import only :mod:`memwall_lib.core`; they neither plot nor fit.
"""

from .devices import DATE_RULES, FLOPS_POLICIES, GIB, device_dates, device_peaks, gpu_memory_by_year, memory_capacity_gb
from .loaders import (
    HARDWARE_FILES,
    HardwareData,
    load_authors_plotted,
    load_authors_tables,
    load_hardware,
    load_models,
    load_survey_latency,
)
from .schemas import SCHEMAS
from .user_chips import (
    ACCELERATORS_FILE,
    ChipSpecError,
    UserChips,
    extra_accelerators,
    load_accelerators_file,
    with_user_chips,
)

__all__ = [
    "ACCELERATORS_FILE",
    "ChipSpecError",
    "UserChips",
    "extra_accelerators",
    "load_accelerators_file",
    "with_user_chips",
    "DATE_RULES",
    "FLOPS_POLICIES",
    "GIB",
    "SCHEMAS",
    "HardwareData",
    "device_dates",
    "device_peaks",
    "gpu_memory_by_year",
    "load_authors_plotted",
    "load_authors_tables",
    "HARDWARE_FILES",
    "load_hardware",
    "load_models",
    "load_survey_latency",
    "memory_capacity_gb",
]
