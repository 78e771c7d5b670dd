"""Checks particular to the bundled MessageAPI task set (``envtune_gym/tasks/data/messaging.json``).

The checks every set shares (header, ids, category counts, tool coverage, task shape and state keys, difficulty
spread, miss_func / miss_param conventions, the replay on BFCL's reference ``MessageAPI`` with its failure rules
and determinism) are in ``test_bundled_data.py`` and ``bundled_checks.py``. Here: the initial states are
self-consistent, the literal values the calls need (message texts, names, keywords) are spelled out by the user,
the long-context workspaces are large, and (on the reference, when ``bfcl_eval`` is installed) every user id a
call uses was given by the user or shown by an earlier result. The message ids of a replay come from the seeded
RNG (bfcl-multiturn.md section 0.4).

MessageAPI ignores BFCL's long-context flag (section 1.9), so the long_context tasks carry their own long context:
large workspaces with many users and logged messages, which make results such as ``view_messages_sent`` long.
"""

from __future__ import annotations

import re

import pytest

from envtune_gym.tasks.model import Task
from tests.tasks.bundled_checks import SETS, replay, split_call

MESSAGING = SETS["messaging"]
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
MIN_LONG_CONTEXT_USERS = 20
MIN_LONG_CONTEXT_MESSAGES = 40


@pytest.mark.parametrize("task", MESSAGING.tasks, ids=MESSAGING.task_ids)
def test_initial_state_is_consistent(task: Task) -> None:
    config = task.initial_config[MESSAGING.domain]
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


@pytest.mark.parametrize("task", MESSAGING.tasks, ids=MESSAGING.task_ids)
def test_literal_arguments_come_from_the_user(task: Task) -> None:
    known_names = set(task.initial_config[MESSAGING.domain]["user_map"])
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


@pytest.mark.parametrize("task", MESSAGING.where("long_context"), ids=lambda task: task.id)
def test_long_context_tasks_have_large_workspaces(task: Task) -> None:
    config = task.initial_config[MESSAGING.domain]
    assert len(config["user_map"]) >= MIN_LONG_CONTEXT_USERS
    assert len(config["inbox"]) >= MIN_LONG_CONTEXT_MESSAGES


@pytest.mark.bfcl
@pytest.mark.parametrize("task", MESSAGING.tasks, ids=MESSAGING.task_ids)
def test_user_ids_are_given_or_shown_earlier(task: Task) -> None:
    seen = {turn: "\n".join(task.turns[: turn + 1]) for turn in range(task.num_turns)}
    results = ""
    steps, _ = replay(MESSAGING, task)
    for turn, call, result, _ in steps:
        name, kwargs = split_call(call)
        if name in ID_ARGUMENTS:
            user_id = kwargs[ID_ARGUMENTS[name]]
            assert user_id in seen[turn] or user_id in results, (
                f"turn {turn}: {call} uses {user_id}, which neither the user nor an earlier result mentions"
            )
        results += result + "\n"
