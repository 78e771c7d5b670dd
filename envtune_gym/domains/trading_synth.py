"""The procedural task generator of the trading domain (BFCL's ``TradingBot``), registered as ``trading``.

Over 600 lines on purpose: one short drawing function per operation (22 of them), and a domain's operations read
best side by side.

A task's state is a brokerage account: six to eleven listed stocks with drawn prices (companies that
``get_symbol_by_name`` knows, Ford, GM, made-up tickers), orders of every status, a watch list, a
transaction history from August 2024, and a balance. ``knobs.state_size`` counts the orders, watch-list entries
and past transactions; ``knobs.distractors`` of the orders are near misses of another (same stock, another
status or side), so "my pending Tesla sell order" has to be read precisely. Most accounts start logged in, as in
BFCL; the others begin with a login turn.

Operations (each a tool-usage pattern with three or more phrasings, see :mod:`.trading_synth_vocab`):

- ``login`` (``trading_login``, or a status check then the login), ``status``, ``time``, ``logout``;
- ``account`` (balance), ``deposit``, ``withdraw``, ``withdraw_all`` (read the balance, withdraw all of it);
- ``lookup`` (a company's ticker), ``quote`` (by ticker, or by company: ticker, then quote), ``sector``,
  ``filter`` (stocks in a price band), ``notify`` (price moves over a threshold);
- ``order`` (Buy or Sell at a stated price, or at the current price: quote first, and look the ticker up first
  when the user names the company: up to three chained calls), ``details`` and ``cancel`` (by id, by
  description, or "the order you just placed", whose id came from ``place_order``), ``check_cancel``,
  ``history``;
- ``watchlist``, ``watch_add`` and ``watch_remove`` (by ticker, or by company through a lookup);
- ``transactions`` (all, since a date, or in a date range).

While drafting, the generator runs every call on a live :class:`~envtune_gym.domains.trading.TradingBot` (so the
ground truth is valid and order ids, balances and timestamps are the real ones), keeps the result strings
already produced (a read repeating one would not be necessary), what the agent has seen (for grounded values and
honest miss_param turns), and how deep each known value sits in a chain of calls (for ``knobs.max_depth``).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envtune_gym.domains import trading_synth_vocab as V
from envtune_gym.domains.base import Domain
from envtune_gym.domains.trading import TradingBot
from envtune_gym.domains.trading_synth_vocab import (
    credentials,
    draw_state,
    join_requests,
    money,
    numbers_in,
    observable_texts,
    order_entity,
    pick,
    price_band,
    quoted,
    tickers,
    tidy,
)
from envtune_gym.synth.draft import Call, Draft, Reference, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs, register_generator
from envtune_gym.tools import serialize_result


@dataclass
class Piece:
    """One request of a turn and its calls; a turn holds one to three.

    ``hidden`` is the value a miss_param turn leaves out, with the request as it reads without it (``vague``) and
    the follow-up that gives it (``supply``).
    """

    op: str
    text: str
    calls: list[Call]
    depth: int = 0
    vague: str = ""
    supply: str = ""
    hidden: Any = None
    references: list[Reference] = field(default_factory=list)


class Sim:
    """The drafting copy of the account: a live TradingBot, and what the agent has seen so far.

    Attributes:
        produced: every result string so far (a read that repeats one is not necessary).
        looked_up: companies whose ticker a call returned, and that ticker.
        quoted: tickers whose stock info a call returned, and the depth of that price.
        known_orders: order ids the agent knows, with their depth (0: observable or said by the user).
        orders_readable: whether the initial orders are observable (the account started logged in).
    """

    def __init__(self, config: dict[str, Any], knobs: Knobs) -> None:
        self.bot = TradingBot.from_scenario(config)
        self.knobs = knobs
        self.produced: Counter[str] = Counter()
        self.text = ""
        self.numbers: set[float] = set()
        self.orders_readable = bool(self.bot.authenticated)
        self.looked_up: dict[str, str] = {}
        self.quoted: dict[str, int] = {}
        self.known_orders: dict[int, int] = {}
        self.balance_depth: int | None = None  # set while the last balance read is still the balance
        self.previous: dict[str, list[Any]] = {"placed": [], "looked_up": [], "quoted": [], "balance": []}
        self.current: dict[str, list[Any]] = {"placed": [], "looked_up": [], "quoted": [], "balance": []}
        self.orders_changed = False  # an earlier request of this turn changed an order
        self.focus: list[int] = []  # orders that have a near miss: descriptions of them are worth drawing
        self.learn(observable_texts(self.bot))
        if self.orders_readable:
            self.known_orders = {key: 0 for key, order in self.bot.orders.items() if isinstance(order, dict)}

    # ---- what the agent has seen

    def learn(self, texts: list[str]) -> None:
        """Add texts (user messages, results) to what the agent has seen."""
        for text in texts:
            self.text += "\x00" + text
            self.numbers |= numbers_in(text)

    def start_turn(self) -> None:
        """What the previous turn did becomes "just now" (the order you just placed, the ticker you just found)."""
        self.previous, self.orders_changed = self.current, False
        self.current = {"placed": [], "looked_up": [], "quoted": [], "balance": []}

    # ---- calls

    def novel(self, tool: str, **arguments: Any) -> bool:
        """Whether a read's result is new (it runs on the live bot: reads change nothing)."""
        return serialize_result(getattr(self.bot, tool)(**arguments)) not in self.produced

    def commit(self, calls: list[Call]) -> list[Any]:
        """Run ``calls`` on the live bot and record their results (a tool error here is a generator bug)."""
        values = []
        for call in calls:
            value = getattr(self.bot, call.name)(**call.arguments)
            text = serialize_result(value)
            self.produced[text] += 1
            self.learn([text])  # its JSON holds every string and number inside it
            values.append(value)
            if call.name == "get_symbol_by_name":
                self.looked_up[call.arguments["name"]] = value["symbol"]
                self.current["looked_up"].append(value["symbol"])
            elif call.name == "get_account_info":
                self.balance_depth = 1
                self.current["balance"].append(1)
            elif call.name in ("fund_account", "withdraw_funds"):
                self.balance_depth = None  # the balance read earlier is stale
            elif call.name in ("place_order", "cancel_order"):
                self.orders_changed = True
        return values

    def orders(self) -> dict[int, dict[str, Any]]:
        """The live orders by id."""
        return {key: order for key, order in self.bot.orders.items() if isinstance(order, dict)}


