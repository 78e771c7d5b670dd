"""Unit tests of the TradingBot re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import math
import os
import pickle
import subprocess
import sys
from importlib import resources
from typing import Any

import pytest

from envtune_gym.domains import domain_class
from envtune_gym.domains import trading as tmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.trading import TradingBot
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
#: A scenario shaped like BFCL's data: digit-string order keys, a junk "order_type" entry, orders without id.
SCENARIO = {
    "orders": {
        "12345": {"symbol": "AAPL", "price": 210.65, "num_shares": 10, "status": "Completed"},
        "order_type": "Buy",
        "12400": {"symbol": "TSLA", "price": 667.92, "num_shares": 5, "status": "Pending"},
    },
    "account_info": {"account_id": 7, "balance": 1000.0, "binding_card": 1},
    "authenticated": True,
    "market_status": "Open",
    "order_counter": 12401,
    "stocks": copy.deepcopy(tmod.DEFAULT_STOCKS),
    "watch_list": ["NVDA"],
    "transaction_history": [],
}
#: The first timestamps BFCL's default seed gives (checked against BFCL's own class).
FIRST_TIMESTAMPS = ["2024-09-02 05:40:15", "2024-09-01 12:26:34", "2024-09-02 04:29:48"]


def make(config: dict | None = None, long_context: bool = False) -> TradingBot:
    bot = TradingBot()
    bot.load_scenario(copy.deepcopy(SCENARIO if config is None else config), long_context)
    return bot


@pytest.fixture
def bot() -> TradingBot:
    return make()


def observe(bot: TradingBot) -> tuple:
    """Everything a failing call must leave alone: the compared state and the RNG's position."""
    return copy.deepcopy(bot.state()), bot._random.getstate()


