"""The data and checks of the trading domain (:mod:`envtune_gym.domains.trading`): BFCL's frozen clock, default
state, symbols and sectors, the shape of its long-context padding, and the argument checks and message helpers.

Example:
    >>> DEFAULT_STATE["watch_list"], SYMBOLS_BY_NAME["Nvidia"], name_list(["AAPL", "GOOG"])
    (['NVDA'], 'NVDA', 'AAPL, GOOG')
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, NamedTuple

from envtune_gym.domains.base import ToolError

#: BFCL's frozen "now": get_current_time and every transaction timestamp derive from it.
CURRENT_TIME = datetime(2024, 9, 1, 10, 30)
#: A transaction happens at a random second within one day after CURRENT_TIME, both ends included.
TIMESTAMP_SPAN_SECONDS = 86_400
#: Largest price or money amount (deposit, withdrawal) accepted; NaN and infinities are refused too.
MAX_MONEY = 1e15
#: Largest number of shares one order may trade.
MAX_SHARES = 10**12
#: Longest order type place_order stores (BFCL stores any string; "Buy" and "Sell" are meant).
MAX_ORDER_TYPE_CHARS = 100
#: Longest list of symbols filter_stocks_by_price and notify_price_change take.
MAX_SYMBOLS = 10_000
#: Longest date string get_transaction_history parses ('YYYY-MM-DD' is 10; anything much longer is no date).
MAX_DATE_CHARS = 32
#: How many names an error message lists before it says "and N more".
LISTED_NAMES = 20

DEFAULT_SEED = 1053520
DEFAULT_ORDERS: dict[int | str, Any] = {
    12345: {"id": 12345, "order_type": "Buy", "symbol": "AAPL", "price": 210.65, "amount": 10, "status": "Completed"},
    12446: {"id": 12446, "order_type": "Sell", "symbol": "GOOG", "price": 2840.56, "amount": 5, "status": "Pending"},
}  # fmt: skip
_STOCK_FIELDS = ("price", "percent_change", "volume", "MA(5)", "MA(20)")
DEFAULT_STOCKS: dict[str, dict[str, float]] = {
    symbol: dict(zip(_STOCK_FIELDS, row, strict=True))
    for symbol, row in {
        "AAPL": (227.16, 0.17, 2.552, 227.11, 227.09),
        "GOOG": (2840.34, 0.24, 1.123, 2835.67, 2842.15),
        "TSLA": (667.92, -0.12, 1.654, 671.15, 668.2),
        "MSFT": (310.23, 0.09, 3.234, 309.88, 310.11),
        "NVDA": (220.34, 0.34, 1.234, 220.45, 220.67),
        "ALPH": (1320.45, -0.08, 1.567, 1321.12, 1325.78),
        "OMEG": (457.23, 0.12, 2.345, 456.78, 458.12),
        "QUAS": (725.89, -0.03, 1.789, 726.45, 728.0),
        "NEPT": (88.34, 0.19, 0.654, 88.21, 88.67),
        "SYNX": (345.67, 0.11, 2.112, 345.34, 346.12),
        "ZETA": (22.09, -0.05, 0.789, 22.12, 22.34),
    }.items()
}
#: The value of each state key a scenario leaves out (deep-copied on every load, never handed out).
DEFAULT_STATE: dict[str, Any] = {
    "orders": DEFAULT_ORDERS,
    "account_info": {"account_id": 12345, "balance": 10000.0, "binding_card": 1974202140965533},
    "authenticated": False,
    "market_status": "Closed",
    # BFCL quirk: the counter starts at the id of a default order, so the first new order overwrites it.
    "order_counter": 12446,
    "stocks": DEFAULT_STOCKS,
    "watch_list": ["NVDA"],
    "transaction_history": [],
}
# BFCL quirk: Amazon and Gorilla have symbols but no stock data.
SYMBOLS_BY_NAME = {
    "Apple": "AAPL", "Google": "GOOG", "Tesla": "TSLA", "Microsoft": "MSFT", "Nvidia": "NVDA", "Zeta Corp": "ZETA",
    "Alpha Tech": "ALPH", "Omega Industries": "OMEG", "Quasar Ltd.": "QUAS", "Neptune Systems": "NEPT",
    "Synex Solutions": "SYNX", "Amazon": "AMZN", "Gorilla": "GORI",
}  # fmt: skip
SECTORS = {"Technology": ("AAPL", "GOOG", "MSFT", "NVDA"), "Automobile": ("TSLA", "F", "GM")}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DATE_FORMAT = "%Y-%m-%d"
# CURRENT_TIME as seconds since the epoch, read as UTC. BFCL reads it as local time both ways, which cancels out
# (randint(a, a + n) draws the same offset whatever a is); we stay timezone-free, and so match BFCL run in any
# timezone without a daylight-saving change between 1 and 2 September 2024 (UTC included).
EPOCH_NOW = int(CURRENT_TIME.replace(tzinfo=timezone.utc).timestamp())


class LongContext(NamedTuple):
    """BFCL's long-context padding of trading results (``long_context_trading.json``)."""

    ma5: tuple[float, ...]  # replaces a stock's MA(5) in get_stock_info
    ma20: tuple[float, ...]  # replaces its MA(20)
    order_metadata: tuple[tuple[str, str], ...]  # (key, text with {symbol}) added to get_order_details
    sectors: Mapping[str, tuple[str, ...]]  # appended to get_available_stocks' lists
    transactions: tuple[tuple[tuple[str, Any], ...], ...]  # appended to get_transaction_history, unfiltered
    watch_list: tuple[Any, ...]  # appended to get_watchlist's bare list

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LongContext:
        """The padding from the data file's JSON (BFCL's constants, by their names)."""
        return cls(
            tuple(data["MA_5_EXTENSION"]),
            tuple(data["MA_20_EXTENSION"]),
            tuple(data["ORDER_DETAIL_EXTENSION"].items()),
            {
                "Technology": tuple(data["TECHNOLOGY_EXTENSION"]),
                "Automobile": tuple(data["AUTOMOBILE_EXTENSION"]),
            },
            tuple(tuple(record.items()) for record in data["TRANSACTION_HISTORY_EXTENSION"]),
            # BFCL quirk: its list ends with a literal `...` (Python's Ellipsis), stored as null in the JSON file.
            tuple(Ellipsis if symbol is None else symbol for symbol in data["WATCH_LIST_EXTENSION"]),
        )


def quote(text: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short if long."""
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def name_list(names: list[Any]) -> str:
    """Names for a message, the first :data:`LISTED_NAMES` of them (``"none"`` when there are none)."""
    if not names:
        return "none"
    more = f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else ""
    return ", ".join(str(name) for name in names[:LISTED_NAMES]) + more


def check_bounded(tool: str, name: str, value: float, limit: float) -> None:
    """Refuse NaN, infinities and values beyond ``limit`` (no float conversion: huge ints compare exactly)."""
    if not abs(value) <= limit:
        raise ToolError(f"{tool}: {name} must be a finite number of at most {limit:g}, got {quote(value)}.")