# --------------------------------------------------------------------------------------------------------------
# Naming things the way users do


def name_stock(rng: random.Random, sim: Sim, symbol: str, budget: int) -> tuple[str, list[Call], int]:
    """How the request names ``symbol``: its ticker (depth 0), or its company with a lookup first (depth 1).

    Returns the text, the calls to make first, and the depth of the symbol.
    """
    name = V.COMPANIES.get(symbol)
    by_name = name is not None and rng.random() < 0.35 and sim.knobs.max_depth >= 1
    if by_name and name in sim.looked_up:
        return name, [], 1
    if by_name and budget >= 2 and sim.novel("get_symbol_by_name", name=name):
        return name, [Call("get_symbol_by_name", {"name": name})], 1
    return pick(rng, (symbol, symbol, quoted(rng, symbol))), [], 0


def describe_order(rng: random.Random, sim: Sim, key: int) -> tuple[str, Reference] | None:
    """A description that picks order ``key`` alone ("my pending Tesla sell order"), or ``None``."""
    orders = sim.orders()
    order = orders[key]
    fields = [(1, 2, 3), (2, 3), (1, 2)]
    rng.shuffle(fields)
    for chosen in fields:
        wanted = order_entity(key, order).split("|")
        matches = [
            k for k, o in orders.items() if all(order_entity(k, o).split("|")[f] == wanted[f] for f in chosen)
        ]
        if matches != [key]:
            continue
        stock = V.COMPANIES.get(order["symbol"], order["symbol"]) if rng.random() < 0.5 else order["symbol"]
        status = V.STATUS_WORDS.get(order["status"], "") + " " if 3 in chosen else ""
        side = order["order_type"].lower() + " " if 1 in chosen else ""
        phrase = f"my {status}{stock} {side}order"

        def match(entity: str, fields: tuple[int, ...] = chosen, wanted: list[str] = wanted) -> bool:
            parts = entity.split("|")
            return all(parts[f] == wanted[f] for f in fields)

        return phrase, Reference("order", phrase, order_entity(key, order), match)
    return None


