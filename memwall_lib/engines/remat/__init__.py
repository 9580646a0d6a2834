"""Rematerialization (activation checkpointing) on a chain of blocks, strategy by strategy.

- :mod:`.chains`: models as chains of blocks (a GPT-2 stack, a torchvision ResNet), run
  under a schedule with ``torch.utils.checkpoint`` (non-reentrant);
- :mod:`.schedules`: none, every block, every k blocks, sqrt(n) segments;
- :mod:`.planner`: the cost model measured on one forward pass and the optimal schedule
  under a memory budget (dynamic programming);
- :mod:`.measure`: every schedule measured on real forward+backward runs (peak live
  activation bytes, extra FLOPs, wall time, gradients equal to no checkpointing).
"""

from .chains import CHAINS, Chain, gpt2_chain, resnet_chain, run_chain
from .measure import ChainResult, Measurement, baseline_schedules, measure_schedule, run_strategies, tracker_class
from .planner import ChainProfile, optimal_schedule, optimal_sweep, predict, profile_chain
from .schedules import STRATEGIES, Schedule, schedule_every_k, schedule_none, schedule_sqrt_n

__all__ = ["CHAINS", "STRATEGIES", "Chain", "ChainProfile", "ChainResult", "Measurement", "Schedule",
           "baseline_schedules", "gpt2_chain", "measure_schedule", "optimal_schedule", "optimal_sweep",
           "predict", "profile_chain", "resnet_chain", "run_chain", "run_strategies", "schedule_every_k",
           "schedule_none", "schedule_sqrt_n", "tracker_class"]
