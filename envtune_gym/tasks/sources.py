"""Resolving an env's task argument: a bundled set, BFCL's tasks, a task file, synthesized tasks, or the caller's
own, filtered.

Sources beyond the bundled sets and BFCL's data plug in with :func:`register_task_source`: the synthesizer
(:mod:`envtune_gym.synth`, which sits above the envs it replays tasks in) registers ``"synth"`` when imported, and
``import envtune_gym`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from envtune_gym.tasks.bfcl import Split, load_bfcl_tasks
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.files import is_task_file, load_task_file
from envtune_gym.tasks.model import CATEGORIES, Category, Task

TaskSource = Literal["bundled", "bfcl", "synth"]
#: The task-set name that means "BFCL's multi-turn tasks" (``EnvTune/BFCL-v0``).
BFCL_SET = "bfcl"
#: A pluggable source: (task-set name, categories or None, the source's options) -> tasks.
SourceResolver = Callable[[str, "list[Category] | None", Mapping[str, Any]], tuple[Task, ...]]
_SOURCES: dict[str, SourceResolver] = {}


def register_task_source(name: str, resolve: SourceResolver) -> None:
    """Make ``task_source=name`` resolve a task-set name with ``resolve`` (e.g. the synthesizer's ``"synth"``)."""
    if name in ("bundled", "bfcl"):
        raise ValueError(f"task source {name!r} is built in")
    _SOURCES[name] = resolve


def resolve_tasks(
    tasks: str | Sequence[Task],
    *,
    category: Category | Sequence[Category] | None = None,
    task_source: TaskSource = "bundled",
    split: Split | None = None,
    source_options: Mapping[str, Any] | None = None,
) -> tuple[Task, ...]:
    """The tasks an env runs.

    Args:
        tasks: ``"bfcl"`` for all of BFCL's multi-turn tasks, a bundled set name (``"filesystem"``), a task file
            (``.jsonl`` or ``.json``, see :mod:`envtune_gym.tasks.files`), or tasks.
        category: keep one category or several.
        task_source: with a set name, ``"bfcl"`` runs BFCL's tasks that involve only that set's domains instead
            of the bundled ones; ``"synth"`` runs synthesized tasks of the generator of that name.
        split: ``"train"`` or ``"test"``, the Environment Tuning split of BFCL's tasks.
        source_options: options of a registered source (``"synth"``: ``num_tasks``, ``seed``, ``knobs``).

    Example:
        >>> len(resolve_tasks("filesystem", category="base"))
        14
    """
    known = ("bundled", "bfcl", *_SOURCES)
    if task_source not in known:
        raise ValueError(f"task_source must be one of {', '.join(map(repr, known))}, got {task_source!r}")
    if source_options and task_source in ("bundled", "bfcl"):
        raise ValueError(f"{', '.join(source_options)}: options of task_source='synth', not {task_source!r}")
    categories = _categories(category)
    if task_source in _SOURCES:
        if not isinstance(tasks, str) or split is not None:
            raise ValueError(
                f"task_source={task_source!r} takes a set name (tasks='filesystem') and no split"
            )
        return _non_empty(_SOURCES[task_source](tasks, categories, source_options or {}))
    if isinstance(tasks, str) and is_task_file(tasks):
        if task_source != "bundled" or split is not None:
            raise ValueError("a task file is run as it is: give no task_source or split with it")
        selected = load_task_file(tasks)
        return _non_empty(tuple(t for t in selected if categories is None or t.category in categories))
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
    return _non_empty(tuple(selected))


def _non_empty(selected: tuple[Task, ...]) -> tuple[Task, ...]:
    if not selected:
        raise ValueError("no tasks to run: the task set is empty or the filters removed every task")
    return selected


def _categories(category: Category | Sequence[Category] | None) -> list[Category] | None:
    if category is None:
        return None
    wanted = [category] if isinstance(category, str) else list(category)
    unknown = sorted(set(wanted) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"unknown category {unknown}; choose from {', '.join(CATEGORIES)}")
    return wanted
