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
import importlib.metadata
import math
import random
from typing import Any

import pytest

bfcl_eval = pytest.importorskip(
    "bfcl_eval", reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)

from envtune_gym.domains import trading as trading_module  # noqa: E402
from envtune_gym.domains.base import ToolError  # noqa: E402
from envtune_gym.domains.trading import TradingBot  # noqa: E402
from envtune_gym.tools import tool_specs  # noqa: E402
from tests.bfcl_support import (  # noqa: E402
    CATEGORIES,
    load_category,
    parse_call,
    public_state,
    reference_class,
    run_ours,
    run_reference,
)

pytestmark = pytest.mark.bfcl

SPECS = {spec.name: spec for spec in tool_specs(TradingBot)}
#: Ground-truth TradingBot calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 203, "long_context": 203, "miss_func": 203, "miss_param": 203}
PINNED = importlib.metadata.version("bfcl-eval") == "2026.3.23"
#: The reference's error lists (logged out): failures, like its error dicts.
ERROR_LIST_PREFIXES = ("['Error: ", "[{'error': ")


# ------------------------------------------------------------------------------------------------------------
# Helpers


def build_pair(config: dict, long_context: bool) -> tuple[Any, TradingBot]:
    reference = reference_class("TradingBot")()
    reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = TradingBot()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