def fails(bot: TradingBot, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(bot)
    with pytest.raises(ToolError) as info:
        getattr(bot, tool)(*args, **kwargs)
    assert observe(bot) == before, f"{tool} failed but changed the state"
    return str(info.value)


def long_data() -> dict[str, Any]:
    text = resources.files("envtune_gym.domains").joinpath("data/long_context_trading.json").read_text()
    return json.loads(text)


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata_and_registration() -> None:
    assert TradingBot.name == "TradingBot" and not TradingBot.stateless
    assert TradingBot.description.startswith("This tool belongs to the trading system,")
    assert domain_class("TradingBot") is TradingBot  # the module registers it


def test_defaults_when_the_scenario_is_empty() -> None:
    bot = make({})
    assert list(bot.state()) == [
        "orders", "account_info", "authenticated", "market_status", "order_counter", "stocks", "watch_list",
        "transaction_history", "long_context",
    ]  # fmt: skip
    assert list(bot.orders) == [12345, 12446] and bot.orders[12446]["status"] == "Pending"
    assert bot.account_info == {"account_id": 12345, "balance": 10000.0, "binding_card": 1974202140965533}
    assert (bot.authenticated, bot.market_status, bot.order_counter) == (False, "Closed", 12446)
    assert len(bot.stocks) == 11 and bot.stocks["TSLA"]["MA(20)"] == 668.2
    assert bot.watch_list == ["NVDA"] and bot.transaction_history == [] and bot.long_context is False
    assert TradingBot().state() == bot.state()  # a fresh instance starts from the defaults


def test_scenario_keys_are_taken_as_given_and_order_keys_converted() -> None:
    config = copy.deepcopy(SCENARIO)
    config["orders"]["12a"] = {"status": "Open"}
    bot = TradingBot()
    bot.load_scenario(config, long_context=True)
    assert list(bot.orders) == [12345, "order_type", 12400, "12a"]  # digit strings only become ints
    assert bot.orders["order_type"] == "Buy"  # BFCL's junk entry is kept
    assert bot.account_info is config["account_info"] and bot.stocks is config["stocks"]  # the caller's copy
    assert bot.orders[12345] is config["orders"]["12345"]
    assert bot.long_context is True


def test_random_seed_comes_from_the_scenario() -> None:
    default, seeded = make(), make({**SCENARIO, "random_seed": 7})
    assert [default.fund_account(1)["new_balance"] for _ in range(2)] == [1001.0, 1002.0]
    assert [t["timestamp"] for t in default.transaction_history] == FIRST_TIMESTAMPS[:2]
    seeded.fund_account(1)
    assert seeded.transaction_history[0]["timestamp"] != FIRST_TIMESTAMPS[0]
    assert "random_seed" not in default.state() and "_random" not in default.state()


def test_instances_and_module_defaults_share_nothing() -> None:
    defaults = copy.deepcopy(tmod.DEFAULT_STATE)
    first, second = make({}), make({})
    first.trading_login("u", "p")
    first.market_status = "Open"
    first.place_order("Sell", "AAPL", 1, 1)
    first.cancel_order(12446)  # the order just placed, under the default counter
    first.fund_account(5)
    first.withdraw_funds(2)
    first.add_to_watchlist("AAPL")
    first.stocks["AAPL"]["price"] = 1.0
    first.orders[12345]["status"] = "Changed"
    # results are copies: changing them changes nothing
    first.get_stock_info("GOOG")["price"] = 0
    first.get_account_info()["balance"] = 0
    first.get_watchlist()["watchlist"].append("X")
    first.get_order_details(12345)["status"] = "X"
    first.get_transaction_history()["transaction_history"][0]["amount"] = 0
    assert first.transaction_history[0]["amount"] == 5 and first.account_info["balance"] == 10003.0
    assert first.watch_list == ["NVDA", "AAPL"] and first.stocks["GOOG"]["price"] == 2840.34
    assert tmod.DEFAULT_STATE == defaults
    for other in (second, make({}), TradingBot()):
        assert other.state() == make({}).state()
        assert other.orders[12345]["status"] == "Completed" and other.stocks["AAPL"]["price"] == 227.16


def test_long_context_data_is_loaded_once_and_shaped() -> None:
    padding = TradingBot.long_context_padding()
    assert padding is TradingBot.long_context_padding()
    assert len(padding.ma5) == len(padding.ma20) == 2000
    assert len(padding.watch_list) == 1001 and padding.watch_list[-1] is Ellipsis
    assert len(padding.transactions) == 1000 and len(padding.order_metadata) == 8
    assert {name: len(symbols) for name, symbols in padding.sectors.items()} == {
        "Technology": 1000,
        "Automobile": 1000,
    }
    assert "BFCL" in long_data()["_source"] and "Apache-2.0" in long_data()["_source"]


def test_long_context_data_matches_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.long_context", reason=NO_BFCL)
    data = long_data()
    for name in ("MA_5_EXTENSION", "MA_20_EXTENSION", "ORDER_DETAIL_EXTENSION", "TECHNOLOGY_EXTENSION",
                 "AUTOMOBILE_EXTENSION", "TRANSACTION_HISTORY_EXTENSION"):  # fmt: skip
        assert data[name] == getattr(reference, name), name
    watch = [Ellipsis if symbol is None else symbol for symbol in data["WATCH_LIST_EXTENSION"]]
    assert watch == reference.WATCH_LIST_EXTENSION
    assert list(TradingBot.long_context_padding().watch_list) == reference.WATCH_LIST_EXTENSION


def test_defaults_match_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.trading_bot", reason=NO_BFCL)
    theirs = {key: value for key, value in reference.DEFAULT_STATE.items() if key != "random_seed"}
    assert tmod.DEFAULT_STATE == theirs and reference.DEFAULT_STATE["random_seed"] == tmod.DEFAULT_SEED
    assert reference.CURRENT_TIME == tmod.CURRENT_TIME


def test_timestamps_do_not_depend_on_the_timezone() -> None:
    code = (
        "import envtune_gym.domains.trading as m; b = m.TradingBot(); b.load_scenario({'authenticated': True}); "
        "b.fund_account(1); print(b.transaction_history[0]['timestamp'])"
    )
    for zone in ("UTC", "Asia/Kolkata", "America/Los_Angeles"):
        done = subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "TZ": zone}, capture_output=True, text=True
        )
        assert done.stdout.strip() == FIRST_TIMESTAMPS[0], zone


# ------------------------------------------------------------------------------------------------------------
# Market information


def test_current_time_and_symbols(bot: TradingBot) -> None:
    assert bot.get_current_time() == {"current_time": "10:30 AM"}
    assert bot.get_symbol_by_name("Quasar Ltd.") == {"symbol": "QUAS"}
    assert bot.get_symbol_by_name("Amazon") == {"symbol": "AMZN"}  # a symbol without stock data
    assert bot.get_symbol_by_name("apple") == {"symbol": "Stock not found"}  # case-sensitive; a result


