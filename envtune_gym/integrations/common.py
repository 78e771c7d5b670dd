"""Engine-neutral helpers shared by the RL integrations (TRL, verl): making wrapped envs and choosing tasks.

It imports gymnasium and EnvTune only (no torch, transformers, trl or datasets), so any integration can use it
on a core install.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym

import envtune_gym  # noqa: F401 - registers the EnvTune/* ids
from envtune_gym.tasks import Task

__all__ = ["WrapperFactory", "env_tasks", "make_env", "select_tasks"]

#: Builds one wrapper around an env (a wrapper class such as ``ProgressReward``, or a ``functools.partial``).
WrapperFactory = Callable[[gym.Env], gym.Env]


def make_env(env_id: str, env_kwargs: Mapping[str, Any], wrappers: Sequence[WrapperFactory]) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` inside ``wrappers``, applied in order.

    Example:
        >>> from envtune_gym.wrappers import ProgressReward
        >>> env = make_env("EnvTune/FileSystem-v0", {"max_steps_per_turn": 5}, [ProgressReward])
        >>> type(env).__name__, env.unwrapped.max_steps_per_turn
        ('ProgressReward', 5)
    """
    env = gym.make(env_id, **dict(env_kwargs))
    for wrapper in wrappers:
        env = wrapper(env)
    return env


def env_tasks(env_id: str, env_kwargs: Mapping[str, Any] | None) -> tuple[Task, ...]:
    """The tasks of ``gym.make(env_id, **env_kwargs)`` (its ``unwrapped.tasks``); the env is closed after.

    Example:
        >>> tasks = env_tasks("EnvTune/FileSystem-v0", {"category": "base"})
        >>> len(tasks), tasks[0].id
        (14, 'filesystem_base_0')
    """
    env = gym.make(env_id, **dict(env_kwargs or {}))
    try:
        return tuple(env.unwrapped.tasks)
    finally:
        env.close()


def select_tasks(
    tasks: Sequence[Task], task_ids: Sequence[str] | None, max_turns: int | None, first_turn_only: bool
) -> list[Task]:
    """The tasks to train on, filtered in this order.

    Args:
        tasks: the env's tasks (see :func:`env_tasks`).
        task_ids: only these tasks, in this order (repeat an id to weight it); ``None`` keeps all.
        max_turns: only tasks with at most this many user turns; ``None`` for no limit.
        first_turn_only: only tasks whose first turn is checked (has ground-truth calls).

    Raises:
        ValueError: for a task id not in ``tasks``.

    Example:
        >>> tasks = env_tasks("EnvTune/FileSystem-v0", None)
        >>> [task.id for task in select_tasks(tasks, ["filesystem_base_1", "filesystem_base_0"], None, False)]
        ['filesystem_base_1', 'filesystem_base_0']
        >>> select_tasks(tasks, None, 1, False)  # every bundled task has several user turns
        []
    """
    if task_ids is not None:
        index = {task.id: task for task in tasks}
        unknown = [task_id for task_id in task_ids if task_id not in index]
        if unknown:
            raise ValueError(f"unknown task ids {unknown[:5]}; the env has {len(tasks)} tasks")
        tasks = [index[task_id] for task_id in task_ids]
    if max_turns is not None:
        tasks = [task for task in tasks if task.num_turns <= max_turns]
    if first_turn_only:
        tasks = [task for task in tasks if task.ground_truth[0]]
    return list(tasks)
