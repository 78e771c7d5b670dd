"""A stock-trading account: a re-implementation of BFCL's ``TradingBot``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`), random transaction
timestamps included. BFCL's quirks that show in results or state are kept on purpose, and marked ``BFCL quirk``
where they are. Failures raise :class:`ToolError` with a message that says what to do next, and leave the state
(and the random sequence) as it was.

Time is frozen: "now" is BFCL's fixed 2024-09-01 10:30:00, never the wall clock.

Deliberate differences: BFCL's error dicts, its crashes (a bad date in ``get_transaction_history``, a stored
transaction or order without the fields it reads) and the error *lists* it returns when logged out
(``get_watchlist``, ``get_order_history``, ``get_transaction_history``) all become our own ToolError messages;
money amounts and prices must be finite and at most :data:`MAX_MONEY`, share amounts at most :data:`MAX_SHARES`,
and string and list arguments are bounded (see :mod:`~envtune_gym.domains.trading_data`); timestamps never
depend on the local timezone (BFCL's do only where daylight saving time changes between 1 and 2 September 2024).

Example:
    >>> bot = TradingBot()
    >>> bot.load_scenario({"authenticated": True, "market_status": "Open"})
    >>> bot.get_current_time(), bot.get_symbol_by_name("Nvidia")
    ({'current_time': '10:30 AM'}, {'symbol': 'NVDA'})
    >>> bot.withdraw_funds(500)
    {'status': 'Withdrawal successful', 'new_balance': 9500.0}
    >>> bot.transaction_history[-1]["timestamp"]  # drawn from BFCL's seed, as BFCL draws it
    '2024-09-02 05:40:15'
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.domains.trading_data import (
    CURRENT_TIME,
    DATE_FORMAT,
    DEFAULT_SEED,
    DEFAULT_STATE,
    DEFAULT_STOCKS,
    EPOCH_NOW,
    MAX_DATE_CHARS,
    MAX_MONEY,
    MAX_ORDER_TYPE_CHARS,
    MAX_SHARES,
    MAX_SYMBOLS,
    SECTORS,
    SYMBOLS_BY_NAME,
    TIMESTAMP_FORMAT,
    TIMESTAMP_SPAN_SECONDS,
    LongContext,
    check_bounded,
    name_list,
    quote,
)
from envtune_gym.results import encode_with
from envtune_gym.tools import tool

# The limits and defaults live with the data; they are part of this module's interface too.
__all__ = [
    "CURRENT_TIME",
    "DEFAULT_SEED",
    "DEFAULT_STATE",
    "DEFAULT_STOCKS",
    "MAX_MONEY",
    "MAX_SHARES",
    "MAX_SYMBOLS",
    "TradingBot",
]


@functools.cache
def _averages_json() -> dict[str, str]:
    """``json.dumps`` of the long-context MA(5) and MA(20) series, made once."""
    padding = TradingBot.long_context_padding()
    return {"MA(5)": json.dumps(list(padding.ma5)), "MA(20)": json.dumps(list(padding.ma20))}


@functools.cache
def _long_sector(sector: str) -> tuple[tuple[str, ...], str]:
    """A sector's symbols in long context, and their JSON list (made once per sector)."""
    symbols = (*SECTORS[sector], *TradingBot.long_context_padding().sectors[sector])
    return symbols, json.dumps(list(symbols))


@functools.lru_cache(
    maxsize=1024
)  # symbols come from state (stocks, scenarios): bounded, and short ones only
def _order_metadata(symbol: str) -> tuple[dict[str, str], str]:
    """Long context's eight texts about a stock, and their JSON (read-only: callers copy the dict)."""
    metadata = {
        key: text.format(symbol=symbol) for key, text in TradingBot.long_context_padding().order_metadata
    }
    return metadata, json.dumps(metadata)