def test_get_stock_info(bot: TradingBot) -> None:
    assert bot.get_stock_info("AAPL") == tmod.DEFAULT_STOCKS["AAPL"]
    message = fails(bot, "get_stock_info", "AMZN")
    assert "unknown stock symbol 'AMZN'" in message and "AAPL" in message and "get_symbol_by_name" in message
    info = make(long_context=True).get_stock_info("ZETA")
    assert list(info) == ["price", "percent_change", "volume", "MA(5)", "MA(20)"]
    assert info["price"] == 22.09 and info["MA(5)"] == list(TradingBot.long_context_padding().ma5)
    assert len(info["MA(20)"]) == 2000
    # The result string splices the averages' JSON, encoded once: byte-identical to json.dumps of the dict, and
    # independent of later calls (the caller may mutate what it got).
    assert serialize_result(info) == json.dumps(dict(info))
    info["MA(5)"].append(1.0)
    again = make(long_context=True).get_stock_info("NVDA")
    assert serialize_result(again) == json.dumps(dict(again)) and len(again["MA(5)"]) == 2000


def test_get_available_stocks(bot: TradingBot) -> None:
    assert bot.get_available_stocks("Technology") == {"stock_list": ["AAPL", "GOOG", "MSFT", "NVDA"]}
    assert bot.get_available_stocks("Automobile") == {"stock_list": ["TSLA", "F", "GM"]}
    assert bot.get_available_stocks("technology") == {"stock_list": []}
    long = make(long_context=True)
    technology = long.get_available_stocks("Technology")["stock_list"]
    assert len(technology) == 1004 and technology[:8] == ["AAPL", "GOOG", "MSFT", "NVDA"] * 2
    assert len(long.get_available_stocks("Automobile")["stock_list"]) == 1003
    assert long.get_available_stocks("Energy") == {"stock_list": []}
    assert len(long.get_available_stocks("Technology")["stock_list"]) == 1004  # nothing accumulates


def test_filter_stocks_by_price(bot: TradingBot) -> None:
    stocks = ["AAPL", "GOOG", "XYZ", "ZETA", "AAPL"]
    assert bot.filter_stocks_by_price(stocks, 0, 300) == {"filtered_stocks": ["AAPL", "XYZ", "ZETA", "AAPL"]}
    assert bot.filter_stocks_by_price(stocks, 22.09, 22.09) == {"filtered_stocks": ["ZETA"]}  # inclusive
    assert bot.filter_stocks_by_price(stocks, 300, 0) == {"filtered_stocks": []}
    assert "at most" in fails(bot, "filter_stocks_by_price", ["AAPL"] * (tmod.MAX_SYMBOLS + 1), 0, 1)


def test_notify_price_change(bot: TradingBot) -> None:
    assert bot.notify_price_change(["AAPL", "GOOG", "TSLA", "XYZ"], 0.17) == {
        "notification": "Stocks AAPL, GOOG have significant price changes."
    }
    assert bot.notify_price_change(["TSLA"], 0.12) == {
        "notification": "Stocks TSLA have significant price changes."  # |-0.12| counts
    }
    assert bot.notify_price_change([], 0) == {
        "notification": "No significant price changes in the selected stocks."
    }
    assert "at most" in fails(bot, "notify_price_change", ["AAPL"] * (tmod.MAX_SYMBOLS + 1), 0)


# ------------------------------------------------------------------------------------------------------------
# Orders


def test_get_order_details(bot: TradingBot) -> None:
    assert bot.get_order_details(12345) == SCENARIO["orders"]["12345"]  # scenario orders lack id and amount
    assert bot.get_order_details("order_type") == "Buy"  # the junk entry, reachable only from Python
    message = fails(bot, "get_order_details", 999)
    assert "no order with id 999" in message and "12345, 12400" in message and "get_order_history" in message
    assert "no order with id '12345'" in fails(bot, "get_order_details", "12345")  # exact key lookup
    long = make(long_context=True)
    details = long.get_order_details(12400)
    assert list(details) == ["symbol", "price", "num_shares", "status", "metadata"]
    assert (
        len(details["metadata"]) == 8 and "TSLA is one of the most" in details["metadata"]["company_overview"]
    )
    assert "{symbol}" not in "".join(details["metadata"].values())
    assert "names no stock" in fails(long, "get_order_details", "order_type")


