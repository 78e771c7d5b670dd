"""Synthesized task sets as an env's task source: ``gym.make(id, task_source="synth", num_tasks=..., ...)``.

Registered with :func:`envtune_gym.tasks.sources.register_task_source` when :mod:`envtune_gym.synth` is imported
(``import envtune_gym`` does). Sets are cached in the process by their parameters, so the envs of a vector env
share one set instead of each synthesizing its own.

Example:
    >>> import gymnasium as gym, envtune_gym
    >>> env = gym.make("EnvTune/Trading-v0", task_source="synth", num_tasks=8, synth_seed=3)
    >>> len(env.unwrapped.tasks), env.unwrapped.tasks[0].id
    (8, 'synth_trading_base_3_0')
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from envtune_gym.synth.generate import Synthesizer
from envtune_gym.synth.generator import Knobs
from envtune_gym.tasks.model import Category, Task
from envtune_gym.tasks.sources import register_task_source

#: Tasks an env synthesizes when ``num_tasks`` is not given.
DEFAULT_NUM_TASKS = 200
#: The most tasks one env synthesizes (write bigger sets to a file with ``envtune synth``).
MAX_ENV_TASKS = 100_000
_OPTIONS = ("num_tasks", "seed", "knobs")


def synth_task_set(
    name: str, categories: list[Category] | None, options: Mapping[str, Any]
) -> tuple[Task, ...]:
    """The tasks of generator ``name`` for an env: ``options`` holds ``num_tasks``, ``seed`` and ``knobs``."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"unknown synth option(s) {unknown}; known: {', '.join(_OPTIONS)}")
    count = options.get("num_tasks", DEFAULT_NUM_TASKS)
    if type(count) is not int or not 1 <= count <= MAX_ENV_TASKS:
        raise ValueError(f"num_tasks must be an integer in 1..{MAX_ENV_TASKS:,}, got {count!r}")
    knobs = Knobs.from_dict(options.get("knobs") or {})
    return _cached_set(name, tuple(categories or ()), count, options.get("seed", 0), knobs)


@functools.lru_cache(maxsize=16)
def _cached_set(
    name: str, categories: tuple[Category, ...], count: int, seed: Any, knobs: Knobs
) -> tuple[Task, ...]:
    synth = Synthesizer(name, seed, category=categories or None, knobs=knobs)
    return tuple(synth.tasks(count))


register_task_source("synth", synth_task_set)
