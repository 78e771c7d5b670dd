"""Evaluation helpers: the success rate of a policy, the random baseline, and the catalogue's coverage of the
ground truth.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from envtune_gym.integrations.sb3.catalogue import ground_truth_entries
from envtune_gym.integrations.sb3.wrappers import CatalogueActions
from envtune_gym.tasks import Task

Policy = Callable[[Any, gym.Env], int]


@dataclass(frozen=True)
class EvalResult:
    """Success rate (BFCL's verdict, ``info["success"]``), mean return and mean length over ``episodes``."""

    episodes: int
    success_rate: float
    mean_return: float
    mean_length: float


def evaluate_success(env: gym.Env, policy: Policy, *, episodes: int, seed: int = 0) -> EvalResult:
    """Run ``policy(observation, env) -> index`` for ``episodes`` episodes (episode ``i`` resets with ``seed + i``).

    Example:
        >>> from envtune_gym.integrations.sb3 import make_sb3_env
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=32, dim=16, category="base")
        >>> evaluate_success(env, lambda obs, env: 0, episodes=2).success_rate  # ending every turn at once fails
        0.0
    """
    successes, total_return, steps = 0, 0.0, 0
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        done = False
        while not done:
            observation, reward, terminated, truncated, info = env.step(policy(observation, env))
            total_return += float(reward)
            steps += 1
            done = terminated or truncated
        successes += bool(info.get("success", False))
    return EvalResult(episodes, successes / episodes, total_return / episodes, steps / episodes)


def random_policy(seed: int = 0, *, masked: bool = True) -> Policy:
    """A uniform random policy: over the real catalogue entries (``masked``), or over all of ``Discrete(n)``.

    Example:
        >>> from envtune_gym.integrations.sb3 import make_sb3_env
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=32, dim=16, category="base")
        >>> result = evaluate_success(env, random_policy(0), episodes=2)
        >>> 0.0 <= result.success_rate <= 1.0
        True
    """
    rng = np.random.default_rng(seed)

    def act(observation: Any, env: gym.Env) -> int:
        if not masked:
            return int(rng.integers(env.action_space.n))
        valid = np.flatnonzero(env.get_wrapper_attr("action_masks")())
        return int(rng.choice(valid))

    return act


@dataclass
class CoverageReport:
    """How many ground-truth calls the generic catalogue offered when they were needed.

    ``solvable_tasks`` counts tasks whose every ground-truth call was in the catalogue at its step: a policy over
    the catalogue could solve them. ``misses`` lists ``(task_id, turn, call)`` of the absent calls.
    """

    calls: int = 0
    covered: int = 0
    tasks: int = 0
    solvable_tasks: int = 0
    misses: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def call_coverage(self) -> float:
        return self.covered / self.calls if self.calls else 1.0

    @property
    def task_coverage(self) -> float:
        return self.solvable_tasks / self.tasks if self.tasks else 1.0


def catalogue_coverage(
    env: gym.Env[str, str], task_ids: Sequence[str] | None = None, **catalogue_kwargs: Any
) -> CoverageReport:
    """Replay each task's ground truth (one call per step) and count the calls the generic catalogue held.

    A call absent from the catalogue is sent as text, so the replay (and the values it shows) goes on.

    Args:
        env: an EnvTune text env (``gym.make("EnvTune/...")``).
        task_ids: the tasks to replay (default: all of ``env.unwrapped.tasks``).
        catalogue_kwargs: :class:`CatalogueActions` arguments (``oracle_catalogue`` is refused).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> report = catalogue_coverage(gym.make("EnvTune/FileSystem-v0"), ["filesystem_base_0"], max_actions=64)
        >>> report.covered, report.calls, report.solvable_tasks
        (2, 2, 1)
    """
    if catalogue_kwargs.get("oracle_catalogue"):
        raise ValueError(
            "catalogue_coverage measures the generic catalogue; oracle_catalogue would be trivial"
        )
    wrapper = CatalogueActions(env, **catalogue_kwargs)
    report = CoverageReport()
    ids = [task.id for task in env.unwrapped.tasks] if task_ids is None else list(task_ids)
    for task_id in ids:
        wrapper.reset(options={"task_id": task_id})
        _replay_task(wrapper, wrapper.env.unwrapped.task, report)
    return report


def _replay_task(wrapper: CatalogueActions, task: Task, report: CoverageReport) -> None:
    report.tasks += 1
    solvable = True
    for turn in range(task.num_turns):
        for entry in ground_truth_entries(task, [turn]):
            report.calls += 1
            index = wrapper.index_of(entry.text)
            if index is None:
                solvable = False
                report.misses.append((task.id, turn, entry.text))
                wrapper._step_text(entry.text)
            else:
                report.covered += 1
                wrapper.step(index)
        wrapper.step(0)
    report.solvable_tasks += solvable
