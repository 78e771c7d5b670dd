"""envtune-gym: Gymnasium multi-turn tool-use environments on BFCL's domains.

``import envtune_gym`` registers the ``EnvTune/*`` ids, one per domain that declares an env (see
:mod:`envtune_gym.domains.registry`) and ``EnvTune/BFCL-v0``; after importing a domain of your own, call
:func:`register_envs` again.

Example:
    >>> import gymnasium as gym
    >>> import envtune_gym
    >>> env = gym.make("EnvTune/FileSystem-v0")
    >>> observation, info = env.reset(seed=0)
    >>> isinstance(observation, str) and "tools" in info
    True
"""

from envtune_gym.actions import ActionLimits, ParsedAction, ToolCall, parse_action
from envtune_gym.envs import ENV_IDS, ToolUseEnv, register_envs
from envtune_gym.synth import Synthesizer, synthesize  # also registers task_source="synth"
from envtune_gym.tasks import Task

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENV_IDS",
    "ActionLimits",
    "ParsedAction",
    "Synthesizer",
    "Task",
    "ToolCall",
    "ToolUseEnv",
    "__version__",
    "parse_action",
    "register_envs",
    "synthesize",
]
