"""The engine-neutral helpers the RL integrations (TRL, verl, SB3) share: making wrapped envs, choosing tasks.

They are :mod:`envtune_gym.envs.factory`'s, the one place envs are made and tasks chosen (``envtune eval`` uses
it too), named here for the adapters. Only gymnasium and EnvTune are imported (no torch, transformers, trl or
datasets), so any integration can use them on a core install.

Example:
    >>> from envtune_gym.wrappers import ProgressReward
    >>> env = make_env("EnvTune/FileSystem-v0", {"max_steps_per_turn": 5}, [ProgressReward])
    >>> tasks = select_tasks(env_tasks("EnvTune/FileSystem-v0"), ["filesystem_base_1"], max_turns=10)
    >>> type(env).__name__, [task.id for task in tasks]
    ('ProgressReward', ['filesystem_base_1'])
"""

from __future__ import annotations

from envtune_gym.envs.factory import WrapperFactory, env_tasks, make_env, select_tasks

__all__ = ["WrapperFactory", "env_tasks", "make_env", "select_tasks"]
