"""The schema of every CSV in ``data/``: columns, types, units, allowed values, unique keys.

``data/README.md`` is the dictionary a reader reads; a test checks that its column tables list
exactly these columns, in this order.
"""

from __future__ import annotations

from ..core.schema import Column, Schema

SOURCE = Column("source", "str", "a URL or citation of the spec sheet or paper")

PRECISIONS = ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp4", "int4")
# Plausibility bounds (wide physical ranges, in each column's unit): they catch typos and unit
# slips (1e300 TFLOPS, 1e-300 billion parameters), not unusual but real values.
#: Parameter counts in billions: 1,000 parameters to 1e15 (10x beyond the largest dense proposals).
PARAMS_MIN_B, PARAMS_MAX_B = 1e-6, 1e6
#: Training compute in PFLOPs: 1e12 FLOPs (a toy run) to 1e30 FLOPs (~1000x today's largest runs).
COMPUTE_MIN_PF, COMPUTE_MAX_PF = 1e-3, 1e15

FIG1_LABELS = ("R10000", "Pentium II Xeon", "Itanium 2", "GTX 580", "K40", "KNL", "TPUv3", "A100", "TPUv4", "H100")

COMPUTE_DEVICES = Schema(
    name="compute_devices.csv",
    description="one row per compute device (CPU, GPU, TPU, other accelerator)",
    key=("name",),
    columns=(
        Column("name", "str", "unique device name"),
        Column("vendor", "str", "manufacturer"),
        Column("device_type", "category", "cpu|gpu|tpu|accelerator", allowed=("cpu", "gpu", "tpu", "accelerator")),
        Column("announce_date", "date", "first public announcement, YYYY-MM-DD"),
        Column("availability_date", "date", "first general availability, YYYY-MM-DD", required=False),
        Column("memory_type", "str", "DRAM technology, e.g. HBM2", required=False),
        Column(
            "memory_bandwidth_GB_per_s",
            "float",
            "peak memory bandwidth per device in GB/s",
            required=False,
            positive=True,
            minimum=0.01,
            maximum=1e5,
        ),
        Column(
            "memory_capacity_GiB",
            "float",
            "nominal memory capacity per device in GiB (2**30 bytes; vendors write GB)",
            required=False,
            positive=True,
            minimum=1e-3,
            maximum=1e4,
        ),
        Column("paper_label", "category", "label printed in the paper's Figure 1", required=False, allowed=FIG1_LABELS),
        Column(
            "paper_figures", "list", "paper figures the device appears in (1, 2a)", required=False, allowed=("1", "2a")
        ),
        SOURCE,
    ),
)

COMPUTE_PEAK_FLOPS = Schema(
    name="compute_peak_flops.csv",
    description="one row per (device, precision, unit, sparsity) peak throughput",
    key=("device", "precision", "unit", "sparsity"),
    columns=(
        Column("device", "str", "a name from compute_devices.csv"),
        Column("precision", "category", "|".join(PRECISIONS), allowed=PRECISIONS),
        Column("unit", "category", "vector|tensor", allowed=("vector", "tensor")),
        Column("sparsity", "category", "dense|sparse", allowed=("dense", "sparse")),
        Column(
            "peak_TFLOPS", "float", "peak throughput in 1e12 operations/s", positive=True, minimum=1e-6, maximum=1e6
        ),
        SOURCE,
    ),
)

DRAM_TECHNOLOGIES = Schema(
    name="dram_technologies.csv",
    description="one row per DRAM generation, with its leading device",
    key=("technology",),
    columns=(
        Column("technology", "str", "DRAM generation, e.g. GDDR5"),
        Column("family", "category", "gddr|hbm|ddr", allowed=("gddr", "hbm", "ddr")),
        Column("date", "date", "first leading device with this memory, YYYY-MM-DD"),
        Column("reference_device", "str", "the leading device whose bandwidth is given"),
        Column("bandwidth_GB_per_s", "float", "memory bandwidth in GB/s", positive=True, minimum=0.1, maximum=1e5),
        Column("bandwidth_scope", "category", "device|stack", allowed=("device", "stack")),
        Column(
            "pin_rate_Gbps",
            "float",
            "per-pin data rate in Gbit/s",
            required=False,
            positive=True,
            minimum=0.05,
            maximum=500,
        ),
        Column(
            "paper_label",
            "category",
            "label printed in the paper's Figure 1",
            required=False,
            allowed=("GDDR3", "GDDR4", "GDDR5", "HBM", "HBM2", "HBM2E"),
        ),
        SOURCE,
    ),
)

INTERCONNECTS = Schema(
    name="interconnects.csv",
    description="one row per interconnect standard or generation",
    key=("standard",),
    columns=(
        Column("standard", "str", "interconnect generation, e.g. PCIe 3.0"),
        Column(
            "family",
            "category",
            "pcie|nvlink|infinity_fabric|ici|ethernet",
            allowed=("pcie", "nvlink", "infinity_fabric", "ici", "ethernet"),
        ),
        Column("date", "date", "specification release or first product, YYYY-MM-DD"),
        Column(
            "lane_rate_GT_per_s",
            "float",
            "per-lane signalling rate in GT/s",
            required=False,
            positive=True,
            minimum=0.1,
            maximum=1000,
        ),
        Column(
            "link_GB_per_s",
            "float",
            "one link (PCIe x16, one NVLink) in GB/s per direction",
            positive=True,
            minimum=0.01,
            maximum=1e4,
        ),
        Column(
            "links_per_device",
            "float",
            "links on the reference device",
            required=False,
            positive=True,
            minimum=1,
            maximum=1024,
        ),
        Column(
            "device_GB_per_s",
            "float",
            "all links of one device in GB/s per direction",
            positive=True,
            minimum=0.01,
            maximum=1e5,
        ),
        Column("direction", "category", "per_direction", allowed=("per_direction",)),
        Column("reference_device", "str", "device the per-device figure is for", required=False),
        Column(
            "paper_label",
            "category",
            "label printed in the paper's Figure 1",
            required=False,
            allowed=("PCIe 1.0a", "PCIe 2.0", "PCIe 3.0", "PCIe 5.0", "NVLink 1.0", "NVLink 4.0"),
        ),
        SOURCE,
    ),
)

