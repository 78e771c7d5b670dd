"""Agents and policies: the oracle (ground-truth replay); the GRPO agent arrives with the training issue."""

from envtune_gym.agents.oracle import TURN_DECLINED, TURN_DONE, oracle_actions, render_calls

__all__ = ["TURN_DECLINED", "TURN_DONE", "oracle_actions", "render_calls"]
