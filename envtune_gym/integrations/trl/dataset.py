"""The dataset both TRL paths take: one row per task, the task id carried in the prompt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from envtune_gym.envs.factory import env_tasks, select_tasks
from envtune_gym.tasks import Task

if TYPE_CHECKING:
    import datasets


def task_dataset(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    task_ids: Sequence[str] | None = None,
    max_turns: int | None = None,
    first_turn_only: bool = False,
    system_prompt: str | None = None,
    environment: str | None = None,
) -> datasets.Dataset:
    """One row per task of ``env_id``: the prompt TRL needs, with the task named in it.

    Each row has ``prompt``, a conversation whose user message is the task's first user message and carries the
    task id under a ``task_id`` key (the rollout function reads it there: TRL passes it nothing but the prompts),
    and a ``task_id`` column (what :func:`make_environment_class`'s ``reset`` reads).

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make`` (e.g. ``{"split": "train"}`` or ``{"task_source": "bfcl"}``).
        task_ids: only these tasks, in this order (repeat an id to weight it).
        max_turns: only tasks with at most this many user turns (``1`` for whole-task ``environment_factory``).
        first_turn_only: only tasks whose first turn is checked, for ``make_environment_class(...,
            first_turn_only=True)``.
        system_prompt: a system message before the user message (the rollout function passes it to the template).
        environment: adds an ``environment`` column with this name, to route rows when TRL's
            ``environment_factory`` is a dict of classes.

    Returns:
        A ``datasets.Dataset``.

    Raises:
        ValueError: for an unknown task id, or when no task is left.

    Example:
        >>> rows = task_dataset("EnvTune/FileSystem-v0", task_ids=["filesystem_base_0"])  # doctest: +SKIP
        >>> rows[0]["task_id"], rows[0]["prompt"][-1]["task_id"]  # doctest: +SKIP
        ('filesystem_base_0', 'filesystem_base_0')
    """
    from datasets import Dataset

    tasks = select_tasks(
        env_tasks(env_id, env_kwargs), task_ids, max_turns=max_turns, first_turn_only=first_turn_only
    )
    rows = [_row(task, system_prompt, environment) for task in tasks]
    if not rows:
        raise ValueError(f"no task of {env_id} with {dict(env_kwargs or {})} passes the filters "
                         f"(max_turns={max_turns}, first_turn_only={first_turn_only})")  # fmt: skip
    return Dataset.from_list(rows)


def _row(task: Task, system_prompt: str | None, environment: str | None) -> dict[str, Any]:
    # Every message has the same keys: Arrow stores the conversation as a list of structs of one type.
    prompt = [{"role": "user", "content": task.turns[0], "task_id": task.id}]
    if system_prompt is not None:
        prompt.insert(0, {"role": "system", "content": system_prompt, "task_id": None})
    row: dict[str, Any] = {"prompt": prompt, "task_id": task.id}
    if environment is not None:
        row["environment"] = environment
    return row
