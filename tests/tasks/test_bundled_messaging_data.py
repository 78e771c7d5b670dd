"""Checks on the bundled MessageAPI task set (``envtune_gym/tasks/data/messaging.json``).

Part (a) validates the data itself: every task loads as a :class:`Task`, ids are unique, each category holds at
least 12 tasks, the ground truth covers all 10 MessageAPI tools, the miss_func / miss_param turns follow BFCL's
conventions, the initial states are self-consistent, and the literal values the calls need (message texts, names,
keywords) are spelled out by the user. Part (b) replays every task's ground truth on BFCL's reference
``MessageAPI`` (when ``bfcl_eval`` is installed): no call may fail, every user id a call uses must have been given
by the user or shown by an earlier result, and a second replay must give the same result strings (the message ids
come from the seeded RNG, bfcl-multiturn.md section 0.4).

MessageAPI ignores BFCL's long-context flag (section 1.9), so the long_context tasks carry their own long context:
large workspaces with many users and logged messages, which make results such as ``view_messages_sent`` long.
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

DATA_FILE = Path(envtune_gym.__file__).resolve().parent / "tasks" / "data" / "messaging.json"
DOMAIN = "MessageAPI"
TOOLS = frozenset(
    {
        "list_users",
        "get_user_id",
        "message_login",
        "message_get_login_status",
        "send_message",
        "delete_message",
        "view_messages_sent",
        "add_contact",
        "search_messages",
        "get_message_stats",
    }
)
#: Every config spells out the whole state except ``generated_ids`` (a set, not JSON) and ``random_seed`` (left
#: at BFCL's default 200191, as in all of BFCL's data), so no task depends on the class's default workspace.
CONFIG_KEYS = frozenset({"user_count", "user_map", "inbox", "message_count", "current_user"})
#: Arguments whose value must appear verbatim in the user's messages so far.
LITERAL_ARGUMENTS = {
    "send_message": "message",
    "add_contact": "user_name",
    "get_user_id": "user",
    "search_messages": "keyword",
}
#: Arguments holding a user id: given by the user, or shown by an earlier result of the same task.
ID_ARGUMENTS = {"send_message": "receiver_id", "delete_message": "receiver_id", "message_login": "user_id"}
USER_ID = re.compile(r"USR(\d{3})")
MIN_PER_CATEGORY = 12
MIN_LONG_CONTEXT_USERS = 20
MIN_LONG_CONTEXT_MESSAGES = 40


def _load_payload() -> dict[str, Any]:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


PAYLOAD = _load_payload()
RAW_TASKS: list[dict[str, Any]] = PAYLOAD["tasks"]
TASKS: list[Task] = [Task.model_validate(item) for item in RAW_TASKS]
TASK_IDS = [task.id for task in TASKS]


def split_call(call: str) -> tuple[str, dict[str, Any]]:
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
    return {split_call(call)[0] for call in calls}


def total_calls(task: Task) -> int:
    return sum(len(calls) for calls in task.ground_truth)


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
        match = re.fullmatch(r"messaging_(base|miss_func|miss_param|long_context)_(\d+)", task.id)
        assert match, f"bad id {task.id!r}"
        assert match.group(1) == task.category, f"{task.id}: id does not match category {task.category!r}"


def test_category_counts() -> None:
    counts = Counter(task.category for task in TASKS)
    for category in CATEGORIES:
        assert counts[category] >= MIN_PER_CATEGORY, f"only {counts[category]} {category} tasks"


def test_all_tools_covered() -> None:
    used = set().union(*(tools_in(calls) for task in TASKS for calls in task.ground_truth))
    assert used == TOOLS, f"missing: {sorted(TOOLS - used)}; unknown: {sorted(used - TOOLS)}"


def test_difficulty_spread() -> None:
    sizes = [total_calls(task) for task in TASKS]
    assert sum(size <= 2 for size in sizes) >= 4, "too few easy tasks (at most 2 calls) for a curriculum"
    assert sum(size >= 8 for size in sizes) >= 4, "too few long tasks (8 calls or more)"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_task_shape(task: Task) -> None:
    assert task.domains == [DOMAIN]
    assert set(task.initial_config) == {DOMAIN}
    assert task.description, "give a one-line description"
    assert 2 <= task.num_turns <= 6
    for turn, calls in enumerate(task.ground_truth):
        assert len(calls) <= 5, f"turn {turn} has {len(calls)} calls"
        for call in calls:
            name, _ = split_call(call)
            assert name in TOOLS, f"turn {turn}: unknown tool in {call!r}"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_initial_state_is_consistent(task: Task) -> None:
    config = task.initial_config[DOMAIN]
    assert set(config) == CONFIG_KEYS, f"give exactly {sorted(CONFIG_KEYS)}"
    user_map = config["user_map"]
    ids = list(user_map.values())
    assert len(set(ids)) == len(ids), "user ids must be unique"
    numbers = []
    for user_id in ids:
        match = USER_ID.fullmatch(user_id)
        assert match, f"bad user id {user_id!r}"
        numbers.append(int(match.group(1)))
    # add_contact hands out "USR" + the incremented user_count: it must not collide with an existing id
    assert config["user_count"] >= max(numbers), "user_count below an existing id: add_contact would collide"
    assert config["current_user"] is None or config["current_user"] in ids
    for entry in config["inbox"]:
        assert isinstance(entry, dict) and len(entry) == 1, f"inbox entries are single-key dicts: {entry!r}"
        ((receiver, message),) = entry.items()
        assert receiver in ids, f"inbox message to unknown id {receiver!r}"
        assert isinstance(message, str), "a non-string message makes search_messages raise"
    pairs = [tuple(entry.items())[0] for entry in config["inbox"]]
    assert len(set(pairs)) == len(pairs), "duplicate inbox entries make delete_message remove the older copy"
    assert config["message_count"] == len(config["inbox"])


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_literal_arguments_come_from_the_user(task: Task) -> None:
    known_names = set(task.initial_config[DOMAIN]["user_map"])
    for turn, calls in enumerate(task.ground_truth):
        said = "\n".join(task.turns[: turn + 1])
        for call in calls:
            name, kwargs = split_call(call)
            if name in LITERAL_ARGUMENTS:
                value = kwargs[LITERAL_ARGUMENTS[name]]
                assert value in said, f"turn {turn}: {value!r} of {call} is never spelled out by the user"
            if name == "add_contact":
                assert kwargs["user_name"] not in known_names, f"{call}: the contact already exists"
                known_names.add(kwargs["user_name"])
            if name == "get_user_id":
                assert kwargs["user"] in known_names, f"{call}: no such user"


@pytest.mark.parametrize("task", [t for t in TASKS if t.category == "long_context"], ids=lambda task: task.id)
def test_long_context_tasks_have_large_workspaces(task: Task) -> None:
    config = task.initial_config[DOMAIN]
    assert len(config["user_map"]) >= MIN_LONG_CONTEXT_USERS
    assert len(config["inbox"]) >= MIN_LONG_CONTEXT_MESSAGES


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


def _replay(task: Task) -> list[tuple[int, str, str, bool]]:
    """(turn, call, result string, failed) for every ground-truth call, run in order on a fresh reference."""
    pytest.importorskip(
        "bfcl_eval",
        reason="bfcl_eval is not installed (pip install --no-deps bfcl-eval==2026.3.23) to replay on BFCL's reference",
    )
    from tests.bfcl_support import parse_call, reference_class, run_reference

    instance = reference_class(DOMAIN)()
    instance._load_scenario(deepcopy(task.initial_config[DOMAIN]), long_context=task.uses_long_context)
    rows = []
    for turn, calls in enumerate(task.ground_truth):
        for call in calls:
            name, args, kwargs = parse_call(call)
            result, failed = run_reference(instance, name, args, kwargs)
            if name == "message_login" and not json.loads(result)["login_status"]:
                failed = True  # an unknown id is refused with a status flag instead of an error dict
            rows.append((turn, call, result, failed))
    return rows


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_ground_truth_replays_without_errors(task: Task) -> None:
    for turn, call, result, failed in _replay(task):
        assert not failed, f"turn {turn}: {call} failed: {result}"
        assert not result.startswith("Error during execution"), f"turn {turn}: {call} raised: {result}"


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_user_ids_are_given_or_shown_earlier(task: Task) -> None:
    seen = {turn: "\n".join(task.turns[: turn + 1]) for turn in range(task.num_turns)}
    results = ""
    for turn, call, result, _ in _replay(task):
        name, kwargs = split_call(call)
        if name in ID_ARGUMENTS:
            user_id = kwargs[ID_ARGUMENTS[name]]
            assert user_id in seen[turn] or user_id in results, (
                f"turn {turn}: {call} uses {user_id}, which neither the user nor an earlier result mentions"
            )
        results += result + "\n"


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_replay_is_deterministic(task: Task) -> None:
    assert _replay(task) == _replay(task)