def run_ref(reference: Any, name: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """The reference result and whether it failed: raised, returned an error dict, or an error list."""
    result, failed = run_reference(reference, name, args, kwargs)
    return result, failed or result.startswith(ERROR_LIST_PREFIXES)


def snapshot(bot: Any) -> tuple:
    """A copy of the compared state (BFCL's rule: every public attribute, by ==) and the RNG's position."""
    return copy.deepcopy(public_state(bot)), bot._random.getstate()


def assert_same_state(reference: Any, ours: TradingBot, where: str) -> None:
    theirs, ours_now = public_state(reference), public_state(ours)
    assert sorted(theirs) == sorted(ours_now), where
    for key, value in theirs.items():
        assert ours_now[key] == value, f"{where}: {key} differs"
    assert ours._random.getstate() == reference._random.getstate(), f"{where}: RNG out of step"


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = 0
    for entry, turns in load_category(category, "TradingBot"):
        config = entry["initial_config"].get("TradingBot", {})
        reference, ours = build_pair(config, long_context=category == "long_context")
        assert_same_state(reference, ours, f"{entry['id']} after loading")
        for number, turn in enumerate(turns):
            for call in turn:
                name, args, kwargs = parse_call(call)
                if name not in SPECS:
                    continue  # another class's call
                expected, failed = run_ref(reference, name, args, kwargs)
                assert not failed, f"{entry['id']}: the ground truth itself failed: {call} -> {expected}"
                got, _ = run_ours(ours, name, args, kwargs)
                assert got == expected, f"{entry['id']} turn {number}: {call}"
                compared += 1
            assert_same_state(reference, ours, f"{entry['id']} after turn {number}")
    if PINNED:
        assert compared == EXPECTED_CALLS[category], f"compared {compared} GT calls in {category}"
    assert compared > 150, f"compared only {compared} GT calls in {category}"


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
    reference, ours = build_pair(QUIRK_CONFIGS[config], long_context)
    for call in QUIRK_SEQUENCES[sequence]:
        name, args, kwargs = parse_call(call)
        before = snapshot(ours)
        expected, failed = run_ref(reference, name, args, kwargs)
        got, our_failed = run_ours(ours, name, args, kwargs)
        assert our_failed == failed, f"{call}: reference {expected!r}, ours {got!r}"
        if failed:
            assert snapshot(ours) == before, f"{call} failed but changed the state"
        else:
            assert got == expected, call
        assert_same_state(reference, ours, call)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker:
    """Random, well-typed calls (mostly) over what a scenario has, plus wrong and tricky values."""

    SYMBOLS = ["AAPL", "GOOG", "TSLA", "NVDA", "ZETA", "XYZ", "AMZN", "aapl", "", "F"]
    NAMES = ["Apple", "Google", "Zeta Corp", "Quasar Ltd.", "Amazon", "Gorilla", "apple", "Unknown", ""]
    ORDER_TYPES = ["Buy", "Sell", "buy", "SELL", "Hold", ""]
    PRICES = [0, -5, 0.01, 1.5, 22, 100, 227.16, 700, 2840.34, 1e6]
    AMOUNTS = [0, -1, 1, 5, 10, 100, 1000, 10**6]
    MONEY = [0, -10, 0.01, 100, 500.5, 2203.4, 10000, 20000, 1e7]
    DATES = [None, "", "2024-09-01", "2024-09-02", "2024-9-2", "2024-09-03", "2023-01-01", "09/01/2024", "x"]
    SECTORS = ["Technology", "Automobile", "Energy", "technology", ""]
    BAD_NUMBERS = [math.nan, math.inf, -math.inf, 1e16, 10**13]

    def __init__(self, rng: random.Random, reference: Any) -> None:
        self.rng = rng
        self.reference = reference

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

    def call(self) -> tuple[str, list, dict]:
        tools = list(SPECS)
        weights = [
            1 if t.startswith("trading_") else 3 if t in ("place_order", "cancel_order") else 2 for t in tools
        ]
        tool = self.rng.choices(tools, weights)[0]
        kwargs = self.arguments(tool)
        cut = self.rng.randint(0, len(kwargs))  # some arguments by position, in the tool's order
        order = SPECS[tool].param_order
        return tool, [kwargs.pop(p) for p in order[:cut]], kwargs


def deliberate_deviation(tool: str, args: list, kwargs: dict) -> bool:
    """Out-of-bounds money or shares (NaN, infinities, huge): ours refuses, BFCL may store them."""
    bound = dict(zip(SPECS[tool].param_order, args, strict=False), **kwargs)
    limits = {"price": trading_module.MAX_MONEY, "amount": trading_module.MAX_MONEY}
    if tool == "place_order":
        limits["amount"] = trading_module.MAX_SHARES
    elif tool not in ("fund_account", "withdraw_funds"):
        return False
    return any(key in bound and not abs(bound[key]) <= limit for key, limit in limits.items())


SEQUENCES, CALLS_PER_SEQUENCE = 60, 40


def _scenarios() -> list[tuple[str, dict, bool]]:
    wanted = {
        "base": ["multi_turn_base_100", "multi_turn_base_105", "multi_turn_base_112", "multi_turn_base_134"],
        "long_context": ["multi_turn_long_context_112", "multi_turn_long_context_132"],
    }
    found = [("defaults", {}, False), ("quirk scenario", QUIRK_CONFIGS["scenario"], False)]
    for category, ids in wanted.items():
        for entry, _ in load_category(category, "TradingBot"):
            if entry["id"] in ids:
                found.append((entry["id"], entry["initial_config"]["TradingBot"], category == "long_context"))
    assert len(found) == 8
    return found


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s[0])
def test_random_call_sequences_agree_with_bfcl(scenario: tuple[str, dict, bool]) -> None:
    label, config, long_context = scenario
    counts = {"agree_ok": 0, "agree_error": 0, "deviation": 0}
    for seed in range(SEQUENCES):
        rng = random.Random(f"{label}-{seed}")
        reference, ours = build_pair(config, long_context)
        maker = CallMaker(rng, reference)
        for _ in range(CALLS_PER_SEQUENCE):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            before = snapshot(ours)
            if deliberate_deviation(tool, args, kwargs):
                with pytest.raises(ToolError):
                    getattr(ours, tool)(*args, **kwargs)
                assert snapshot(ours) == before, where
                counts["deviation"] += 1
                continue
            expected, failed = run_ref(reference, tool, args, kwargs)
            got, our_failed = run_ours(ours, tool, args, kwargs)
            assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
            if failed:
                assert snapshot(ours) == before, f"{where}: a failing call changed the state"
                counts["agree_error"] += 1
            else:
                assert got == expected, where
                counts["agree_ok"] += 1
            assert_same_state(reference, ours, where)
    assert counts["agree_ok"] > 500 and counts["agree_error"] > 300 and counts["deviation"] > 0, counts
