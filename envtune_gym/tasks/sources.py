"""Resolving an env's task argument: a bundled set, BFCL's tasks, or the caller's own, filtered."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from envtune_gym.tasks.bfcl import Split, load_bfcl_tasks
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.model import CATEGORIES, Category, Task

TaskSource = Literal["bundled", "bfcl"]
#: The task-set name that means "BFCL's multi-turn tasks" (``EnvTune/BFCL-v0``).
BFCL_SET = "bfcl"


def resolve_tasks(
    tasks: str | Sequence[Task],
    *,
    category: Category | Sequence[Category] | None = None,
    task_source: TaskSource = "bundled",
    split: Split | None = None,
) -> tuple[Task, ...]:
    """The tasks an env runs.

    Args:
        tasks: ``"bfcl"`` for all of BFCL's multi-turn tasks, a bundled set name (``"filesystem"``), or tasks.
        category: keep one category or several.
        task_source: with a bundled set name, ``"bfcl"`` runs BFCL's tasks that involve only that set's domains
            instead of the bundled ones.
        split: ``"train"`` or ``"test"``, the Environment Tuning split of BFCL's tasks.

    Example:
        >>> len(resolve_tasks("filesystem", category="base"))
        14
    """
    if task_source not in ("bundled", "bfcl"):
        raise ValueError(f"task_source must be 'bundled' or 'bfcl', got {task_source!r}")
    categories = _categories(category)
    if isinstance(tasks, str) and (tasks == BFCL_SET or task_source == "bfcl"):
        domains = (
            None
            if tasks == BFCL_SET
            else sorted({name for task in load_bundled(tasks) for name in task.domains})
        )
        selected = load_bfcl_tasks(categories, domains=domains, split=split)
        if not selected and domains is not None:
            raise ValueError(
                f"BFCL has no task that involves only {', '.join(domains)} (with these filters); its tasks combine "
                "it with other domains: use EnvTune/BFCL-v0 (tasks='bfcl') to run them"
            )
    else:
        if split is not None:
            raise ValueError(
                "split selects among BFCL's tasks: use it with tasks='bfcl' or task_source='bfcl'"
            )
        selected = load_bundled(tasks) if isinstance(tasks, str) else tuple(tasks)
        if categories is not None:
            selected = tuple(task for task in selected if task.category in categories)
    if not selected:
        raise ValueError("no tasks to run: the task set is empty or the filters removed every task")
    return tuple(selected)


def _categories(category: Category | Sequence[Category] | None) -> list[Category] | None:
    if category is None:
        return None
    wanted = [category] if isinstance(category, str) else list(category)
    unknown = sorted(set(wanted) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown category {unknown}; choose from {', '.join(CATEGORIES)}")
    return wanted
