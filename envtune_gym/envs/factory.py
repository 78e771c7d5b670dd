"""Making EnvTune envs and choosing their tasks: the one place the ``envtune`` commands and the RL adapters do it.

``make_env`` is ``gym.make`` with errors that say what to do and the check that the env is an EnvTune tool-use
env, optionally inside wrappers; ``check_env`` refuses what ``make_env`` would, without making anything;
``env_tasks`` lists an env's tasks; ``select_tasks`` filters them by id, turn count and limit;
``resolve_env_kwargs`` adds eval's split and step budget. It needs gymnasium only (no torch, trl or verl), so
eval and the TRL, verl and SB3 adapters can all use it on a core install.

Example:
    >>> from envtune_gym.wrappers import ProgressReward
    >>> env = make_env("EnvTune/FileSystem-v0", {"max_steps_per_turn": 5}, [ProgressReward])
    >>> type(env).__name__, env.unwrapped.max_steps_per_turn
    ('ProgressReward', 5)
    >>> [task.id for task in select_tasks(env_tasks("EnvTune/FileSystem-v0"), limit=2)]
    ['filesystem_base_0', 'filesystem_base_1']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, get_args

import gymnasium as gym
from gymnasium.envs.registration import load_env_creator

from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.tasks import Task
from envtune_gym.tasks.bfcl import Split

__all__ = [
    "WrapperFactory",
    "check_env",
    "env_tasks",
    "envtune_ids",
    "make_env",
    "resolve_env_kwargs",
    "select_tasks",
]

#: ``gym.make`` keywords that gymnasium consumes itself instead of passing them to the env's constructor.
_MAKE_KEYWORDS = frozenset(
    {"max_episode_steps", "autoreset", "apply_api_compatibility", "disable_env_checker"}
)

#: Builds one wrapper around an env (a wrapper class such as ``ProgressReward``, or a ``functools.partial``).
WrapperFactory = Callable[[gym.Env], gym.Env]


def make_env(
    env_id: str, env_kwargs: Mapping[str, Any] | None = None, wrappers: Sequence[WrapperFactory] = ()
) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` inside ``wrappers`` (applied in order), refusing a non-EnvTune env.

    Raises:
        ValueError: for an unknown id (the message lists the EnvTune ids), an argument the env does not take, or
            an env that is not a :class:`~envtune_gym.envs.tool_env.ToolUseEnv`.

    Example:
        >>> from envtune_gym.wrappers import ProgressReward
        >>> type(make_env("EnvTune/Travel-v0", None, [ProgressReward])).__name__
        'ProgressReward'
        >>> make_env("EnvTune/Travel-v0", {"no_such": 1})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: cannot make EnvTune/Travel-v0 with {'no_such': 1}: ...
    """
    kwargs = dict(env_kwargs or {})
    try:
        env = gym.make(env_id, **kwargs)
    except gym.error.Error as exc:
        raise _unknown_id(env_id, exc) from exc
    except TypeError as exc:  # an argument the env's constructor does not take
        raise ValueError(f"cannot make {env_id} with {kwargs}: {exc}") from exc
    if not isinstance(env.unwrapped, ToolUseEnv):
        env.close()
        raise _not_envtune(env_id, type(env.unwrapped))
    for wrapper in wrappers:
        env = wrapper(env)
    return env


