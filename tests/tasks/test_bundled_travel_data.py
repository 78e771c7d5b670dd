"""Checks on the bundled TravelAPI task set (``envtune_gym/tasks/data/travel.json``).

Part (a) validates the data itself: every task loads as a :class:`Task`, ids are unique, each category holds at
least 12 tasks, the ground truth covers all 18 TravelAPI tools, the miss_func / miss_param turns follow BFCL's
conventions, and nothing depends on today's date (traveller checks use birth dates far in the past). Part (b)
replays every task's ground truth on BFCL's reference ``TravelAPI`` (when ``bfcl_eval`` is installed): no call
may fail, the replay is deterministic (ids come from the default-seeded RNG), and long-context replays leave
BFCL's module-level extension cards and bookings untouched.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import envtune_gym
from envtune_gym.tasks.model import CATEGORIES, Task

DATA_FILE = Path(envtune_gym.__file__).resolve().parent / "tasks" / "data" / "travel.json"
DOMAIN = "TravelAPI"
TOOLS = frozenset(
    {
        "authenticate_travel",
        "travel_get_login_status",
        "get_budget_fiscal_year",
        "register_credit_card",
        "get_flight_cost",
        "get_credit_card_balance",
        "book_flight",
        "retrieve_invoice",
        "get_booking_history",
        "list_all_airports",
        "cancel_booking",
        "compute_exchange_rate",
        "verify_traveler_information",
        "set_budget_limit",
        "get_nearest_airport_by_city",
        "purchase_insurance",
        "contact_customer_support",
        "get_all_credit_cards",
    }
)
#: The nine keys every BFCL TravelAPI scenario sets; no ``random_seed``, so the default seed 141053 applies.
CONFIG_KEYS = frozenset(
    {
        "credit_card_list",
        "booking_record",
        "access_token",
        "token_type",
        "token_expires_in",
        "token_scope",
        "user_first_name",
        "user_last_name",
        "budget_limit",
    }
)
CARD_KEYS = frozenset(
    {"card_number", "expiration_date", "cardholder_name", "card_verification_number", "balance"}
)
BOOKING_KEYS = frozenset(
    {"card_id", "travel_date", "travel_from", "travel_to", "travel_class", "travel_cost", "transaction_id"}
)
MIN_PER_CATEGORY = 12
#: Latest birth year allowed in verify_traveler_information: the traveller is an adult for any date after 2019.
LATEST_BIRTH_YEAR = 2000


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
        match = re.fullmatch(r"travel_(base|miss_func|miss_param|long_context)_(\d+)", task.id)
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
    sizes = [sum(len(calls) for calls in task.ground_truth) for task in TASKS]
    assert sum(size <= 2 for size in sizes) >= 8, "too few easy tasks (1-2 calls)"
    assert sum(size >= 8 for size in sizes) >= 4, "too few long tasks (8+ calls)"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_task_shape(task: Task) -> None:
    assert task.domains == [DOMAIN]
    assert set(task.initial_config) == {DOMAIN}
    config = task.initial_config[DOMAIN]
    assert set(config) == CONFIG_KEYS, "give the nine TravelAPI keys and no random_seed"
    for card_id, card in config["credit_card_list"].items():
        assert set(card) == CARD_KEYS, f"card {card_id}: keys {sorted(card)}"
    for booking_id, booking in config["booking_record"].items():
        assert set(booking) == BOOKING_KEYS, f"booking {booking_id}: keys {sorted(booking)}"
        assert booking["card_id"] in config["credit_card_list"], f"booking {booking_id}: unknown card"
    assert task.description, "give a one-line description"
    assert 2 <= task.num_turns <= 6
    for turn, calls in enumerate(task.ground_truth):
        assert len(calls) <= 5, f"turn {turn} has {len(calls)} calls"
        for call in calls:
            name, _ = split_call(call)
            assert name in TOOLS, f"turn {turn}: unknown tool in {call!r}"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_no_dependence_on_todays_date(task: Task) -> None:
    for calls in task.ground_truth:
        for call in calls:
            name, kwargs = split_call(call)
            if name == "verify_traveler_information":
                year = int(kwargs["date_of_birth"][:4])
                assert year <= LATEST_BIRTH_YEAR, f"{call}: the age check would depend on today's date"


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


def _bfcl_support() -> Any:
    pytest.importorskip(
        "bfcl_eval",
        reason="bfcl_eval is not installed (pip install --no-deps bfcl-eval==2026.3.23) to replay on BFCL's reference",
    )
    from tests import bfcl_support

    return bfcl_support


def _replay(support: Any, task: Task) -> list[list[str]]:
    """Run the ground truth on a fresh reference instance; fail on the first failing call. Returns the results."""
    system = support.reference_class(DOMAIN)()
    system._load_scenario(copy.deepcopy(task.initial_config[DOMAIN]), long_context=task.uses_long_context)
    results: list[list[str]] = []
    for turn, calls in enumerate(task.ground_truth):
        results.append([])
        for call in calls:
            name, args, kwargs = support.parse_call(call)
            text, failed = support.run_reference(system, name, args, kwargs)
            if failed:
                pytest.fail(f"turn {turn}: {call} failed: {text}")
            if '"verification_status": false' in text:
                pytest.fail(f"turn {turn}: {call} did not verify: {text}")
            results[-1].append(text)
    return results


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_ground_truth_replays_without_errors(task: Task) -> None:
    support = _bfcl_support()
    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context

    extensions = copy.deepcopy((long_context.CREDIT_CARD_EXTENSION, long_context.BOOKING_RECORD_EXTENSION))
    first = _replay(support, task)
    assert _replay(support, task) == first, "the replay is not deterministic"
    after = (long_context.CREDIT_CARD_EXTENSION, long_context.BOOKING_RECORD_EXTENSION)
    assert after == extensions, "the ground truth changed BFCL's shared long-context cards or bookings"
