"""Loader for BFCL's multi-turn tasks (the ``BFCL_v4_multi_turn_*`` files of ``bfcl-eval``, the v3 set).

The data is read as JSON from an installed ``bfcl-eval`` (located without importing it, so none of its heavy
dependencies are needed) or from a directory holding the same files. Install it with
``pip install --no-deps bfcl-eval==2026.3.23``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from envtune_gym.actions import parse_python_calls
from envtune_gym.tasks.model import CATEGORIES, Category, Task

#: The file holding each category's questions (answers are under ``possible_answer/`` with the same name).
BFCL_FILES: dict[Category, str] = {category: f"BFCL_v4_multi_turn_{category}.json" for category in CATEGORIES}

INSTALL_HINT = "pip install --no-deps bfcl-eval==2026.3.23"

Split = Literal["train", "test"]
#: Scenarios per category in BFCL's multi-turn set; task ``multi_turn_<category>_<i>`` is scenario ``i``.
SCENARIOS_PER_CATEGORY = 200
#: The Environment Tuning protocol's seed: ``random.seed(42); random.shuffle(range(200))``, first half for training.
SPLIT_SEED = 42


@functools.cache
def split_indices(split: Split) -> frozenset[int]:
    """Scenario indices of the Environment Tuning split (env-tuning-method.md §7), the same in every category.

    The first 100 of ``range(200)`` shuffled with seed 42 train, the other 100 test. Since
    ``multi_turn_{miss_func,miss_param,long_context}_i`` are variants of ``multi_turn_base_i``, using the same
    indices in every category keeps test scenarios out of training entirely.

    Example:
        >>> sorted(split_indices("train"))[:6], len(split_indices("test"))
        ([0, 2, 3, 5, 10, 12], 100)
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    order = list(range(SCENARIOS_PER_CATEGORY))
    random.Random(SPLIT_SEED).shuffle(order)
    half = SCENARIOS_PER_CATEGORY // 2
    return frozenset(order[:half] if split == "train" else order[half:])


class BFCLDataNotFound(FileNotFoundError):
    """BFCL's data is neither installed nor in the given directory."""


def find_bfcl_data_dir(data_dir: str | Path | None = None) -> Path:
    """The directory holding BFCL's multi-turn JSON files: ``data_dir`` if given, else the installed package's."""
    if data_dir is not None:
        path = Path(data_dir)
        if not (path / BFCL_FILES["base"]).is_file():
            raise BFCLDataNotFound(
                f"{path} does not hold {BFCL_FILES['base']}; point data_dir at bfcl_eval/data"
            )
        return path
    spec = importlib.util.find_spec("bfcl_eval")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise BFCLDataNotFound(f"BFCL's tasks need the bfcl-eval package: {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "data"
    if not (path / BFCL_FILES["base"]).is_file():
        raise BFCLDataNotFound(
            f"bfcl-eval at {path.parent} has no multi-turn data; reinstall: {INSTALL_HINT}"
        )
    return path


def load_bfcl_tasks(
    category: Category | Iterable[Category] | None = None,
    *,
    domains: Iterable[str] | None = None,
    split: Split | None = None,
    data_dir: str | Path | None = None,
) -> tuple[Task, ...]:
    """BFCL's multi-turn tasks as :class:`Task` objects, in BFCL's order.

    Args:
        category: one category or several (default: all four).
        domains: keep only tasks whose involved classes are all in this set (e.g. ``{"GorillaFileSystem"}``).
        split: ``"train"`` or ``"test"``: the Environment Tuning split (see :func:`split_indices`).
        data_dir: a directory of BFCL's JSON files instead of the installed package's.

    Example:
        >>> tasks = load_bfcl_tasks("base")  # doctest: +SKIP
        >>> len(tasks), tasks[0].id  # doctest: +SKIP
        (200, 'multi_turn_base_0')
    """
    categories = _categories(category)
    root = find_bfcl_data_dir(data_dir)
    tasks = [task for name in categories for task in _load_category(str(root), name)]
    if domains is not None:
        allowed = set(domains)
        tasks = [task for task in tasks if set(task.domains) <= allowed]
    if split is not None:
        indices = split_indices(split)
        tasks = [task for task in tasks if scenario_index(task.id) in indices]
    return tuple(tasks)


def scenario_index(task_id: str) -> int:
    """The scenario number of a BFCL task id: ``scenario_index("multi_turn_miss_func_17") == 17``."""
    return int(task_id.rsplit("_", 1)[1])


def _categories(category: Category | Iterable[Category] | None) -> list[Category]:
    if category is None:
        return list(CATEGORIES)
    chosen = [category] if isinstance(category, str) else list(category)
    unknown = [name for name in chosen if name not in CATEGORIES]
    if unknown:
        raise ValueError(f"unknown BFCL category {unknown}; choose from {', '.join(CATEGORIES)}")
    return chosen


@functools.cache
def _load_category(root: str, category: Category) -> tuple[Task, ...]:
    questions = _read_jsonl(Path(root) / BFCL_FILES[category])
    answers = {
        entry["id"]: entry["ground_truth"]
        for entry in _read_jsonl(Path(root) / "possible_answer" / BFCL_FILES[category])
    }
    return tuple(bfcl_entry_to_task(entry, answers[entry["id"]]) for entry in questions)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def bfcl_entry_to_task(entry: dict[str, Any], ground_truth: list[list[str]]) -> Task:
    """One BFCL entry (question file row) and its ground truth as a :class:`Task`.

    Each BFCL turn holds one user message or none (miss_func reveal turns); configs of classes the entry does not
    involve are dropped, as BFCL never loads them.
    """
    category = entry["id"].removeprefix("multi_turn_").rsplit("_", 1)[0]
    involved = list(entry["involved_classes"])
    held_out, note = _consistent_held_out(entry, ground_truth)
    return Task(
        id=entry["id"],
        category=category,
        domains=involved,
        initial_config={
            name: config for name, config in entry.get("initial_config", {}).items() if name in involved
        },
        turns=[_turn_text(messages) for messages in entry["question"]],
        ground_truth=ground_truth,
        held_out=held_out,
        description=note,
    )


def _consistent_held_out(
    entry: dict[str, Any], ground_truth: list[list[str]]
) -> tuple[dict[int, list[str]], str]:
    """BFCL's held-out functions, less any its own ground truth calls before their reveal.

    BFCL hides held-out functions only from the prompt and still runs them if called; here they are unknown until
    revealed, so a ground truth that uses one early could never pass. One task does (``multi_turn_miss_func_49``
    calls ``tail`` in turn 1, held out until turn 3): such a function is available from the start instead.
    """
    held_out = {int(turn): list(names) for turn, names in entry.get("missed_function", {}).items()}
    notes = []
    for reveal, names in held_out.items():
        used_before = {
            call.name
            for calls in ground_truth[:reveal]
            for text in calls
            for call in parse_python_calls(text)
        }
        early = [name for name in names if name in used_before]
        if early:
            held_out[reveal] = [name for name in names if name not in used_before]
            notes.append(
                f"not held out (BFCL's ground truth calls them before turn {reveal}): {', '.join(early)}"
            )
    return {turn: names for turn, names in held_out.items() if names}, "; ".join(notes)


def _turn_text(messages: list[dict[str, str]]) -> str:
    return "\n\n".join(message["content"] for message in messages if message.get("role") == "user")