class TradingBot(Domain):
    """BFCL's TradingBot. Compared state: every public attribute; the RNG is private."""

    name = "TradingBot"
    description = (
        "This tool belongs to the trading system, which allows users to trade stocks, manage their account, and "
        "view stock information."
    )

    init_loads_empty_scenario = True
    long_context_file = "long_context_trading.json"

    @classmethod
    def shape_long_context(cls, data: dict[str, Any]) -> LongContext:
        """BFCL's result padding (see :class:`~envtune_gym.domains.trading_data.LongContext`)."""
        return LongContext.from_json(data)

    def __init__(self) -> None:
        self.load_scenario({})

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the state from a scenario; each key it leaves out gets a fresh copy of its default.

        BFCL quirks: a key the scenario sets is used as it is (the very object; the caller's copy is private);
        order keys that are digit strings become ints and every other key (such as the junk ``"order_type"``
        entry most scenarios carry) is kept; the RNG is seeded with ``random_seed`` (default 1053520).
        """
        orders = self._scenario_value(config, "orders")
        self.orders = {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in orders.items()}
        self.account_info = self._scenario_value(config, "account_info")
        self.authenticated = self._scenario_value(config, "authenticated")
        self.market_status = self._scenario_value(config, "market_status")
        self.order_counter = self._scenario_value(config, "order_counter")
        self.stocks = self._scenario_value(config, "stocks")
        self.watch_list = self._scenario_value(config, "watch_list")
        self.transaction_history = self._scenario_value(config, "transaction_history")
        self.long_context = long_context
        self._seed_random(config.get("random_seed", DEFAULT_SEED))

    @staticmethod
    def _scenario_value(config: Mapping[str, Any], key: str) -> Any:
        return config[key] if key in config else fresh(DEFAULT_STATE[key], constant=True)

    # --------------------------------------------------------------------------------------------------------
    # Helpers

    def _timestamp(self) -> str:
        """A random time within a day after CURRENT_TIME: one ``randint`` draw, as in BFCL."""
        drawn = self._random.randint(EPOCH_NOW, EPOCH_NOW + TIMESTAMP_SPAN_SECONDS)
        return (CURRENT_TIME + timedelta(seconds=drawn - EPOCH_NOW)).strftime(TIMESTAMP_FORMAT)

    def _require_login(self, tool: str, action: str) -> None:
        if not self.authenticated:
            raise ToolError(
                f"{tool}: you are not logged in, so you cannot {action}. Call trading_login(username, password) "
                f"first, then try again."
            )

    def _require_stock(self, tool: str, symbol: str) -> None:
        if symbol not in self.stocks:
            raise ToolError(
                f"{tool}: unknown stock symbol {quote(symbol)}. Known symbols: {name_list(list(self.stocks))}. "
                f"get_symbol_by_name(name) gives a company's symbol."
            )

    def _balance(self, tool: str) -> float:
        if not isinstance(self.account_info, dict) or "balance" not in self.account_info:
            raise ToolError(f"{tool}: this account has no balance, so no money can be moved.")
        return self.account_info["balance"]

    def _order(self, tool: str, order_id: int) -> Any:
        """What is stored under ``order_id``. BFCL quirk: exact key lookup, so the string '12345' is not 12345."""
        if order_id not in self.orders:
            known = [key for key, order in self.orders.items() if isinstance(order, dict)]
            raise ToolError(
                f"{tool}: there is no order with id {quote(order_id)}. Existing order ids: {name_list(known)}. "
                f"get_order_history() lists them; place_order(...) returns the id of a new order."
            )
        return self.orders[order_id]

    @staticmethod
    def _check_symbols(tool: str, stocks: list[str]) -> None:
        if len(stocks) > MAX_SYMBOLS:
            raise ToolError(f"{tool}: {len(stocks)} symbols given; pass at most {MAX_SYMBOLS} at a time.")

    # --------------------------------------------------------------------------------------------------------
    # Market information

    @tool
    def get_current_time(self) -> dict[str, str]:
        """Get the current time, in 'HH:MM AM/PM' format."""
        noon = "AM" if CURRENT_TIME.hour < 12 else "PM"  # not %p, which follows the locale
        return {"current_time": f"{CURRENT_TIME:%I:%M} {noon}"}

    @tool
    def get_symbol_by_name(self, name: str) -> dict[str, str]:
        """Get the stock symbol of a company from its name.

        Args:
            name: The company name, exactly as listed (case-sensitive), e.g. 'Apple' or 'Zeta Corp'.

        Returns:
            symbol: The stock symbol, or 'Stock not found' if the company is unknown.
        """
        return {"symbol": SYMBOLS_BY_NAME.get(name, "Stock not found")}  # BFCL's not-found is a result

    @tool
    def get_stock_info(self, symbol: str) -> dict[str, Any]:
        """Get the details of a stock.

        Args:
            symbol: The symbol that uniquely identifies the stock, e.g. 'AAPL'.

        Returns:
            price: The current price of the stock.
            percent_change: The percentage change in the stock price.
            volume: The trading volume of the stock.
            MA(5): The 5-day moving average of the stock.
            MA(20): The 20-day moving average of the stock.
        """
        self._require_stock("get_stock_info", symbol)
        stock = self.stocks[symbol]
        if not self.long_context:
            return fresh(stock)
        if not isinstance(stock, dict):
            raise ToolError(f"get_stock_info: the data of {quote(symbol)} is not readable.")
        padding = (
            self.long_context_padding()
        )  # BFCL quirk: long context swaps the averages for 2000-value series
        result = {**stock, "MA(5)": list(padding.ma5), "MA(20)": list(padding.ma20)}
        return encode_with(result, _averages_json())  # the 4,000 floats are encoded once, not per call

    @tool(lists=True)
    def get_available_stocks(self, sector: str) -> dict[str, list[str]]:
        """Get the stock symbols of a sector (an empty list for an unknown sector).

        Args:
            sector: The sector to list, e.g. 'Technology' or 'Automobile'.
        """
        if self.long_context and sector in SECTORS:  # BFCL quirk: long context adds made-up symbols
            symbols, encoded = _long_sector(sector)
            return encode_with({"stock_list": list(symbols)}, {"stock_list": encoded})
        return {"stock_list": list(SECTORS.get(sector, ()))}  # BFCL quirk: they need not have stock data

    @tool
    def filter_stocks_by_price(
        self, stocks: list[str], min_price: float, max_price: float
    ) -> dict[str, list[str]]:
        """Filter stocks by a price range, keeping the order given.

        Args:
            stocks: The stock symbols to filter.
            min_price: The lowest price to keep (inclusive).
            max_price: The highest price to keep (inclusive).
        """
        self._check_symbols("filter_stocks_by_price", stocks)

        def price(symbol: str) -> Any:
            return self.stocks.get(symbol, {}).get("price", 0)  # BFCL quirk: an unknown symbol costs 0

        return {"filtered_stocks": [s for s in stocks if price(s) >= min_price and price(s) <= max_price]}

    @tool
    def notify_price_change(self, stocks: list[str], threshold: float) -> dict[str, str]:
        """Notify which of the given stocks have a significant price change.

        Args:
            stocks: The stock symbols to check; unknown symbols are skipped.
            threshold: The percentage change (in absolute value) from which a change counts as significant.
        """
        self._check_symbols("notify_price_change", stocks)
        changed = [
            s for s in stocks if s in self.stocks and abs(self.stocks[s]["percent_change"]) >= threshold
        ]
        if not changed:
            return {"notification": "No significant price changes in the selected stocks."}
        return {"notification": f"Stocks {', '.join(changed)} have significant price changes."}

    # --------------------------------------------------------------------------------------------------------
    # Orders

    @tool
    def get_order_details(self, order_id: int) -> dict[str, Any]:
        """Get the details of an order.

        Args:
            order_id: The id of the order.

        Returns:
            id: The id of the order.
            order_type: The type of the order.
            symbol: The symbol of the stock in the order.
            price: The price at which the order was placed.
            amount: The number of shares in the order.
            status: The current status of the order: 'Open', 'Pending', 'Completed' or 'Cancelled'.
        """
        order = self._order("get_order_details", order_id)
        if not self.long_context:
            return fresh(order)  # whatever is stored: orders loaded from scenarios lack fields
        if not isinstance(order, dict) or "symbol" not in order:
            raise ToolError(
                f"get_order_details: order {quote(order_id)} names no stock, so it has no details."
            )
        # BFCL quirk: long context adds eight texts about the stock, under "metadata".
        symbol = order["symbol"]
        if type(symbol) is not str or len(symbol) > 32:  # whatever a scenario stored: formatted, not cached
            return {
                **order,
                "metadata": {
                    k: text.format(symbol=symbol) for k, text in self.long_context_padding().order_metadata
                },
            }
        metadata, encoded = _order_metadata(symbol)
        return encode_with({**order, "metadata": dict(metadata)}, {"metadata": encoded})

    @tool
    def cancel_order(self, order_id: int) -> dict[str, Any]:
        """Cancel an order.

        Args:
            order_id: The id of the order to cancel.

        Returns:
            order_id: The id of the cancelled order.
            status: The new status of the order.
        """
        order = self._order("cancel_order", order_id)
        if not isinstance(order, dict) or "status" not in order:
            raise ToolError(
                f"cancel_order: {quote(order_id)} is not an order with a status; it cannot be cancelled."
            )
        if order["status"] == "Completed":
            raise ToolError(
                f"cancel_order: order {quote(order_id)} is already completed and cannot be cancelled; only "
                f"orders that are not completed yet can be. get_order_details(order_id) shows an order's status."
            )
        order["status"] = "Cancelled"  # BFCL quirk: cancelling a cancelled order succeeds again
        return {"order_id": order_id, "status": "Cancelled"}

    @tool
    def place_order(self, order_type: str, symbol: str, price: float, amount: int) -> dict[str, Any]:
        """Place an order to buy or sell a stock.

        Args:
            order_type: The type of the order: 'Buy' or 'Sell'.
            symbol: The symbol of the stock to trade.
            price: The price per share at which to place the order.
            amount: The number of shares to trade.

        Returns:
            order_id: The id of the new order.
            order_type: The type of the order.
            status: The initial status of the order.
            price: The price at which the order was placed.
            amount: The number of shares in the order.
        """
        self._require_login("place_order", "place orders")
        self._require_stock("place_order", symbol)
        if price <= 0 or amount <= 0:
            raise ToolError(
                f"place_order: price and amount must both be positive, got price={quote(price)} and "
                f"amount={quote(amount)}."
            )
        check_bounded("place_order", "price", price, MAX_MONEY)
        check_bounded("place_order", "amount", amount, MAX_SHARES)
        if len(order_type) > MAX_ORDER_TYPE_CHARS:
            raise ToolError(
                f"place_order: order_type is {len(order_type)} characters long; use 'Buy' or 'Sell'."
            )
        if order_type.lower() == "buy":  # BFCL quirk: only buys are checked, and the balance is not debited
            cost, balance = float(price) * int(amount), self.account_info.get("balance", 0)
            if cost > balance:
                raise ToolError(
                    f"place_order: buying {amount} shares at {float(price)} costs ${cost:.2f}, but the balance is "
                    f"only ${balance:.2f}. Buy fewer shares, or add money first with fund_account(amount)."
                )
        order_id, next_counter = self.order_counter, self.order_counter + 1
        # BFCL quirk: the id is the counter as is, so an existing order with that id is overwritten.
        self.orders[order_id] = {
            "id": order_id,
            "order_type": order_type,
            "symbol": symbol,
            "price": float(price),
            "amount": amount,
            "status": "Open",
        }
        self.order_counter = next_counter
        # BFCL quirk: the result says "Pending" while the stored order says "Open".
        return {
            "order_id": order_id,
            "order_type": order_type,
            "status": "Pending",
            "price": float(price),
            "amount": amount,
        }

    @tool(lists=True)
    def get_order_history(self) -> dict[str, list[Any]]:
        """Get the ids of all orders, oldest first."""
        self._require_login("get_order_history", "view the order history")  # BFCL returns an error list here
        return {"history": list(self.orders)}  # BFCL quirk: junk scenario keys show up as ids

    # --------------------------------------------------------------------------------------------------------
    # Account

    @tool
    def trading_login(self, username: str, password: str) -> dict[str, str]:
        """Log in to the trading system.

        Args:
            username: The username.
            password: The password.
        """
        if self.authenticated:
            return {"status": "Already logged in"}
        self.authenticated = True  # BFCL quirk: credentials are not checked
        return {"status": "Logged in successfully"}

    @tool
    def trading_get_login_status(self) -> dict[str, bool]:
        """Get the login status: whether a user is logged in."""
        return {"status": bool(self.authenticated)}

    @tool
    def trading_logout(self) -> dict[str, str]:
        """Log out of the trading system."""
        if not self.authenticated:
            return {"status": "No user is currently logged in"}  # a result in BFCL, not an error
        self.authenticated = False
        return {"status": "Logged out successfully"}

    @tool
    def get_account_info(self) -> dict[str, Any]:
        """Get the account information.

        Returns:
            account_id: The id of the account.
            balance: The current balance of the account.
            binding_card: The card number bound to the account.
        """
        self._require_login("get_account_info", "view the account information")
        return fresh(self.account_info)

    @tool
    def fund_account(self, amount: float) -> dict[str, Any]:
        """Add money to the account balance.

        Args:
            amount: The amount of money to add.

        Returns:
            status: The status of the deposit.
            new_balance: The balance after the deposit.
        """
        self._require_login("fund_account", "fund the account")
        if amount <= 0:
            raise ToolError(f"fund_account: the amount must be positive, got {quote(amount)}.")
        check_bounded("fund_account", "amount", amount, MAX_MONEY)
        balance = self._balance("fund_account")
        # BFCL quirk: deposits are allowed while the market is closed; the timestamp draws from the RNG.
        self.account_info["balance"] = balance + amount
        self.transaction_history.append({"type": "deposit", "amount": amount, "timestamp": self._timestamp()})
        return {"status": "Account funded successfully", "new_balance": self.account_info["balance"]}

    @tool
    def withdraw_funds(self, amount: float) -> dict[str, Any]:
        """Withdraw money from the account balance.

        Args:
            amount: The amount of money to withdraw.

        Returns:
            status: The status of the withdrawal.
            new_balance: The balance after the withdrawal.
        """
        self._require_login("withdraw_funds", "withdraw money")
        if self.market_status != "Open":
            raise ToolError(
                f"withdraw_funds: the market is {quote(self.market_status)}; withdrawals are only possible while "
                f"it is 'Open', and no tool opens it. Deposits (fund_account) work at any time."
            )
        if amount <= 0:
            raise ToolError(f"withdraw_funds: the amount must be positive, got {quote(amount)}.")
        balance = self._balance("withdraw_funds")
        if amount > balance:
            raise ToolError(
                f"withdraw_funds: cannot withdraw {amount}, the balance is only {balance}. Withdraw at most the "
                f"balance (get_account_info() shows it)."
            )
        check_bounded("withdraw_funds", "amount", amount, MAX_MONEY)
        self.account_info["balance"] = balance - amount
        self.transaction_history.append(
            {"type": "withdrawal", "amount": amount, "timestamp": self._timestamp()}
        )
        return {"status": "Withdrawal successful", "new_balance": self.account_info["balance"]}

    @tool
    def get_transaction_history(
        self, start_date: str | None = None, end_date: str | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Get the deposits and withdrawals made within a date range.

        Args:
            start_date: The first day to include, as 'YYYY-MM-DD'. If None, there is no lower bound.
            end_date: The last day, as 'YYYY-MM-DD'; the range ends at the very start (00:00:00) of that day. If
                None, there is no upper bound.

        Returns:
            transaction_history: The transactions in the range, oldest first, each with type ('deposit' or
                'withdrawal'), amount and timestamp ('YYYY-MM-DD HH:MM:SS').
        """
        self._require_login(
            "get_transaction_history", "view the transaction history"
        )  # BFCL returns an error list here
        # BFCL quirks: an empty date means no bound, and end_date is midnight, so that day itself is left out.
        start = self._parse_date("start_date", start_date) if start_date else datetime.min
        end = self._parse_date("end_date", end_date) if end_date else datetime.max
        history = [dict(record) for record in self.transaction_history if start <= self._when(record) <= end]
        if self.long_context:  # BFCL quirk: 1000 made-up transactions, whatever the range
            history.extend(dict(record) for record in self.long_context_padding().transactions)
        return {"transaction_history": history}

    @staticmethod
    def _parse_date(name: str, text: str) -> datetime:
        try:
            if len(text) <= MAX_DATE_CHARS:
                return datetime.strptime(text, DATE_FORMAT)  # as lenient as BFCL: '2024-9-1' is accepted
        except (TypeError, ValueError):
            pass
        raise ToolError(
            f"get_transaction_history: {name} {quote(text)} is not a date; write it as YYYY-MM-DD (e.g. "
            f"'2024-09-01'), or leave it out for no bound."
        )

    @staticmethod
    def _when(record: Any) -> datetime:
        try:
            return datetime.strptime(record["timestamp"], TIMESTAMP_FORMAT)
        except (KeyError, TypeError, ValueError):
            raise ToolError(
                "get_transaction_history: a stored transaction has no valid timestamp, so the history cannot be "
                "filtered by date."
            ) from None

    # --------------------------------------------------------------------------------------------------------
    # Watch list

    @tool(lists=True)
    def get_watchlist(self) -> dict[str, list[str]] | list[Any]:
        """Get the watch list.

        Returns:
            watchlist: The symbols on the watch list.
        """
        self._require_login("get_watchlist", "view the watch list")  # BFCL returns an error list here
        if self.long_context:  # BFCL quirk: a bare list with 1001 more entries, ending in Ellipsis
            return [*self.watch_list, *self.long_context_padding().watch_list]
        return {"watchlist": list(self.watch_list)}

    @tool
    def add_to_watchlist(self, stock: str) -> dict[str, list[str]]:
        """Add a stock to the watch list, and return the list.

        Args:
            stock: The symbol of the stock to add.
        """
        # BFCL quirks: no login needed, and a listed or unknown symbol is silently not added.
        if stock not in self.watch_list and stock in self.stocks:
            self.watch_list.append(stock)
        return {"watchlist": list(self.watch_list)}

    @tool
    def remove_stock_from_watchlist(self, symbol: str) -> dict[str, str]:
        """Remove a stock from the watch list.

        Args:
            symbol: The symbol of the stock to remove.
        """
        self._require_login("remove_stock_from_watchlist", "change the watch list")
        if symbol not in self.watch_list:
            raise ToolError(
                f"remove_stock_from_watchlist: {quote(symbol)} is not on the watch list. On it: "
                f"{name_list(list(self.watch_list))}."
            )
        self.watch_list.remove(symbol)
        return {"status": f"Stock {symbol} removed from watchlist successfully."}


register_domain(TradingBot, env_id="EnvTune/Trading-v0", task_set="trading", order=40)
