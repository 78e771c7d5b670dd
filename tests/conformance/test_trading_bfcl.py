"""Conformance of :class:`envtune_gym.domains.trading.TradingBot` with BFCL's ``TradingBot``.

Against the reference package (skipped when it is not installed):

* every ground-truth TradingBot call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings must be identical and the public states (and the RNGs) equal after every turn;
* scripted sequences for the quirks (order-id collisions, junk order keys, logged-out list results, dates);
* random call sequences (valid and invalid symbols, ids, amounts, dates; logins and logouts; repeated calls) on
  several scenarios: when the reference succeeds ours returns the same string, when it fails ours raises
  ToolError and changes nothing, and the states stay equal after every call.

The reference's logged-out ``get_watchlist``, ``get_order_history`` and ``get_transaction_history`` return
error *lists*; those count as failures (ours raise ToolError, a deliberate difference).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest

from envtune_gym.domains import trading as trading_module
from envtune_gym.domains.trading import TradingBot
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

#: Ground-truth TradingBot calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 203, "long_context": 203, "miss_func": 203, "miss_param": 203}
#: The reference's error lists (logged out): failures, like its error dicts.
ERROR_LIST_PREFIXES = ("['Error: ", "[{'error': ")


# ------------------------------------------------------------------------------------------------------------
# Helpers


def run_ref(reference: Any, name: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """The reference result and whether it failed: raised, returned an error dict, or an error list."""
    result, failed = bfcl.run_reference(reference, name, args, kwargs)
    return result, failed or result.startswith(ERROR_LIST_PREFIXES)


def snapshot(bot: Any) -> tuple:
    """A copy of the compared state (BFCL's rule: every public attribute, by ==) and the RNG's position."""
    return copy.deepcopy(bfcl.public_state(bot)), bot._random.getstate()


def assert_same_state(reference: Any, ours: TradingBot, where: str) -> None:
    theirs, ours_now = bfcl.public_state(reference), bfcl.public_state(ours)
    assert sorted(theirs) == sorted(ours_now), where
    for key, value in theirs.items():
        assert ours_now[key] == value, f"{where}: {key} differs"
    assert ours._random.getstate() == reference._random.getstate(), f"{where}: RNG out of step"


DOMAIN = bfcl.Conformance(
    "TradingBot", TradingBot, compare=assert_same_state, snapshot=snapshot, run_ref=run_ref
)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=151)


# ------------------------------------------------------------------------------------------------------------
# Scripted quirks: each sequence runs on both; results must agree call by call

QUIRK_CONFIGS = {
    "defaults": {},
    "scenario": {
        "orders": {
            "12345": {"symbol": "AAPL", "price": 210.65, "num_shares": 10, "status": "Completed"},
            "order_type": "Buy",
            "12400": {"symbol": "TSLA", "price": 667.92, "num_shares": 5, "status": "Pending"},
            "x12": {"id": "x12", "symbol": "NVDA", "status": "Open"},
        },
        "account_info": {"account_id": 7, "balance": 1000.0, "binding_card": 1},
        "authenticated": False,
        "market_status": "Open",
        "order_counter": 12400,
        "watch_list": ["NVDA", "AAPL", "NVDA"],
        "transaction_history": [
            {"symbol": "TSLA", "price": 667.92, "timestamp": "2024-09-01 00:00:00"},
            {"type": "deposit", "amount": 5, "timestamp": "2024-09-02 10:00:00"},
        ],
        "random_seed": 7,
    },
}

QUIRK_SEQUENCES = {
    "logged_out": [
        "get_watchlist()",
        "get_order_history()",
        "get_transaction_history()",
        "get_account_info()",
        "place_order('Buy', 'AAPL', 10, 1)",
        "fund_account(10)",
        "withdraw_funds(10)",
        "remove_stock_from_watchlist('NVDA')",
        "add_to_watchlist('AAPL')",
        "trading_logout()",
        "trading_get_login_status()",
        "get_order_details(12345)",
        "cancel_order(12345)",
        "trading_login('u', 'p')",
        "trading_login('u', 'p')",
        "trading_get_login_status()",
        "get_watchlist()",
        "trading_logout()",
    ],
    "orders_and_counter": [
        "trading_login('u', 'p')",
        "get_order_history()",
        "get_order_details(12446)",
        "place_order('Sell', 'GOOG', 1, 1)",
        "get_order_details(12446)",
        "get_order_details(12400)",
        "place_order('buy', 'AAPL', 100, 2)",
        "place_order('BUY', 'AAPL', 100.5, 100000)",
        "place_order('Hold', 'AAPL', 100.5, 100000)",
        "place_order('Buy', 'XYZ', 1, 1)",
        "place_order('Buy', 'AAPL', 0, 1)",
        "place_order('Buy', 'AAPL', 1, -1)",
        "place_order('Buy', 'AAPL', 1.5, 0.5)",
        "get_order_history()",
        "cancel_order(12345)",
        "cancel_order(12446)",
        "cancel_order(12446)",
        "cancel_order(12447)",
        "get_order_details(12447)",
        "get_order_details('12345')",
        "get_order_details('order_type')",
        "cancel_order('order_type')",
        "get_order_details('x12')",
        "cancel_order('x12')",
        "get_order_details(99999)",
        "cancel_order(99999)",
    ],
    "money_and_history": [
        "trading_login('u', 'p')",
        "withdraw_funds(100)",
        "fund_account(250.5)",
        "fund_account(0)",
        "fund_account(-3)",
        "withdraw_funds(0)",
        "withdraw_funds(1e9)",
        "withdraw_funds(10)",
        "fund_account(1)",
        "get_account_info()",
        "get_transaction_history()",
        "get_transaction_history('2024-09-02')",
        "get_transaction_history(None, '2024-09-02')",
        "get_transaction_history('2024-9-1', '2024-09-03')",
        "get_transaction_history('', '')",
        "get_transaction_history('09/01/2024')",
        "get_transaction_history(end_date='2024-02-30')",
        "get_transaction_history('2024-09-01 ')",
    ],
    "market_data": [
        "get_current_time()",
        "get_symbol_by_name('Apple')",
        "get_symbol_by_name('Amazon')",
        "get_symbol_by_name('apple')",
        "get_stock_info('AAPL')",
        "get_stock_info('AMZN')",
        "get_available_stocks('Technology')",
        "get_available_stocks('Automobile')",
        "get_available_stocks('technology')",
        "filter_stocks_by_price(['AAPL', 'GOOG', 'XYZ', 'ZETA'], 0, 300)",
        "filter_stocks_by_price(['AAPL', 'GOOG'], 300, 0)",
        "filter_stocks_by_price([], 0, 1)",
        "notify_price_change(['AAPL', 'GOOG', 'TSLA', 'XYZ'], 0.15)",
        "notify_price_change(['AAPL'], 5)",
        "notify_price_change([], 0)",
        "add_to_watchlist('AAPL')",
        "add_to_watchlist('GOOG')",
        "add_to_watchlist('XYZ')",
        "trading_login('u', 'p')",
        "get_watchlist()",
        "remove_stock_from_watchlist('NVDA')",
        "remove_stock_from_watchlist('NVDA')",
        "remove_stock_from_watchlist('XYZ')",
        "get_watchlist()",
    ],
}


@pytest.mark.parametrize("sequence", QUIRK_SEQUENCES)
@pytest.mark.parametrize("config", QUIRK_CONFIGS)
@pytest.mark.parametrize("long_context", [False, True], ids=["plain", "long_context"])
def test_scripted_quirks_match_bfcl(sequence: str, config: str, long_context: bool) -> None:
    bfcl.run_script(DOMAIN, QUIRK_CONFIGS[config], QUIRK_SEQUENCES[sequence], long_context)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker(bfcl.RandomCalls):
    """Random, well-typed calls (mostly) over what a scenario has, plus wrong and tricky values."""

    specs = DOMAIN.specs
    weights = {
        **dict.fromkeys(("trading_login", "trading_get_login_status", "trading_logout"), 1),
        **dict.fromkeys(("place_order", "cancel_order"), 3),
    }
    default_weight = 2

    SYMBOLS = ["AAPL", "GOOG", "TSLA", "NVDA", "ZETA", "XYZ", "AMZN", "aapl", "", "F"]
    NAMES = ["Apple", "Google", "Zeta Corp", "Quasar Ltd.", "Amazon", "Gorilla", "apple", "Unknown", ""]
    ORDER_TYPES = ["Buy", "Sell", "buy", "SELL", "Hold", ""]
    PRICES = [0, -5, 0.01, 1.5, 22, 100, 227.16, 700, 2840.34, 1e6]
    AMOUNTS = [0, -1, 1, 5, 10, 100, 1000, 10**6]
    MONEY = [0, -10, 0.01, 100, 500.5, 2203.4, 10000, 20000, 1e7]
    DATES = [None, "", "2024-09-01", "2024-09-02", "2024-9-2", "2024-09-03", "2023-01-01", "09/01/2024", "x"]
    SECTORS = ["Technology", "Automobile", "Energy", "technology", ""]
    BAD_NUMBERS = [math.nan, math.inf, -math.inf, 1e16, 10**13]

    def symbol(self) -> str:
        pool = [list(self.reference.stocks), list(self.reference.watch_list) or ["NVDA"], self.SYMBOLS]
        return self.rng.choice(self.rng.choice(pool))

    def symbols(self) -> list[str]:
        return [self.symbol() for _ in range(self.rng.randint(0, 5))]

    def order_id(self) -> Any:
        counter = self.reference.order_counter
        pool = [k for k in self.reference.orders if isinstance(k, int)] or [12345]
        extra = [counter, counter - 1, 12345, 12446, 99999, 0, -1]
        if self.rng.random() < 0.05:  # outside the schema, reachable only from Python
            return self.rng.choice(["12345", "order_type"])
        return self.rng.choice(pool + extra)

    def number(self, pool: list) -> Any:
        return self.rng.choice(self.BAD_NUMBERS if self.rng.random() < 0.03 else pool)

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        makers = {
            "get_current_time": dict,
            "get_symbol_by_name": lambda: {"name": rng.choice(self.NAMES)},
            "get_stock_info": lambda: {"symbol": self.symbol()},
            "get_available_stocks": lambda: {"sector": rng.choice(self.SECTORS)},
            "filter_stocks_by_price": lambda: {
                "stocks": self.symbols(),
                "min_price": rng.choice(self.PRICES),
                "max_price": rng.choice(self.PRICES),
            },
            "notify_price_change": lambda: {
                "stocks": self.symbols(),
                "threshold": rng.choice([0, 0.1, 0.12, 0.2, 0.5, -1]),
            },
            "get_order_details": lambda: {"order_id": self.order_id()},
            "cancel_order": lambda: {"order_id": self.order_id()},
            "place_order": lambda: {
                "order_type": rng.choice(self.ORDER_TYPES),
                "symbol": self.symbol(),
                "price": self.number(self.PRICES),
                "amount": self.number(self.AMOUNTS),
            },
            "get_order_history": dict,
            "trading_login": lambda: {"username": "user", "password": rng.choice(["pw", ""])},
            "trading_get_login_status": dict,
            "trading_logout": dict,
            "get_account_info": dict,
            "fund_account": lambda: {"amount": self.number(self.MONEY)},
            "withdraw_funds": lambda: {"amount": self.number(self.MONEY)},
            "get_transaction_history": lambda: {
                "start_date": rng.choice(self.DATES),
                "end_date": rng.choice(self.DATES),
            },
            "get_watchlist": dict,
            "add_to_watchlist": lambda: {"stock": self.symbol()},
            "remove_stock_from_watchlist": lambda: {"symbol": self.symbol()},
        }
        return makers[tool]()


def deliberate_deviation(reference: Any, ours: TradingBot, tool: str, bound: dict[str, Any]) -> bool:
    """Out-of-bounds money or shares (NaN, infinities, huge): ours refuses, BFCL may store them."""
    limits = {"price": trading_module.MAX_MONEY, "amount": trading_module.MAX_MONEY}
    if tool == "place_order":
        limits["amount"] = trading_module.MAX_SHARES
    elif tool not in ("fund_account", "withdraw_funds"):
        return False
    return any(key in bound and not abs(bound[key]) <= limit for key, limit in limits.items())


SEQUENCES, CALLS_PER_SEQUENCE = 60, 40
SCENARIOS = bfcl.scenarios(
    "TradingBot",
    {
        "base": ["multi_turn_base_100", "multi_turn_base_105", "multi_turn_base_112", "multi_turn_base_134"],
        "long_context": ["multi_turn_long_context_112", "multi_turn_long_context_132"],
    },
    extra=[("defaults", {}, False), ("quirk scenario", QUIRK_CONFIGS["scenario"], False)],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(
        DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE, deliberate_deviation
    )
    assert counts["agree_ok"] > 500 and counts["agree_error"] > 300 and counts["deviation"] > 0, counts
