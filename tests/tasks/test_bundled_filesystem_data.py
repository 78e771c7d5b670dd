"""Checks on the bundled FileSystem task set (``envtune_gym/tasks/data/filesystem.json``).

Part (a) validates the data itself: every task loads as a :class:`Task`, ids are unique, each category holds at
least 12 tasks, the ground truth covers all 18 GorillaFileSystem tools, and the miss_func / miss_param turns
follow BFCL's conventions. Part (b) replays every task's ground truth on BFCL's reference ``GorillaFileSystem``
(when ``bfcl_eval`` is installed) and requires that no call errors.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

import envtune_gym
from envtune_gym.tasks.model import CATEGORIES, Task

DATA_FILE = Path(envtune_gym.__file__).resolve().parent / "tasks" / "data" / "filesystem.json"
DOMAIN = "GorillaFileSystem"
TOOLS = frozenset(
    {
        "pwd",
        "ls",
        "cd",
        "mkdir",
        "touch",
        "echo",
        "cat",
        "find",
        "wc",
        "sort",
        "grep",
        "du",
        "tail",
        "diff",
        "mv",
        "rm",
        "rmdir",
        "cp",
    }
)
MIN_PER_CATEGORY = 12
REFERENCE_MODULE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code.gorilla_file_system"


def _load_payload() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


PAYLOAD = _load_payload()
RAW_TASKS: list[dict[str, Any]] = PAYLOAD["tasks"]
TASKS: list[Task] = [Task.model_validate(item) for item in RAW_TASKS]
TASK_IDS = [task.id for task in TASKS]


def parse_call(call: str) -> tuple[str, dict[str, Any]]:
    """Split one ground-truth call string into its tool name and literal keyword arguments."""
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a plain call: {call!r}")
    if node.args:
        raise ValueError(f"positional arguments in {call!r}; the bundled data uses keyword arguments only")
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"**kwargs in {call!r}")
        kwargs[keyword.arg] = ast.literal_eval(keyword.value)  # raises ValueError on non-literals
    return node.func.id, kwargs


def tools_in(calls: list[str]) -> set[str]:
    return {parse_call(call)[0] for call in calls}


# ----------------------------------------------------------------------------------------------------------------
# (a) the data itself


def test_file_header() -> None:
    assert PAYLOAD["version"] == 1
    assert PAYLOAD["domain"] == DOMAIN
    assert set(PAYLOAD) == {"version", "domain", "tasks"}


def test_ids_unique_and_well_formed() -> None:
    duplicates = [task_id for task_id, count in Counter(TASK_IDS).items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    for task in TASKS:
        match = re.fullmatch(r"filesystem_(base|miss_func|miss_param|long_context)_(\d+)", task.id)
        assert match, f"bad id {task.id!r}"
        assert match.group(1) == task.category, f"{task.id}: id does not match category {task.category!r}"


def test_category_counts() -> None:
    counts = Counter(task.category for task in TASKS)
    for category in CATEGORIES:
        assert counts[category] >= MIN_PER_CATEGORY, f"only {counts[category]} {category} tasks"


def test_all_tools_covered() -> None:
    used = set().union(*(tools_in(calls) for task in TASKS for calls in task.ground_truth))
    assert used == TOOLS, f"missing: {sorted(TOOLS - used)}; unknown: {sorted(used - TOOLS)}"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_task_shape(task: Task) -> None:
    assert task.domains == [DOMAIN]
    assert set(task.initial_config) == {DOMAIN}
    roots = task.initial_config[DOMAIN]["root"]
    assert len(roots) == 1, "BFCL keeps only the first root entry; give exactly one"
    (root,) = roots.values()
    assert root["type"] == "directory"
    assert task.description, "give a one-line description"
    assert 2 <= task.num_turns <= 6
    for turn, calls in enumerate(task.ground_truth):
        assert len(calls) <= 5, f"turn {turn} has {len(calls)} calls"
        for call in calls:
            name, _ = parse_call(call)
            assert name in TOOLS, f"turn {turn}: unknown tool in {call!r}"


@pytest.mark.parametrize(
    "task", [t for t in TASKS if t.category in ("base", "long_context")], ids=lambda task: task.id
)
def test_base_and_long_context_turns_all_checked(task: Task) -> None:
    assert not task.held_out
    assert all(message.strip() for message in task.turns)
    assert task.checked_turns == list(range(task.num_turns))


@pytest.mark.parametrize("task", [t for t in TASKS if t.category == "miss_func"], ids=lambda task: task.id)
def test_miss_func_convention(task: Task) -> None:
    assert len(task.held_out) == 1, "one reveal per task, as in BFCL"
    ((reveal, hidden),) = task.held_out.items()
    assert reveal >= 1
    assert task.turns[reveal] == "", "the reveal turn's user message is empty"
    assert task.ground_truth[reveal - 1] == [], "the turn asking for the held-out tool has no ground truth"
    assert task.turns[reveal - 1].strip(), "the turn before the reveal asks for something"
    assert set(hidden) <= TOOLS
    assert set(hidden) <= tools_in(task.ground_truth[reveal]), "the reveal turn uses every revealed tool"
    for turn in range(reveal):
        assert not set(hidden) & tools_in(task.ground_truth[turn]), f"turn {turn} uses a tool still held out"
    other_turns = [turn for turn in range(task.num_turns) if turn not in (reveal - 1, reveal)]
    for turn in other_turns:
        assert task.turns[turn].strip(), f"turn {turn} has an empty message"
        assert task.ground_truth[turn], f"turn {turn} has no ground truth"


@pytest.mark.parametrize("task", [t for t in TASKS if t.category == "miss_param"], ids=lambda task: task.id)
def test_miss_param_convention(task: Task) -> None:
    assert not task.held_out
    assert all(message.strip() for message in task.turns)
    empty = [turn for turn, calls in enumerate(task.ground_truth) if not calls]
    assert empty, "a miss_param task needs an under-specified turn with empty ground truth"
    for turn in empty:
        assert turn + 1 < task.num_turns, f"empty-ground-truth turn {turn} is the last turn"
        assert task.ground_truth[turn + 1], (
            f"turn {turn + 1} should supply the missing detail and do the work"
        )


# ----------------------------------------------------------------------------------------------------------------
# (b) replay on BFCL's reference simulator


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_ground_truth_replays_without_errors(task: Task) -> None:
    reference = pytest.importorskip(
        REFERENCE_MODULE,
        reason="bfcl_eval is not installed (pip install --no-deps bfcl-eval==2026.3.23) to replay on BFCL's reference",
    )
    system = reference.GorillaFileSystem()
    system._load_scenario(deepcopy(task.initial_config[DOMAIN]), long_context=task.uses_long_context)
    for turn, calls in enumerate(task.ground_truth):
        for call in calls:
            name, kwargs = parse_call(call)
            try:
                result = getattr(system, name)(**kwargs)
            except Exception as exc:  # any exception means broken ground truth
                pytest.fail(f"turn {turn}: {call} raised {type(exc).__name__}: {exc}")
            if isinstance(result, dict) and "error" in result:
                pytest.fail(f"turn {turn}: {call} returned an error: {result['error']}")
