"""Task sets bundled with the package (``envtune_gym/tasks/data/<name>.json``), written for this project, and
the task files that domains registered from outside the package declare (``register_domain(task_file=...)``).
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.resources.abc import Traversable

from envtune_gym.domains import registered_domains
from envtune_gym.tasks.model import Task

#: Validated tasks by task file: each file is read once.
_LOADED: dict[str, tuple[Task, ...]] = {}


def bundled_task_sets() -> list[str]:
    """Names of the task sets ``tasks=`` takes by name, e.g. ``["filesystem", ...]``.

    Example:
        >>> bundled_task_sets()[:2]
        ['filesystem', 'messaging']
    """
    return sorted(_task_files())


def task_file(name: str) -> Traversable:
    """The JSON file of a task set; ``ValueError`` naming the available ones if there is none."""
    files = _task_files()
    if name not in files:
        raise ValueError(f"no bundled task set {name!r}; available: {', '.join(sorted(files))}")
    return files[name]


def load_bundled(name: str) -> tuple[Task, ...]:
    """The tasks of one task set, validated.

    Example:
        >>> tasks = load_bundled("filesystem")
        >>> {task.category for task in tasks} == {"base", "miss_func", "miss_param", "long_context"}
        True
    """
    source = task_file(name)
    key = str(source)  # by path: a set's name may later name another file (a domain registered again)
    if key not in _LOADED:
        payload = json.loads(source.read_text(encoding="utf-8"))
        _LOADED[key] = tuple(Task.model_validate(item) for item in payload["tasks"])
    return _LOADED[key]


def _task_files() -> dict[str, Traversable]:
    data = resources.files("envtune_gym.tasks").joinpath("data")
    files = {path.name.removesuffix(".json"): path for path in data.iterdir() if path.name.endswith(".json")}
    for spec in registered_domains():
        if spec.task_set is not None and spec.task_file is not None:
            files[spec.task_set] = spec.task_file
    return files
