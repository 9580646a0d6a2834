"""Rematerialization (activation checkpointing) on a chain of blocks, strategy by strategy.

- :mod:`.chains`: models as chains of blocks (a GPT-2 stack, a torchvision ResNet), run
  under a schedule with ``torch.utils.checkpoint`` (non-reentrant);
- :mod:`.schedules`: none, every block, every k blocks, sqrt(n) segments;
- :mod:`.planner`: the cost model measured on one forward pass and the optimal schedule
  under a memory budget (dynamic programming);
- :mod:`.measure`: every schedule measured on real forward+backward runs (peak live
  activation bytes, extra FLOPs, wall time, gradients equal to no checkpointing);
- :mod:`.profile`, :mod:`.plan`, :mod:`.run`: operator granularity (which
  segments to checkpoint and which operator outputs to keep inside them): profile, cost model,
  exact planner and frontier, execution with selective checkpointing, measurement;
- :mod:`.compile_anchor`: PyTorch's anchor, ``torch.compile`` per block under
  ``activation_memory_budget`` (import it explicitly; it needs torch._dynamo).
"""

from .chains import CHAINS, Chain, gpt2_chain, resnet_chain, run_chain
from .measure import ChainResult, Measurement, baseline_schedules, measure_schedule, run_strategies, tracker_class
from .plan import best_within, frontier, plan_for_budget, plan_none
from .planner import ChainProfile, optimal_schedule, optimal_sweep, predict, profile_chain
from .profile import BlockOps, OpChainProfile, OpPlan, OpRecord, predict_plan, profile_blocks, segment_cost
from .run import PlanMeasurement, measure_plan, profile_chain_ops, reference_run, run_plan
from .schedules import STRATEGIES, Schedule, schedule_every_k, schedule_none, schedule_sqrt_n

__all__ = [
    "CHAINS",
    "STRATEGIES",
    "BlockOps",
    "Chain",
    "ChainProfile",
    "ChainResult",
    "Measurement",
    "OpChainProfile",
    "OpPlan",
    "OpRecord",
    "PlanMeasurement",
    "Schedule",
    "best_within",
    "frontier",
    "measure_plan",
    "plan_for_budget",
    "plan_none",
    "predict_plan",
    "profile_blocks",
    "profile_chain_ops",
    "reference_run",
    "run_plan",
    "segment_cost",
    "baseline_schedules",
    "gpt2_chain",
    "measure_schedule",
    "optimal_schedule",
    "optimal_sweep",
    "predict",
    "profile_chain",
    "resnet_chain",
    "run_chain",
    "run_strategies",
    "schedule_every_k",
    "schedule_none",
    "schedule_sqrt_n",
    "tracker_class",
]
