"""Task sets bundled with the package (``envtune_gym/tasks/data/<name>.json``), written for this project."""

from __future__ import annotations

import functools
import json
from importlib import resources

from envtune_gym.tasks.model import Task


def bundled_task_sets() -> list[str]:
    """Names of the bundled task sets, e.g. ``["filesystem"]``."""
    files = resources.files("envtune_gym.tasks").joinpath("data").iterdir()
    return sorted(path.name.removesuffix(".json") for path in files if path.name.endswith(".json"))


@functools.cache
def load_bundled(name: str) -> tuple[Task, ...]:
    """The tasks of one bundled set, validated.

    Example:
        >>> tasks = load_bundled("filesystem")
        >>> {task.category for task in tasks} == {"base", "miss_func", "miss_param", "long_context"}
        True
    """
    available = bundled_task_sets()
    if name not in available:
        raise ValueError(f"no bundled task set {name!r}; available: {', '.join(available)}")
    text = resources.files("envtune_gym.tasks").joinpath("data", f"{name}.json").read_text(encoding="utf-8")
    payload = json.loads(text)
    return tuple(Task.model_validate(item) for item in payload["tasks"])