def test_cancel_order(bot: TradingBot) -> None:
    assert bot.cancel_order(12400) == {"order_id": 12400, "status": "Cancelled"}
    assert bot.orders[12400]["status"] == "Cancelled"
    assert bot.cancel_order(12400) == {"order_id": 12400, "status": "Cancelled"}  # again: still a success
    assert "already completed" in fails(bot, "cancel_order", 12345)
    assert "no order with id 1" in fails(bot, "cancel_order", 1)
    assert "not an order" in fails(bot, "cancel_order", "order_type")
    bot.trading_logout()
    assert make({}).cancel_order(12446) == {"order_id": 12446, "status": "Cancelled"}  # no login needed


def test_place_order(bot: TradingBot) -> None:
    result = bot.place_order("Buy", "AAPL", 100, 5)
    assert result == {
        "order_id": 12401,
        "order_type": "Buy",
        "status": "Pending",
        "price": 100.0,
        "amount": 5,
    }
    assert serialize_result(result).endswith('"price": 100.0, "amount": 5}')
    assert bot.orders[12401] == {
        "id": 12401, "order_type": "Buy", "symbol": "AAPL", "price": 100.0, "amount": 5, "status": "Open"
    }  # fmt: skip
    assert bot.order_counter == 12402 and bot.account_info["balance"] == 1000.0  # not debited
    assert bot.place_order("buy", "GOOG", 200, 5)["order_id"] == 12402  # 'buy' in any case is a buy
    assert bot.place_order("Sell", "GOOG", 2840.34, 1000)["status"] == "Pending"  # sells need no funds
    assert bot.place_order("Hold", "GOOG", 1, 10**6)["order_type"] == "Hold"  # any type, as in BFCL
    message = fails(bot, "place_order", "BUY", "GOOG", 2840.34, 1)
    assert "$2840.34" in message and "$1000.00" in message and "fund_account" in message
    assert "unknown stock symbol 'XYZ'" in fails(bot, "place_order", "Buy", "XYZ", 1, 1)
    for price, amount in ((0, 1), (1, 0), (-1, 5)):
        assert "must both be positive" in fails(bot, "place_order", "Buy", "AAPL", price, amount)
    bot.trading_logout()
    assert "trading_login(username, password)" in fails(bot, "place_order", "Buy", "AAPL", 1, 1)


def test_place_order_overwrites_the_default_order_with_the_counters_id() -> None:
    bot = make({"authenticated": True})
    assert bot.orders[12446]["symbol"] == "GOOG"
    assert bot.place_order("Buy", "NVDA", 10, 1)["order_id"] == 12446
    assert list(bot.orders) == [12345, 12446] and bot.orders[12446]["symbol"] == "NVDA"
    assert bot.get_order_history() == {"history": [12345, 12446]}


def test_place_order_bounds(bot: TradingBot) -> None:
    for price in (math.nan, math.inf, tmod.MAX_MONEY * 10, 10**400):
        assert "finite number" in fails(bot, "place_order", "Sell", "AAPL", price, 1)
    assert "finite number" in fails(bot, "place_order", "Sell", "AAPL", 1, tmod.MAX_SHARES + 1)
    assert "'Buy' or 'Sell'" in fails(bot, "place_order", "B" * 101, "AAPL", 1, 1)
    bot.place_order("Sell", "AAPL", tmod.MAX_MONEY, tmod.MAX_SHARES)


def test_get_order_history(bot: TradingBot) -> None:
    assert bot.get_order_history() == {"history": [12345, "order_type", 12400]}  # junk keys included
    bot.trading_logout()
    assert "not logged in" in fails(bot, "get_order_history")  # BFCL returns a list with an error here


# ------------------------------------------------------------------------------------------------------------
# Account


def test_login_logout_and_status() -> None:
    bot = make({})
    assert bot.trading_get_login_status() == {"status": False}
    assert bot.trading_logout() == {"status": "No user is currently logged in"}
    assert bot.trading_login("any", "thing") == {"status": "Logged in successfully"}
    assert bot.trading_login("other", "") == {"status": "Already logged in"}
    assert bot.trading_get_login_status() == {"status": True} and bot.authenticated is True
    assert bot.trading_logout() == {"status": "Logged out successfully"} and bot.authenticated is False


