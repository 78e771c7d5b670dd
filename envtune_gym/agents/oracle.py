"""The oracle policy lives in :mod:`envtune_gym.tasks.oracle`, next to the ground truth; this re-exports it."""

from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, ActionStyle, oracle_actions, render_calls

__all__ = ["TURN_DECLINED", "TURN_DONE", "ActionStyle", "oracle_actions", "render_calls"]
