"""Rematerialization (activation checkpointing) on a chain of blocks, at operator granularity.

- :mod:`.chains`: models as chains of blocks (a GPT-2 stack, a torchvision ResNet);
- :mod:`.from_config`: the layers of any model transformers builds from a config, shrunk to a
  small depth and width, as a chain (import it explicitly);
- :mod:`.schedules`: the block-level schedules people use (every block, every k blocks,
  sqrt(n) segments), run as plans that keep no operator output;
- :mod:`.profile`, :mod:`.plan`, :mod:`.run`: which segments to checkpoint and which operator
  outputs to keep inside them: profile, cost model, exact planner and frontier (at operator
  granularity, or at block granularity with ``operator_level=False``), execution with
  selective checkpointing, measurement (peak live activation bytes, FLOPs, wall time,
  gradients against no checkpointing);
- :mod:`.study`: one chain studied at both granularities (Figure 4b);
- :mod:`.compile_anchor`: PyTorch's anchor, ``torch.compile`` per block under
  ``activation_memory_budget`` (import it explicitly; it needs torch._dynamo).
"""

from .chains import CHAINS, Chain, gpt2_chain, resnet_chain
from .plan import frontier, plan_for_budget, plan_none
from .profile import BlockOps, OpChainProfile, OpPlan, OpRecord, predict_plan, profile_blocks, segment_cost
from .run import PlanMeasurement, measure_plan, profile_chain_ops, reference_run, run_plan
from .schedules import Schedule, schedule_every_k, schedule_sqrt_n

__all__ = [
    "CHAINS",
    "BlockOps",
    "Chain",
    "OpChainProfile",
    "OpPlan",
    "OpRecord",
    "PlanMeasurement",
    "Schedule",
    "frontier",
    "gpt2_chain",
    "measure_plan",
    "plan_for_budget",
    "plan_none",
    "predict_plan",
    "profile_blocks",
    "profile_chain_ops",
    "reference_run",
    "resnet_chain",
    "run_plan",
    "schedule_every_k",
    "schedule_sqrt_n",
    "segment_cost",
]