def test_get_account_info(bot: TradingBot) -> None:
    assert bot.get_account_info() == SCENARIO["account_info"]
    bot.trading_logout()
    assert "trading_login" in fails(bot, "get_account_info")


def test_fund_account_draws_timestamps_even_when_closed(bot: TradingBot) -> None:
    bot.market_status = "Closed"
    assert bot.fund_account(250.5) == {"status": "Account funded successfully", "new_balance": 1250.5}
    assert bot.transaction_history == [{"type": "deposit", "amount": 250.5, "timestamp": FIRST_TIMESTAMPS[0]}]
    assert "must be positive" in fails(bot, "fund_account", 0)
    assert "must be positive" in fails(bot, "fund_account", -3)
    for amount in (math.nan, math.inf, tmod.MAX_MONEY * 2):
        assert "finite number" in fails(bot, "fund_account", amount)
    bot.fund_account(1)  # failures drew nothing: the next timestamp is the second one
    assert bot.transaction_history[-1]["timestamp"] == FIRST_TIMESTAMPS[1]
    bot.trading_logout()
    assert "not logged in" in fails(bot, "fund_account", 5)


def test_withdraw_funds(bot: TradingBot) -> None:
    assert bot.withdraw_funds(100) == {"status": "Withdrawal successful", "new_balance": 900.0}
    assert bot.fund_account(1) == {"status": "Account funded successfully", "new_balance": 901.0}
    assert [t["timestamp"] for t in bot.transaction_history] == FIRST_TIMESTAMPS[:2]  # one shared sequence
    assert bot.transaction_history[0] == {
        "type": "withdrawal",
        "amount": 100,
        "timestamp": FIRST_TIMESTAMPS[0],
    }
    assert "must be positive" in fails(bot, "withdraw_funds", 0)
    assert "balance is only 901.0" in fails(bot, "withdraw_funds", 901.5)
    assert "finite number" in fails(bot, "withdraw_funds", math.nan)
    bot.market_status = "Closed"
    message = fails(bot, "withdraw_funds", 1)
    assert "market is 'Closed'" in message and "fund_account" in message
    bot.trading_logout()
    assert "not logged in" in fails(bot, "withdraw_funds", 1)
    bot.trading_login("u", "p")
    bot.account_info = {"account_id": 1}
    bot.market_status = "Open"
    assert "no balance" in fails(bot, "withdraw_funds", 1)


def test_get_transaction_history(bot: TradingBot) -> None:
    for _ in range(3):
        bot.fund_account(1)
    first, second, third = bot.transaction_history
    assert bot.get_transaction_history() == {"transaction_history": [first, second, third]}
    assert bot.get_transaction_history("", "") == bot.get_transaction_history()  # empty means no bound
    assert bot.get_transaction_history("2024-09-02") == {"transaction_history": [first, third]}
    # end_date is midnight of that day: the day itself is left out
    assert bot.get_transaction_history(end_date="2024-09-02") == {"transaction_history": [second]}
    assert bot.get_transaction_history("2024-9-1", "2024-09-03") == bot.get_transaction_history()  # lenient
    for bad in ("09/01/2024", "2024-02-30", "2024-09-01 ", "x" * 100):
        assert "YYYY-MM-DD" in fails(bot, "get_transaction_history", bad)
        assert "YYYY-MM-DD" in fails(bot, "get_transaction_history", None, bad)
    bot.transaction_history.append({"type": "deposit"})
    assert "no valid timestamp" in fails(bot, "get_transaction_history")
    bot.trading_logout()
    assert "not logged in" in fails(bot, "get_transaction_history")  # BFCL returns a list with an error here


def test_long_context_transaction_history_is_padded_whatever_the_range() -> None:
    bot = make(long_context=True)
    bot.fund_account(2)
    history = bot.get_transaction_history(end_date="2020-01-01")["transaction_history"]
    assert len(history) == 1000 and history[0] == dict(TradingBot.long_context_padding().transactions[0])
    assert len(bot.get_transaction_history()["transaction_history"]) == 1001


# ------------------------------------------------------------------------------------------------------------
# Watch list


