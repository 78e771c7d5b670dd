"""Checks common to every bundled task set (one per registered domain, e.g. ``tasks/data/trading.json``).

Part (a) validates the data itself: the file header, every task loads as a :class:`Task`, ids are unique and
well-formed, each category holds enough tasks, the ground truth covers exactly the set's tools with keyword-only
literal calls, every scenario sets exactly the set's state keys, there are enough easy and long tasks for a
curriculum, and the miss_func / miss_param turns follow BFCL's conventions. Part (b) replays every task's ground
truth on BFCL's reference class (when ``bfcl_eval`` is installed): no call may fail (by the set's own rule, see
``bundled_checks.py``), and a second replay gives the same results and the same end state.

The per-set parameters live in ``bundled_checks.SETS``; checks that concern one set only are in
``test_bundled_<set>_data.py``.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from envtune_gym.tasks.model import CATEGORIES, Task
from tests.tasks.bundled_checks import (
    TaskSet,
    replay,
    set_params,
    split_call,
    task_params,
    tools_in,
    total_calls,
)

# ----------------------------------------------------------------------------------------------------------------
# (a) the data itself


@pytest.mark.parametrize("task_set", set_params())
def test_file_header(task_set: TaskSet) -> None:
    assert task_set.payload["version"] == 1
    assert task_set.payload["domain"] == task_set.domain
    assert set(task_set.payload) == {"version", "domain", "tasks"}


@pytest.mark.parametrize("task_set", set_params())
def test_ids_unique_and_well_formed(task_set: TaskSet) -> None:
    duplicates = [task_id for task_id, count in Counter(task_set.task_ids).items() if count > 1]
    assert not duplicates, f"duplicate ids: {duplicates}"
    pattern = re.compile(rf"{re.escape(task_set.name)}_(base|miss_func|miss_param|long_context)_(\d+)")
    for task in task_set.tasks:
        match = pattern.fullmatch(task.id)
        assert match, f"bad id {task.id!r}"
        assert match.group(1) == task.category, f"{task.id}: id does not match category {task.category!r}"


@pytest.mark.parametrize("task_set", set_params())
def test_category_counts(task_set: TaskSet) -> None:
    counts = Counter(task.category for task in task_set.tasks)
    for category in CATEGORIES:
        assert counts[category] >= task_set.min_per_category, f"only {counts[category]} {category} tasks"


@pytest.mark.parametrize("task_set", set_params())
def test_all_tools_covered(task_set: TaskSet) -> None:
    used = set().union(*(tools_in(calls) for task in task_set.tasks for calls in task.ground_truth))
    tools = task_set.tools
    assert used == tools, f"missing: {sorted(tools - used)}; unknown: {sorted(used - tools)}"


@pytest.mark.parametrize("task_set", set_params(lambda task_set: task_set.difficulty is not None))
def test_difficulty_spread(task_set: TaskSet) -> None:
    assert task_set.difficulty is not None
    min_easy, min_long = task_set.difficulty
    sizes = [total_calls(task) for task in task_set.tasks]
    assert sum(size <= 2 for size in sizes) >= min_easy, "too few easy tasks (1-2 calls) for a curriculum"
    assert sum(size >= 8 for size in sizes) >= min_long, "too few long tasks (8+ calls)"


@pytest.mark.parametrize(("task_set", "task"), task_params())
def test_task_shape(task_set: TaskSet, task: Task) -> None:
    assert task.domains == [task_set.domain]
    assert set(task.initial_config) == {task_set.domain}
    config_keys = task_set.config_keys or set(task_set.tasks[0].initial_config[task_set.domain])
    assert set(task.initial_config[task_set.domain]) == config_keys, f"give exactly {sorted(config_keys)}"
    assert task.description, "give a one-line description"
    assert task_set.min_turns <= task.num_turns <= task_set.max_turns
    for turn, calls in enumerate(task.ground_truth):
        assert len(calls) <= task_set.max_calls_per_turn, f"turn {turn} has {len(calls)} calls"
        for call in calls:
            name, _ = split_call(call)  # raises on anything but literal keyword arguments
            assert name in task_set.tools, f"turn {turn}: unknown tool in {call!r}"


@pytest.mark.parametrize(("task_set", "task"), task_params("base", "long_context"))
def test_base_and_long_context_turns_all_checked(task_set: TaskSet, task: Task) -> None:
    assert not task.held_out
    assert all(message.strip() for message in task.turns)
    assert task.checked_turns == list(range(task.num_turns))


@pytest.mark.parametrize(("task_set", "task"), task_params("miss_func"))
def test_miss_func_convention(task_set: TaskSet, task: Task) -> None:
    assert len(task.held_out) == 1, "one reveal per task, as in BFCL"
    ((reveal, hidden),) = task.held_out.items()
    assert reveal >= 1
    assert task.turns[reveal] == "", "the reveal turn's user message is empty"
    assert task.ground_truth[reveal - 1] == [], "the turn asking for the held-out tool has no ground truth"
    assert task.turns[reveal - 1].strip(), "the turn before the reveal asks for something"
    assert set(hidden) <= task_set.tools
    assert set(hidden) <= tools_in(task.ground_truth[reveal]), "the reveal turn uses every revealed tool"
    for turn in range(reveal):
        assert not set(hidden) & tools_in(task.ground_truth[turn]), f"turn {turn} uses a tool still held out"
    other_turns = [turn for turn in range(task.num_turns) if turn not in (reveal - 1, reveal)]
    for turn in other_turns:
        assert task.turns[turn].strip(), f"turn {turn} has an empty message"
        assert task.ground_truth[turn], f"turn {turn} has no ground truth"


@pytest.mark.parametrize(("task_set", "task"), task_params("miss_param"))
def test_miss_param_convention(task_set: TaskSet, task: Task) -> None:
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
@pytest.mark.parametrize(("task_set", "task"), task_params())
def test_ground_truth_replays_without_errors(task_set: TaskSet, task: Task) -> None:
    steps, _ = replay(task_set, task)
    for turn, call, text, failed in steps:
        assert not text.startswith("Error during execution"), f"turn {turn}: {call} raised: {text[:300]}"
        assert not failed, f"turn {turn}: {call} failed on the reference: {text[:300]}"


@pytest.mark.bfcl
@pytest.mark.parametrize(("task_set", "task"), task_params())
def test_replay_is_deterministic(task_set: TaskSet, task: Task) -> None:
    first_steps, first_state = replay(task_set, task)
    second_steps, second_state = replay(task_set, task)
    assert first_steps == second_steps, "the replay's results are not deterministic"
    assert first_state == second_state, "the replay's end state is not deterministic"
