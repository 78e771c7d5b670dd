"""Checks on the bundled TradingBot task set (``envtune_gym/tasks/data/trading.json``).

Part (a) validates the data itself: every task loads as a :class:`Task`, ids are unique, each category holds at
least 12 tasks, the ground truth covers all 20 TradingBot tools, the scenarios are complete and well-formed (no
BFCL data quirks such as junk order keys or an order counter that collides with an existing order), and the
miss_func / miss_param turns follow BFCL's conventions. Part (b) replays every task's ground truth on BFCL's
reference ``TradingBot`` (when ``bfcl_eval`` is installed) and requires that no call fails, that no call returns an
error-shaped result, and that the replay is deterministic (timestamps come from the class's seeded RNG).
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import envtune_gym
from envtune_gym.tasks.model import CATEGORIES, Task

DATA_FILE = Path(envtune_gym.__file__).resolve().parent / "tasks" / "data" / "trading.json"
DOMAIN = "TradingBot"
TOOLS = frozenset(
    {
        "get_current_time",
        "get_symbol_by_name",
        "get_stock_info",
        "get_order_details",
        "cancel_order",
        "place_order",
        "withdraw_funds",
        "get_account_info",
        "trading_login",
        "trading_get_login_status",
        "trading_logout",
        "fund_account",
        "remove_stock_from_watchlist",
        "get_watchlist",
        "get_order_history",
        "get_transaction_history",
        "get_available_stocks",
        "filter_stocks_by_price",
        "add_to_watchlist",
        "notify_price_change",
    }
)
#: Every scenario sets all state keys explicitly; ``random_seed`` is left out so BFCL's default seed applies.
CONFIG_KEYS = frozenset(
    {
        "orders",
        "account_info",
        "authenticated",
        "market_status",
        "order_counter",
        "stocks",
        "watch_list",
        "transaction_history",
    }
)
ORDER_KEYS = ("id", "order_type", "symbol", "price", "amount", "status")
STOCK_KEYS = ("price", "percent_change", "volume", "MA(5)", "MA(20)")
MIN_PER_CATEGORY = 12
MAX_CALLS_PER_TURN = 5


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


def error_shaped(text: str) -> bool:
    """Whether a BFCL result string reports a failure that is not an error dict (§0.2, §1.2)."""
    return (
        text.startswith("Error during execution")  # an exception
        or text.startswith("[{'error'")  # get_order_history / get_transaction_history when logged out
        or text.startswith("['Error")  # get_watchlist when logged out
        or text == "Stock not found"
        or '"Stock not found"' in text  # get_symbol_by_name with an unknown name
    )


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
        match = re.fullmatch(r"trading_(base|miss_func|miss_param|long_context)_(\d+)", task.id)
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
    sizes = [sum(map(len, task.ground_truth)) for task in TASKS]
    assert sum(size <= 2 for size in sizes) >= 4, "too few easy (1-2 call) tasks for a curriculum"
    assert sum(size >= 8 for size in sizes) >= 4, "too few long (8+ call) tasks"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_task_shape(task: Task) -> None:
    assert task.domains == [DOMAIN]
    assert set(task.initial_config) == {DOMAIN}
    assert task.description, "give a one-line description"
    assert 2 <= task.num_turns <= 6
    for turn, calls in enumerate(task.ground_truth):
        assert len(calls) <= MAX_CALLS_PER_TURN, f"turn {turn} has {len(calls)} calls"
        for call in calls:
            name, _ = split_call(call)
            assert name in TOOLS, f"turn {turn}: unknown tool in {call!r}"


@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_scenario_well_formed(task: Task) -> None:
    config = task.initial_config[DOMAIN]
    assert set(config) == CONFIG_KEYS, "set every state key explicitly (and no random_seed)"
    orders = config["orders"]
    assert orders, "give at least one existing order"
    for key, order in orders.items():
        assert key.isdigit(), f"order key {key!r} is not an order id (BFCL's junk 'order_type' entry?)"
        assert tuple(order) == ORDER_KEYS, f"order {key}: keys {tuple(order)}"
        assert order["id"] == int(key)
        assert order["order_type"] in ("Buy", "Sell")
        assert order["status"] in ("Open", "Pending", "Completed", "Cancelled")
        assert order["symbol"] in config["stocks"]
    assert config["order_counter"] > max(int(key) for key in orders), (
        "order_counter must not hit an existing id"
    )
    assert set(config["account_info"]) == {"account_id", "balance", "binding_card"}
    assert isinstance(config["account_info"]["balance"], float)
    assert isinstance(config["authenticated"], bool)
    assert config["market_status"] in ("Open", "Closed")
    for symbol, entry in config["stocks"].items():
        assert tuple(entry) == STOCK_KEYS, f"stock {symbol}: keys {tuple(entry)}"
    assert len(set(config["watch_list"])) == len(config["watch_list"])
    assert set(config["watch_list"]) <= set(config["stocks"])
    for record in config["transaction_history"]:
        assert set(record) == {"type", "amount", "timestamp"}
        assert record["type"] in ("deposit", "withdrawal")
        datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S")  # get_transaction_history parses it


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


def _replay(task: Task) -> tuple[list[tuple[int, str, str, bool]], dict[str, Any]]:
    """Run a task's ground truth on a fresh reference instance: (turn, call, result, failed) per call, end state."""
    pytest.importorskip(
        "bfcl_eval",
        reason="bfcl_eval is not installed (pip install --no-deps bfcl-eval==2026.3.23) to replay on BFCL's reference",
    )
    from tests.bfcl_support import parse_call, public_state, reference_class, run_reference

    bot = reference_class(DOMAIN)()
    bot._load_scenario(deepcopy(task.initial_config[DOMAIN]), long_context=task.uses_long_context)
    steps = []
    for turn, calls in enumerate(task.ground_truth):
        for call in calls:
            name, args, kwargs = parse_call(call)
            watched_before = list(bot.watch_list)
            text, failed = run_reference(bot, name, args, kwargs)
            if name == "add_to_watchlist" and not failed:
                # the reference silently ignores a symbol that is already listed or unknown
                failed = bot.watch_list == watched_before
            steps.append((turn, call, text, failed or error_shaped(text)))
    return steps, deepcopy(public_state(bot))


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_ground_truth_replays_without_errors(task: Task) -> None:
    steps, _ = _replay(task)
    for turn, call, text, failed in steps:
        if failed:
            pytest.fail(f"turn {turn}: {call} failed on the reference: {text[:300]}")


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TASKS, ids=TASK_IDS)
def test_ground_truth_replay_is_deterministic(task: Task) -> None:
    first_steps, first_state = _replay(task)
    second_steps, second_state = _replay(task)
    assert first_steps == second_steps
    assert first_state == second_state