def test_watch_list(bot: TradingBot) -> None:
    assert bot.get_watchlist() == {"watchlist": ["NVDA"]}
    assert bot.add_to_watchlist("AAPL") == {"watchlist": ["NVDA", "AAPL"]}
    assert bot.add_to_watchlist("AAPL") == {"watchlist": ["NVDA", "AAPL"]}  # already listed: no change
    assert bot.add_to_watchlist("XYZ") == {"watchlist": ["NVDA", "AAPL"]}  # unknown: silently skipped
    assert bot.remove_stock_from_watchlist("NVDA") == {
        "status": "Stock NVDA removed from watchlist successfully."
    }
    message = fails(bot, "remove_stock_from_watchlist", "NVDA")
    assert "not on the watch list" in message and "AAPL" in message
    bot.trading_logout()
    assert bot.add_to_watchlist("GOOG") == {"watchlist": ["AAPL", "GOOG"]}  # no login needed, as in BFCL
    assert "not logged in" in fails(bot, "get_watchlist")  # BFCL returns a list with an error text here
    assert "not logged in" in fails(bot, "remove_stock_from_watchlist", "AAPL")


def test_long_context_watch_list_is_a_bare_list_ending_in_ellipsis() -> None:
    bot = make(long_context=True)
    watch = bot.get_watchlist()
    assert isinstance(watch, list) and len(watch) == 1002 and watch[0] == "NVDA" and watch[-1] is Ellipsis
    text = serialize_result(watch)
    assert text.startswith("['NVDA', 'JHGUN', ") and text.endswith("'ZRFRE', Ellipsis]")


# ------------------------------------------------------------------------------------------------------------
# Copying, schemas and the registry


def test_clone_and_pickle_keep_the_rng_position(bot: TradingBot) -> None:
    bot.fund_account(1)
    for clone in (bot.clone(), pickle.loads(pickle.dumps(bot))):
        assert clone.state() == bot.state() and clone.orders is not bot.orders
        clone.fund_account(1)
        assert clone.transaction_history[-1]["timestamp"] == FIRST_TIMESTAMPS[1]
    assert len(bot.transaction_history) == 1


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(TradingBot)}
    expected = {
        "get_current_time": [], "get_symbol_by_name": ["name"], "get_stock_info": ["symbol"],
        "get_order_details": ["order_id"], "cancel_order": ["order_id"],
        "place_order": ["order_type", "symbol", "price", "amount"], "withdraw_funds": ["amount"],
        "get_account_info": [], "trading_login": ["username", "password"], "trading_get_login_status": [],
        "trading_logout": [], "fund_account": ["amount"], "remove_stock_from_watchlist": ["symbol"],
        "get_watchlist": [], "get_order_history": [], "get_transaction_history": [],
        "get_available_stocks": ["sector"], "filter_stocks_by_price": ["stocks", "min_price", "max_price"],
        "add_to_watchlist": ["stock"], "notify_price_change": ["stocks", "threshold"],
    }  # fmt: skip
    assert sorted(specs) == sorted(expected) and len(specs) == 20
    for name, required in expected.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert specs[name].description.startswith(TradingBot.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    history = specs["get_transaction_history"]
    assert history.param_order == ("start_date", "end_date")
    assert {k: v["default"] for k, v in history.parameters["properties"].items()} == {
        "start_date": None,
        "end_date": None,
    }
    props = specs["place_order"].parameters["properties"]
    assert [props[p]["type"] for p in specs["place_order"].param_order] == [
        "string",
        "string",
        "number",
        "integer",
    ]
    assert specs["filter_stocks_by_price"].parameters["properties"]["stocks"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "The stock symbols to filter.",
    }


def test_registry_dispatch(bot: TradingBot) -> None:
    tools = ToolRegistry([bot])
    # A whole-number float for an integer parameter is refused before the tool runs (docs/envs.md).
    refused = tools.execute("place_order", tools.bind("place_order", ("Buy", "AAPL", 10, 2.0), {}))
    assert refused.error == "invalid_arguments"
    outcome = tools.execute("place_order", tools.bind("place_order", ("Buy", "AAPL", 10, 2), {}))
    assert outcome.error is None and outcome.result.endswith('"price": 10.0, "amount": 2}')
    assert tools.execute("get_order_details", {"order_id": "12401"}).error == "invalid_arguments"
    outcome = tools.execute("cancel_order", {"order_id": 12345})
    assert outcome.error == "tool_error" and "already completed" in json.loads(outcome.result)["error"]
    assert tools.execute("get_transaction_history", {"start_date": None}).error is None
    long = ToolRegistry([make(long_context=True)])
    assert long.execute("get_watchlist", {}).result.endswith(", Ellipsis]")
