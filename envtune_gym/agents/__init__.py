"""Agents and policies: the oracle (ground-truth replay) and the GRPO agent (``grpo``, ``engine``, ``sft``...).

Importing this package before torch sets ``OMP_WAIT_POLICY=PASSIVE`` unless it is set already: OpenMP threads
then sleep while they wait instead of spinning. On a small machine, spinning threads fight the main thread and any
other process for the cores; ``benchmarks/train_under_load.py`` measured the tiny preset 2.9x faster on a quiet
2-core machine and 5.2x faster beside a busy process. OpenMP reads the variable once, when torch loads it.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from envtune_gym.agents.oracle import TURN_DECLINED, TURN_DONE, oracle_actions, render_calls  # noqa: E402

__all__ = ["TURN_DECLINED", "TURN_DONE", "oracle_actions", "render_calls"]
