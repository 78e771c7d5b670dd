"""Checks particular to the bundled TradingBot task set (``envtune_gym/tasks/data/trading.json``).

The checks every set shares (header, ids, category counts, tool coverage, task shape and state keys, difficulty
spread, miss_func / miss_param conventions, the replay on BFCL's reference ``TradingBot`` with its failure rules
and determinism) are in ``test_bundled_data.py`` and ``bundled_checks.py``. Here: the scenarios are well-formed,
with none of BFCL's data quirks such as junk order keys or an order counter that collides with an existing order.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from envtune_gym.tasks.model import Task
from tests.tasks.bundled_checks import SETS

TRADING = SETS["trading"]
ORDER_KEYS = ("id", "order_type", "symbol", "price", "amount", "status")
STOCK_KEYS = ("price", "percent_change", "volume", "MA(5)", "MA(20)")


@pytest.mark.parametrize("task", TRADING.tasks, ids=TRADING.task_ids)
def test_scenario_well_formed(task: Task) -> None:
    config = task.initial_config[TRADING.domain]
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