def check_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` unless ``env_id`` is a registered EnvTune env that accepts ``env_kwargs``' names.

    Cheap (nothing is made, no task loaded), so a command can refuse bad input before it loads a model or calls a
    server. Only the names are checked, from the constructor's signature: a bad value is reported by the env
    itself when it is made. An unknown or non-EnvTune id gets the message :func:`make_env` gives.

    Example:
        >>> check_env("EnvTune/FileSystem-v0", {"split": "train"})
        >>> check_env("CartPole-v1")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: 'CartPole-v1' is not an EnvTune env (CartPoleEnv); EnvTune ids: EnvTune/FileSystem-v0, ...
    """
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as exc:
        raise _unknown_id(env_id, exc) from None
    creator = load_env_creator(spec.entry_point) if isinstance(spec.entry_point, str) else spec.entry_point
    if not (isinstance(creator, type) and issubclass(creator, ToolUseEnv)):
        raise _not_envtune(env_id, creator)
    accepted = set(inspect.signature(creator).parameters) | _MAKE_KEYWORDS
    unknown = sorted(set(env_kwargs or {}) - accepted)
    if unknown:
        raise ValueError(
            f"{env_id} takes no argument(s) {', '.join(map(repr, unknown))}; "
            f"it takes {', '.join(sorted(accepted - set(spec.kwargs) - _MAKE_KEYWORDS))}"
        )


def _unknown_id(env_id: str, error: gym.error.Error) -> ValueError:
    return ValueError(f"unknown env id {env_id!r} ({error}); EnvTune ids: {', '.join(envtune_ids())}")


def _not_envtune(env_id: str, creator: Any) -> ValueError:
    name = getattr(creator, "__name__", type(creator).__name__)
    return ValueError(f"{env_id!r} is not an EnvTune env ({name}); EnvTune ids: {', '.join(envtune_ids())}")


def envtune_ids() -> list[str]:
    """The registered ``EnvTune/*`` ids, in registration order.

    Example:
        >>> "EnvTune/BFCL-v0" in envtune_ids()
        True
    """
    return [env_id for env_id in gym.registry if env_id.startswith("EnvTune/")]


def env_tasks(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> tuple[Task, ...]:
    """The tasks of ``make_env(env_id, env_kwargs)`` (its ``unwrapped.tasks``); the env is closed after.

    Example:
        >>> tasks = env_tasks("EnvTune/FileSystem-v0", {"category": "base"})
        >>> len(tasks), tasks[0].id
        (14, 'filesystem_base_0')
    """
    env = make_env(env_id, env_kwargs)
    try:
        return tuple(env.unwrapped.tasks)
    finally:
        env.close()


def select_tasks(
    tasks: Sequence[Task],
    task_ids: Sequence[str] | None = None,
    *,
    max_turns: int | None = None,
    first_turn_only: bool = False,
    limit: int | None = None,
    as_listed: bool = True,
) -> list[Task]:
    """The tasks to play or train on, filtered in this order: ids, turn count, first turn checked, limit.

    Args:
        tasks: the env's tasks (see :func:`env_tasks`).
        task_ids: only these tasks; ``None`` keeps all.
        max_turns: only tasks with at most this many user turns; ``None`` for no limit.
        first_turn_only: only tasks whose first turn is checked (has ground-truth calls).
        limit: only the first ``limit`` tasks left; ``None`` keeps all.
        as_listed: ``True``: in ``task_ids``' order, a repeated id repeating its task (a training weight);
            ``False``: each named task once, in the env's order (eval, where samples, not repeats, weigh a task).

    Raises:
        ValueError: for a task id not in ``tasks``.

    Example:
        >>> tasks = env_tasks("EnvTune/FileSystem-v0")
        >>> [task.id for task in select_tasks(tasks, ["filesystem_base_1", "filesystem_base_0"])]
        ['filesystem_base_1', 'filesystem_base_0']
        >>> [task.id for task in select_tasks(tasks, ["filesystem_base_1", "filesystem_base_0"], as_listed=False)]
        ['filesystem_base_0', 'filesystem_base_1']
        >>> select_tasks(tasks, max_turns=1)  # every bundled task has several user turns
        []
    """
    selected = list(tasks)
    if task_ids is not None:
        selected = _by_id(selected, task_ids, as_listed)
    if max_turns is not None:
        selected = [task for task in selected if task.num_turns <= max_turns]
    if first_turn_only:
        selected = [task for task in selected if task.ground_truth[0]]
    return selected[:limit] if limit is not None else selected


def _by_id(tasks: list[Task], task_ids: Sequence[str], as_listed: bool) -> list[Task]:
    index = {task.id: task for task in tasks}
    unknown = [task_id for task_id in task_ids if task_id not in index]
    if unknown:
        raise ValueError(
            f"unknown task id(s) {unknown[:5]} for this env and filters ({len(tasks)} tasks, e.g. "
            f"{', '.join(task.id for task in tasks[:3])})"
        )
    if as_listed:
        return [index[task_id] for task_id in task_ids]
    wanted = set(task_ids)
    return [task for task in tasks if task.id in wanted]


def resolve_env_kwargs(
    env_id: str, env_kwargs: Mapping[str, Any] | None, split: str | None, max_steps_per_turn: int
) -> dict[str, Any]:
    """``gym.make`` arguments with the split and the step budget, refusing a split where none applies.

    Example:
        >>> resolve_env_kwargs("EnvTune/BFCL-v0", None, "test", 20)
        {'max_steps_per_turn': 20, 'split': 'test'}
        >>> resolve_env_kwargs("EnvTune/Travel-v0", None, "test", 20)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
            ...
        ValueError: --split selects among BFCL's tasks: EnvTune/Travel-v0 runs bundled tasks, which have no split...
    """
    kwargs = {**(env_kwargs or {}), "max_steps_per_turn": max_steps_per_turn}
    if split is None:
        return kwargs
    if split not in get_args(Split):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    spec = gym.registry.get(env_id)
    tasks = kwargs.get("tasks", spec.kwargs.get("tasks") if spec is not None else None)
    if tasks != "bfcl" and kwargs.get("task_source") != "bfcl":
        set_name = tasks if isinstance(tasks, str) else "these"
        raise ValueError(
            f"--split selects among BFCL's tasks: {env_id} runs bundled tasks, which have no split; pass "
            f"task_source='bfcl' (--task-source bfcl) to run BFCL's {set_name} tasks"
        )
    return {**kwargs, "split": split}
