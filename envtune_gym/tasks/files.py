"""Task files: tasks as JSON lines (what ``envtune synth`` writes) or a JSON document, loaded and validated.

Example:
    >>> import tempfile, pathlib
    >>> from envtune_gym.tasks.bundled import load_bundled
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tasks.jsonl"
    >>> write_task_file(path, load_bundled("filesystem")[:3])
    3
    >>> [task.id for task in load_task_file(path)]
    ['filesystem_base_0', 'filesystem_base_1', 'filesystem_base_2']
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from envtune_gym.tasks.model import Task

#: Suffixes read as task files (anything else is a task-set name).
TASK_FILE_SUFFIXES: tuple[str, ...] = (".jsonl", ".json")


def is_task_file(name: str) -> bool:
    """Whether an env's ``tasks`` argument names a task file rather than a task set."""
    return name.endswith(TASK_FILE_SUFFIXES)


def load_task_file(path: str | Path) -> tuple[Task, ...]:
    """The tasks of a ``.jsonl`` file (one task per line) or a ``.json`` file (a list, or ``{"tasks": [...]}``).

    Raises:
        ValueError: the file is missing, not JSON, or a task is invalid; the message names the line or index.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read task file {str(path)!r}: {exc.strerror or exc}") from None
    if path.suffix == ".jsonl":
        items = [(f"line {number}", line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
        tasks = tuple(_task(path, where, _json(path, where, line)) for where, line in items)
    else:
        payload = _json(path, "the document", text)
        listed = payload.get("tasks") if isinstance(payload, dict) else payload
        if not isinstance(listed, list):
            raise ValueError(f'task file {str(path)!r}: expected a list of tasks or {{"tasks": [...]}}')
        tasks = tuple(_task(path, f"task {index}", item) for index, item in enumerate(listed))
    if not tasks:
        raise ValueError(f"task file {str(path)!r} holds no task")
    return tasks


def write_task_file(path: str | Path, tasks: Iterable[Task]) -> int:
    """Write tasks as JSON lines (``Task.model_dump(mode="json")``); returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for task in tasks:
            out.write(json.dumps(task.model_dump(mode="json"), ensure_ascii=False) + "\n")
            count += 1
    return count


def _json(path: Path, where: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"task file {str(path)!r}, {where}: not JSON ({exc})") from None


def _task(path: Path, where: str, item: Any) -> Task:
    try:
        return Task.model_validate(item)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "task"
        raise ValueError(f"task file {str(path)!r}, {where}: {field}: {first['msg']}") from None