MODELS = Schema(
    name="models.csv",
    description="one row per model, with parameter count and training compute",
    key=("name",),
    columns=(
        Column("name", "str", "unique model name"),
        Column("date", "date", "first public release, YYYY-MM-DD"),
        Column("date_rule", "category", "arxiv|announcement", allowed=("arxiv", "announcement")),
        Column("domain", "category", "cv|nlp|speech|recsys", allowed=("cv", "nlp", "speech", "recsys")),
        Column(
            "family", "category", "transformer|cnn|rnn|moe|other", allowed=("transformer", "cnn", "rnn", "moe", "other")
        ),
        Column(
            "parameters_total_billions",
            "float",
            "total parameters in billions (1e9)",
            positive=True,
            minimum=PARAMS_MIN_B,
            maximum=PARAMS_MAX_B,
        ),
        Column(
            "parameters_active_billions",
            "float",
            "parameters active per token in billions (MoE)",
            required=False,
            positive=True,
            minimum=PARAMS_MIN_B,
            maximum=PARAMS_MAX_B,
        ),
        Column(
            "training_compute_pflops",
            "float",
            "total training compute in PFLOPs (1e15 FLOPs)",
            required=False,
            positive=True,
            minimum=COMPUTE_MIN_PF,
            maximum=COMPUTE_MAX_PF,
        ),
        Column("parameters_is_estimate", "bool", "true if the parameter count is not the developers'"),
        Column("compute_is_estimate", "bool", "true if the training compute is not the developers'", required=False),
        Column(
            "paper_figures", "list", "paper panels the model appears in (2a, 2b)", required=False, allowed=("2a", "2b")
        ),
        SOURCE,
    ),
)

AUTHORS_TABLES = Schema(
    name="authors_tables.csv",
    description="the values the paper's authors published in their tables, errors included",
    key=("model",),
    columns=(
        Column("model", "str", "a name from models.csv"),
        Column("authors_name", "str", "the model's name in the authors' table"),
        Column("authors_date", "date", "the authors' date, YYYY-MM-DD"),
        Column(
            "parameters_billions",
            "float",
            "the authors' parameter count in billions",
            required=False,
            positive=True,
            minimum=PARAMS_MIN_B,
            maximum=PARAMS_MAX_B,
        ),
        Column(
            "training_compute_pflops",
            "float",
            "the authors' training compute in PFLOPs (1e15 FLOPs)",
            required=False,
            positive=True,
            minimum=COMPUTE_MIN_PF,
            maximum=COMPUTE_MAX_PF,
        ),
        SOURCE,
    ),
)

AUTHORS_PLOTTED = Schema(
    name="authors_plotted.csv",
    description="one row per element drawn in the authors' figure PDFs",
    key=("figure", "kind", "series", "label", "date"),
    columns=(
        Column("figure", "category", "fig1|fig2a|fig2b|fig4", allowed=("fig1", "fig2a", "fig2b", "fig4")),
        Column(
            "kind",
            "category",
            "what was drawn",
            allowed=("marker", "fit_line_start", "fit_line_end", "bar_segment", "step"),
        ),
        Column("series", "str", "series, from the drawing colour"),
        Column("label", "str", "the text label beside the marker / the bar's category", required=False),
        Column("date", "date", "x position as a date (Figs 1, 2a, 2b)", required=False),
        Column("value", "float", "y in the figure's axis units (normalized, billions, PFLOPs, GB)", positive=True),
        Column("value_base", "float", "bottom of a bar segment (GB)", required=False),
        Column("identified_as", "str", "matching rows of our data", required=False),
        Column("source", "str", "file and commit"),
    ),
)

SURVEY_CPU_LATENCY = Schema(
    name="survey_cpu_latency.csv",
    description="the survey's normalized CPU latency (Figure 3(d) of the paper), per model and length",
    key=("model", "seq_len_tokens"),
    columns=(
        Column(
            "model",
            "category",
            "bert-base|bert-large|gpt2 (the names of memwall_lib.engines.models.builders)",
            allowed=("bert-base", "bert-large", "gpt2"),
        ),
        Column("seq_len_tokens", "float", "sequence length in tokens", positive=True),
        Column(
            "normalized_latency",
            "float",
            "latency divided by BERT-Base's at 128 tokens (dimensionless), as printed on the bar",
            positive=True,
        ),
        Column("hardware", "str", "the CPU the survey profiled on"),
        SOURCE,
    ),
)

SCHEMAS: dict[str, Schema] = {
    s.name: s
    for s in (
        COMPUTE_DEVICES,
        COMPUTE_PEAK_FLOPS,
        DRAM_TECHNOLOGIES,
        INTERCONNECTS,
        MODELS,
        AUTHORS_TABLES,
        AUTHORS_PLOTTED,
        SURVEY_CPU_LATENCY,
    )
}
