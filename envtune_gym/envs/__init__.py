"""The environments: :class:`ToolUseEnv` (the multi-turn loop), the BFCL turn checker and registration."""

from envtune_gym.envs.registration import ENV_IDS, register_envs
from envtune_gym.envs.tool_env import REVEAL_MESSAGE, ToolUseEnv

__all__ = ["ENV_IDS", "REVEAL_MESSAGE", "ToolUseEnv", "register_envs"]