def point_at_order(
    rng: random.Random, sim: Sim, keys: list[int], templates: dict[str, tuple[str, ...]]
) -> tuple[int, str, int, list[Reference]] | None:
    """Pick one of ``keys`` and the way the request points at it: "the order you just placed", a description, or
    its id. Returns the id, the request, the id's depth and the references."""
    placed = sim.previous["placed"]
    if len(placed) == 1 and placed[0] in keys and rng.random() < 0.6:
        return placed[0], pick(rng, templates["last"]), sim.known_orders[placed[0]], []
    focus = [key for key in keys if key in sim.focus] if rng.random() < 0.7 else []
    key = pick(rng, focus or keys)
    if sim.orders_readable and not sim.orders_changed and key in sim.known_orders and rng.random() < 0.6:
        described = describe_order(rng, sim, key)
        if described is not None:
            phrase, reference = described
            return key, pick(rng, templates["desc"]).format(desc=phrase), sim.known_orders[key], [reference]
    sim.known_orders.setdefault(key, 0)  # the user says the id
    return key, pick(rng, templates["id"]).format(order=key), sim.known_orders[key], []


def share_count(rng: random.Random, sim: Sim, side: str, price: float) -> int | None:
    """Shares to trade: a Buy must fit the balance (BFCL checks it, without debiting)."""
    most = int(sim.bot.account_info["balance"] // price) if side == "Buy" else 200
    return None if most < 2 else rng.randint(2, min(most, pick(rng, (10, 25, 60, 150))))  # never "1 shares"


# --------------------------------------------------------------------------------------------------------------
# Operations: each draws one request and its calls, runs them on the live bot, or returns None if it cannot


def op_login(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    user, password = credentials(rng)
    values = {"user": quoted(rng, user), "password": quoted(rng, password)}
    login = Call("trading_login", {"username": user, "password": password})
    calls, templates = [login], V.LOGIN
    if budget >= 2 and rng.random() < 0.35 and sim.novel("trading_get_login_status"):
        calls, templates = [Call("trading_get_login_status"), login], V.CHECK_THEN_LOGIN
    sim.commit(calls)
    vague, supply = pick(rng, V.LOGIN_VAGUE).format(**values), pick(rng, V.LOGIN_SUPPLY).format(**values)
    return Piece("login", pick(rng, templates).format(**values), calls, 0, vague, supply, password)


def op_read(
    op: str, tool: str, templates: tuple[str, ...], login: bool = True
) -> Callable[..., Piece | None]:
    """An operation that is one argument-free read (balance, watch list, order ids, clock, login status)."""

    def build(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
        if (login and not sim.bot.authenticated) or not sim.novel(tool):
            return None
        calls = [Call(tool)]
        sim.commit(calls)
        return Piece(op, pick(rng, templates), calls)

    return build


def op_deposit(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    amounts = (rng.randrange(100, 5000, 50), rng.randrange(1000, 30000, 250), round(rng.uniform(20, 3000), 2))
    amount = float(pick(rng, amounts))
    text = money(rng, amount)
    calls = [Call("fund_account", {"amount": amount})]
    sim.commit(calls)
    vague, supply = pick(rng, V.DEPOSIT_VAGUE), pick(rng, V.DEPOSIT_SUPPLY).format(amount=text)
    return Piece("deposit", pick(rng, V.DEPOSIT).format(amount=text), calls, 0, vague, supply, amount)


def op_withdraw(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    balance = sim.bot.account_info["balance"]
    if sim.bot.market_status != "Open" or balance < 50:
        return None
    amount = float(min(pick(rng, (rng.randrange(50, 2000, 50), round(rng.uniform(10, 900), 2))), balance))
    text = money(rng, amount)
    calls = [Call("withdraw_funds", {"amount": amount})]
    sim.commit(calls)
    vague, supply = pick(rng, V.WITHDRAW_VAGUE), pick(rng, V.WITHDRAW_SUPPLY).format(amount=text)
    return Piece("withdraw", pick(rng, V.WITHDRAW).format(amount=text), calls, 0, vague, supply, amount)


def op_withdraw_all(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    balance = sim.bot.account_info["balance"]
    if sim.bot.market_status != "Open" or balance <= 0 or sim.knobs.max_depth < 1:
        return None
    withdraw = Call("withdraw_funds", {"amount": balance})
    if sim.previous["balance"] and sim.balance_depth is not None:
        calls, templates = [withdraw], V.WITHDRAW_ALL_KNOWN
    elif budget >= 2 and sim.novel("get_account_info"):
        calls, templates = [Call("get_account_info"), withdraw], V.WITHDRAW_ALL
    else:
        return None
    sim.commit(calls)
    return Piece("withdraw_all", pick(rng, templates), calls, 1)


def op_lookup(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    names = [
        name for symbol, name in V.COMPANIES.items() if name not in sim.looked_up and symbol in sim.bot.stocks
    ]
    if not names:
        return None
    name = pick(rng, names)
    calls = [Call("get_symbol_by_name", {"name": name})]
    sim.commit(calls)
    vague, supply = pick(rng, V.LOOKUP_VAGUE), pick(rng, V.LOOKUP_SUPPLY).format(name=name)
    return Piece("lookup", pick(rng, V.LOOKUP).format(name=name), calls, 0, vague, supply, name)


def op_quote(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    choices = [symbol for symbol in sorted(sim.bot.stocks) if symbol not in sim.quoted]
    if not choices:
        return None
    last = sim.previous["looked_up"]
    alone = len(last) == 1 and not sim.previous["quoted"]  # "that stock" must be the only one just named
    if alone and last[0] in choices and rng.random() < 0.5 and sim.knobs.max_depth >= 1:
        symbol, text, pre, depth = last[0], pick(rng, V.QUOTE_KNOWN), [], 1
    else:
        symbol = pick(rng, choices)
        shown, pre, depth = name_stock(rng, sim, symbol, budget)
        templates = V.QUOTE_NAME if depth else V.QUOTE_SYMBOL
        text = pick(rng, templates).format(sym=shown, name=shown)
    calls = [*pre, Call("get_stock_info", {"symbol": symbol})]
    sim.commit(calls)
    sim.quoted[symbol] = depth + 1
    sim.current["quoted"].append(symbol)
    if not pre:
        return Piece("quote", text, calls, depth)
    name = pre[0].arguments["name"]
    vague, supply = pick(rng, V.QUOTE_NAME_VAGUE), pick(rng, V.QUOTE_NAME_SUPPLY).format(name=name)
    return Piece("quote", text, calls, depth, vague, supply, name)


def order_price(
    rng: random.Random, sim: Sim, symbol: str, budget: int
) -> tuple[str, float, list[Call], str, int] | None:
    """How an order gets its price: ``stated`` by the user, the ``current`` one (a quote first, and a lookup
    before it when the user names the company), or the one a quote of the previous turn showed (``known``).

    Returns the mode, the price, the calls to make first, how the stock is named, and the order's depth.
    """
    price = sim.bot.stocks[symbol]["price"]
    mode = "known" if symbol in sim.previous["quoted"] else pick(rng, ("stated", "current", "current"))
    if mode == "stated" or (mode == "current" and symbol in sim.quoted):  # a second quote would repeat one
        return "stated", round(price * rng.uniform(0.9, 1.08), 2), [], symbol, 0
    if mode == "known":
        depth = sim.quoted[symbol]
        return (mode, price, [], symbol, depth) if depth <= sim.knobs.max_depth else None
    shown, pre, depth = name_stock(rng, sim, symbol, budget - 1)
    if len(pre) + 2 > budget or depth + 1 > sim.knobs.max_depth:
        return None
    return mode, price, [*pre, Call("get_stock_info", {"symbol": symbol})], shown, depth + 1


def op_order(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    side, symbol = pick(rng, ("Buy", "Buy", "Sell")), pick(rng, sorted(sim.bot.stocks))
    priced = order_price(rng, sim, symbol, budget) if sim.bot.authenticated else None
    count = share_count(rng, sim, side, priced[1]) if priced else None
    if priced is None or count is None:
        return None
    mode, price, pre, shown, depth = priced
    place = Call(
        "place_order", {"order_type": side, "symbol": symbol, "price": float(price), "amount": count}
    )
    order_id = sim.commit([*pre, place])[-1]["order_id"]
    if mode == "current":
        sim.quoted[symbol] = depth
    sim.known_orders[order_id] = depth + 1
    sim.current["placed"].append(order_id)
    named = shown in V.COMPANIES.values()
    templates = {"stated": V.ORDER_PRICE, "known": V.ORDER_KNOWN_PRICE}.get(mode)
    templates = templates or (V.ORDER_CURRENT_NAME if named else V.ORDER_CURRENT)
    fields = {"n": count, "sym": shown, "name": shown, "price": money(rng, float(price))}
    at = (
        f"at {fields['price']}"
        if mode == "stated"
        else pick(rng, ("at the current price", "at today's price"))
    )
    vague = pick(rng, V.ORDER_VAGUE[side]).format(sym=shown, at=at)
    supply = pick(rng, V.ORDER_SUPPLY).format(n=count)
    text = pick(rng, templates[side]).format(**fields)
    return Piece("order", text, [*pre, place], depth, vague, supply, count)


_DETAILS = {"last": V.DETAILS_LAST, "desc": V.DETAILS_DESC, "id": V.DETAILS_ID}
_CANCEL = {"last": V.CANCEL_LAST, "desc": V.CANCEL_DESC, "id": V.CANCEL_ID}
_CHECK_CANCEL = {"last": V.CHECK_CANCEL_LAST, "desc": V.CHECK_CANCEL_DESC, "id": V.CHECK_CANCEL_ID}


def op_details(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    keys = [key for key in sim.orders() if sim.novel("get_order_details", order_id=key)]
    pointed = point_at_order(rng, sim, keys, _DETAILS) if keys else None
    if pointed is None or pointed[2] > sim.knobs.max_depth:
        return None
    key, text, depth, references = pointed
    calls = [Call("get_order_details", {"order_id": key})]
    sim.commit(calls)
    return Piece("details", text, calls, depth, references=references)


def op_cancel(rng: random.Random, sim: Sim, budget: int, check: bool = False) -> Piece | None:
    keys = [key for key, order in sim.orders().items() if order.get("status") in ("Open", "Pending")]
    if check:
        keys = [key for key in keys if budget >= 2 and sim.novel("get_order_details", order_id=key)]
    pointed = point_at_order(rng, sim, keys, _CHECK_CANCEL if check else _CANCEL) if keys else None
    if pointed is None or pointed[2] > sim.knobs.max_depth:
        return None
    key, text, depth, references = pointed
    calls = [Call("get_order_details", {"order_id": key})] if check else []
    calls.append(Call("cancel_order", {"order_id": key}))
    sim.commit(calls)
    return Piece("check_cancel" if check else "cancel", text, calls, depth, references=references)


def op_watch_add(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    choices = [symbol for symbol in sorted(sim.bot.stocks) if symbol not in sim.bot.watch_list]
    if not choices:
        return None
    symbol = pick(rng, choices)
    shown, pre, depth = name_stock(rng, sim, symbol, budget)
    calls = [*pre, Call("add_to_watchlist", {"stock": symbol})]
    sim.commit(calls)
    text = pick(rng, V.WATCH_ADD_NAME if depth else V.WATCH_ADD).format(sym=shown, name=shown)
    hidden = None if depth else symbol  # a company name is not a ticker to withhold
    vague, supply = pick(rng, V.WATCH_ADD_VAGUE), pick(rng, V.WATCH_ADD_SUPPLY).format(sym=shown)
    return Piece("watch_add", text, calls, depth, vague, supply, hidden)


def op_watch_remove(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    if not sim.bot.authenticated or not sim.bot.watch_list:
        return None
    symbol = pick(rng, sorted(sim.bot.watch_list))
    shown, pre, depth = name_stock(rng, sim, symbol, budget)
    calls = [*pre, Call("remove_stock_from_watchlist", {"symbol": symbol})]
    sim.commit(calls)
    text = pick(rng, V.WATCH_REMOVE_NAME if depth else V.WATCH_REMOVE).format(sym=shown, name=shown)
    return Piece("watch_remove", text, calls, depth)


def op_sector(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    sector = pick(rng, V.SECTORS_ASKED)
    if not sim.novel("get_available_stocks", sector=sector):
        return None
    calls = [Call("get_available_stocks", {"sector": sector})]
    sim.commit(calls)
    return Piece("sector", pick(rng, V.SECTOR).format(sector=sector), calls)


def op_filter(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    symbols = rng.sample(sorted(sim.bot.stocks), rng.randint(2, 4))
    low, high = price_band(rng)
    arguments = {"stocks": symbols, "min_price": low, "max_price": high}
    if not sim.novel("filter_stocks_by_price", **arguments):
        return None
    calls = [Call("filter_stocks_by_price", arguments)]
    sim.commit(calls)
    fields = {"syms": tickers(rng, symbols), "lo": money(rng, low), "hi": money(rng, high)}
    vague, supply = pick(rng, V.FILTER_VAGUE).format(**fields), pick(rng, V.FILTER_SUPPLY).format(**fields)
    return Piece("filter", pick(rng, V.FILTER).format(**fields), calls, 0, vague, supply, high)


def op_notify(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    symbols = rng.sample(sorted(sim.bot.stocks), rng.randint(2, 4))
    threshold = float(pick(rng, (0.25, 0.5, 0.75, 1, 1.2, 1.5, 2, 2.5, 3)))
    if not sim.novel("notify_price_change", stocks=symbols, threshold=threshold):
        return None
    calls = [Call("notify_price_change", {"stocks": symbols, "threshold": threshold})]
    sim.commit(calls)
    fields = {"syms": tickers(rng, symbols), "pct": f"{threshold:g}"}
    vague, supply = pick(rng, V.NOTIFY_VAGUE).format(**fields), pick(rng, V.NOTIFY_SUPPLY).format(**fields)
    return Piece("notify", pick(rng, V.NOTIFY).format(**fields), calls, 0, vague, supply, threshold)


_TRANSACTIONS = {"all": V.TRANSACTIONS_ALL, "from": V.TRANSACTIONS_FROM, "range": V.TRANSACTIONS_RANGE}


def op_transactions(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    start, end = sorted(f"2024-{pick(rng, ('08', '08', '09'))}-{rng.randint(1, 28):02d}" for _ in range(2))
    variant = pick(rng, ("all", "from", "from", "range"))
    arguments = {"start_date": start, "end_date": end} if variant == "range" else {"start_date": start}
    arguments = {} if variant == "all" else arguments
    if not sim.bot.authenticated or start == end or not sim.novel("get_transaction_history", **arguments):
        return None
    calls = [Call("get_transaction_history", arguments)]
    sim.commit(calls)
    text = pick(rng, _TRANSACTIONS[variant]).format(start=start, end=end)
    vague, supply = pick(rng, V.TRANSACTIONS_VAGUE), pick(rng, V.TRANSACTIONS_SUPPLY).format(start=start)
    return Piece("transactions", text, calls, 0, vague, supply, start if variant == "from" else None)


def op_logout(rng: random.Random, sim: Sim, budget: int) -> Piece | None:
    if not sim.bot.authenticated:
        return None
    calls = [Call("trading_logout")]
    sim.commit(calls)
    return Piece("logout", pick(rng, V.LOGOUT), calls)


#: Operations and how often a request slot tries each.
OPERATIONS: dict[str, tuple[Callable[..., Piece | None], int]] = {
    "status": (op_read("status", "trading_get_login_status", V.LOGIN_STATUS, login=False), 1),
    "time": (op_read("time", "get_current_time", V.TIME, login=False), 1),
    "account": (op_read("account", "get_account_info", V.ACCOUNT), 4),
    "history": (op_read("history", "get_order_history", V.HISTORY), 3),
    "watchlist": (op_read("watchlist", "get_watchlist", V.WATCHLIST), 3),
    "deposit": (op_deposit, 4),
    "withdraw": (op_withdraw, 3),
    "withdraw_all": (op_withdraw_all, 1),
    "lookup": (op_lookup, 3),
    "quote": (op_quote, 5),
    "order": (op_order, 8),
    "details": (op_details, 4),
    "cancel": (op_cancel, 4),
    "check_cancel": (lambda rng, sim, budget: op_cancel(rng, sim, budget, check=True), 2),
    "watch_add": (op_watch_add, 4),
    "watch_remove": (op_watch_remove, 3),
    "sector": (op_sector, 1),
    "filter": (op_filter, 3),
    "notify": (op_notify, 3),
    "transactions": (op_transactions, 2),
}
_NAMES = list(OPERATIONS)
_WEIGHTS = [weight for _, weight in OPERATIONS.values()]


# --------------------------------------------------------------------------------------------------------------
# The generator


class TradingGenerator(Generator):
    """Trading tasks: an account, then turns of requests (see the module docstring for the operations)."""

    name = "trading"
    domains = ("TradingBot",)

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        scenario, focus, distractors = draw_state(rng, knobs)
        sim = Sim(scenario, knobs)
        sim.focus = focus
        drawn = []
        depth = 0
        for index in range(turns):
            turn, turn_depth = self._turn(rng, sim, last=index == turns - 1)
            drawn.append(turn)
            depth = max(depth, turn_depth)
        return Draft(
            domains=list(self.domains),
            initial_config={"TradingBot": scenario},
            turns=drawn,
            depth=depth,
            state_size=knobs.state_size,
            distractors=distractors,
        )

    def _turn(self, rng: random.Random, sim: Sim, last: bool) -> tuple[Turn, int]:
        """One turn: a login first if logged out, then one to three requests within the call budget."""
        sim.start_turn()
        before_text, before_numbers = sim.text, set(sim.numbers)
        budget = sim.knobs.max_calls_per_turn
        pieces: list[Piece] = []
        if not sim.bot.authenticated:
            pieces.append(op_login(rng, sim, budget))
        wanted = 1 + (rng.random() < 0.25) + (rng.random() < 0.05)
        wanted += sum(rng.random() < 0.3 for _ in range(budget - 3))  # a larger budget asks for longer turns
        for _ in range(10):
            left = budget - sum(len(piece.calls) for piece in pieces)
            if len(pieces) >= wanted or left <= 0:
                break
            name = rng.choices(_NAMES, _WEIGHTS)[0]
            if any(piece.op == name for piece in pieces):
                continue  # "deposit $50. Then deposit $80." reads like a mistake
            piece = OPERATIONS[name][0](rng, sim, left)
            if piece is not None:
                pieces.append(piece)
        left = budget - sum(len(piece.calls) for piece in pieces)
        if last and left and rng.random() < 0.2 and (logout := op_logout(rng, sim, left)):
            pieces.append(logout)
        if not pieces:
            pieces.append(op_deposit(rng, sim, budget))
        text = pieces[0].text
        for piece in pieces[1:]:
            text = join_requests(rng, text, piece.text)
        withheld = self._withheld(rng, pieces, before_text, before_numbers)
        sim.learn([text])
        turn = Turn(
            tidy(text),
            [call for piece in pieces for call in piece.calls],
            withheld,
            [reference for piece in pieces for reference in piece.references],
        )
        return turn, max(piece.depth for piece in pieces)

    @staticmethod
    def _withheld(rng: random.Random, pieces: list[Piece], text: str, numbers: set[float]) -> Withheld | None:
        """The turn without one value a request gave, if one is still unknown to the agent."""
        candidates = [index for index, piece in enumerate(pieces) if piece.hidden is not None]
        if not candidates:
            return None
        chosen = pick(rng, candidates)
        texts = [piece.vague if index == chosen else piece.text for index, piece in enumerate(pieces)]
        vague = texts[0]
        for part in texts[1:]:
            vague = join_requests(rng, vague, part)
        hidden = pieces[chosen].hidden
        if isinstance(hidden, int | float):
            known = float(hidden) in numbers or float(hidden) in numbers_in(vague)
        else:
            known = str(hidden) in text or str(hidden) in vague
        return None if known else Withheld(tidy(vague), tidy(pieces[chosen].supply))

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        """Orders (``kind="order"``) as ``id|side|symbol|status``."""
        bot = domains["TradingBot"]
        assert isinstance(bot, TradingBot)
        return [order_entity(key, order) for key, order in bot.orders.items() if isinstance(order, dict)]

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        """What the argument-free reads show (see :func:`observable_texts`)."""
        bot = domains["TradingBot"]
        assert isinstance(bot, TradingBot)
        return observable_texts(bot)


register_generator(TradingGenerator)
