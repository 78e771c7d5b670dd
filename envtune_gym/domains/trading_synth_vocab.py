"""Vocabularies, request templates, phrasing helpers and the initial state of the trading task generator
(:mod:`envtune_gym.domains.trading_synth`).

Templates are ``str.format`` strings. Every value a ground-truth call takes is written into the text literally
(the grounded gate looks for it): tickers bare or quoted, amounts as users write money, dates as ``YYYY-MM-DD``,
and the order side as the capitalised ``Buy`` or ``Sell`` that ``place_order`` takes.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from typing import Any

from envtune_gym.domains.trading import TradingBot
from envtune_gym.domains.trading_data import DEFAULT_STOCKS, SYMBOLS_BY_NAME
from envtune_gym.synth.generator import Knobs
from envtune_gym.synth.phrasing import LAST_NAMES
from envtune_gym.tools import serialize_result

#: Companies ``get_symbol_by_name`` knows, by symbol (Amazon and Gorilla get stock data in our states).
COMPANIES: dict[str, str] = {symbol: name for name, symbol in SYMBOLS_BY_NAME.items()}
#: A typical price per named symbol, around which a state draws its prices.
BASE_PRICES: dict[str, float] = {
    **{symbol: row["price"] for symbol, row in DEFAULT_STOCKS.items()},
    "AMZN": 178.4, "GORI": 64.3, "F": 11.8, "GM": 47.9,
}  # fmt: skip
#: Made-up listed stocks with no company name: users can only name them by ticker.
EXTRA_TICKERS: tuple[str, ...] = (
    "KLRN", "VANT", "BRDG", "HLXO", "MRWD", "PYLN", "CRSC", "DNTA", "FJRD", "OKTV", "SLTE", "TRVX",
)  # fmt: skip
SECTORS_ASKED: tuple[str, ...] = ("Technology", "Automobile")
USER_WORDS: tuple[str, ...] = (
    "kestrel", "marlin", "juniper", "quartz", "harbor", "cobalt", "saffron", "tundra", "willow", "ember",
    "falcon", "meridian", "orchid", "pioneer", "summit", "lagoon", "granite", "aurora", "cedar", "zephyr",
)  # fmt: skip
PASSWORD_SYMBOLS: tuple[str, ...] = ("#", "!", "-", "_", "@", "$", "%", "&")
STATUS_WORDS: dict[str, str] = {
    "Open": "open",
    "Pending": "pending",
    "Completed": "completed",
    "Cancelled": "cancelled",
}

# ----------------------------------------------------------------------------------------------------------------
# Requests, by operation. Fields: {user} {password} {amount} {name} {sym} {syms} {n} {price} {lo} {hi} {pct}
# {order} (an id) {desc} (an order described) {sector} {start} {end}.

LOGIN = (
    "Log me into my trading account: username {user}, password {password}.",
    "Please sign me in. Username is {user} and the password is {password}.",
    "I need to get into my brokerage account. Use {user} as the username and {password} as the password.",
    "Can you authenticate me on the trading platform? Credentials: {user} / {password}.",
)
LOGIN_VAGUE = (
    "Log me into my trading account, my username is {user}.",
    "Please sign me in to the trading platform as {user}.",
    "Get me logged in; the username is {user}.",
)
LOGIN_SUPPLY = (
    "The password is {password}.",
    "Sorry, password: {password}.",
    "Use {password} as the password.",
)
CHECK_THEN_LOGIN = (
    "Am I logged in right now? If not, sign me in as {user} with password {password}.",
    "First check my login status, and if I'm signed out, log me in (user {user}, password {password}).",
    "Check whether my session is still active; if it isn't, log in with {user} and {password}.",
)
LOGIN_STATUS = (
    "Am I still logged in to the trading system?",
    "Quick check: is my trading session active?",
    "Could you confirm whether I'm currently signed in?",
)
TIME = (
    "What time is it on the trading platform right now?",
    "Tell me the current time according to the market system.",
    "What's the platform clock showing?",
)
ACCOUNT = (
    "How much money do I have in my trading account?",
    "Show me my account details, balance included.",
    "What's my current account balance?",
    "Pull up my account information, please.",
)
DEPOSIT = (
    "Deposit {amount} into my trading account.",
    "Please add {amount} to my account balance.",
    "Fund my account with {amount}.",
    "Top up the account by {amount}, please.",
)
DEPOSIT_VAGUE = (
    "I'd like to put some money into my trading account.",
    "Please fund my account.",
    "Add some cash to my balance, would you?",
)
DEPOSIT_SUPPLY = ("Deposit {amount}.", "Make it {amount}.", "Put in {amount}.")
WITHDRAW = (
    "Withdraw {amount} from my account.",
    "Please take {amount} out of my trading balance.",
    "I need {amount} withdrawn from the account.",
    "Cash out {amount} for me.",
)
WITHDRAW_VAGUE = (
    "I want to withdraw some money from my account.",
    "Take some cash out of my trading balance, please.",
    "Please make a withdrawal for me.",
)
WITHDRAW_SUPPLY = ("Withdraw {amount}.", "The amount is {amount}.", "Make it {amount}, please.")
WITHDRAW_ALL = (
    "Check my balance and withdraw all of it.",
    "Empty my trading account: look up the balance and withdraw every cent.",
    "Find out how much is in my account and take out the whole amount.",
)
WITHDRAW_ALL_KNOWN = (
    "Withdraw the entire balance you just showed me.",
    "Take out all of the money that's in the account now.",
    "Cash out everything that is left in my account.",
)
LOOKUP = (
    "What's the ticker symbol for {name}?",
    "Look up the stock symbol of {name} for me.",
    "I can never remember it: which symbol does {name} trade under?",
    "Find the ticker of {name}.",
)
LOOKUP_VAGUE = (
    "I need a company's ticker symbol.",
    "Can you look up a stock symbol for me?",
    "Find the ticker of a company I'm interested in.",
)
LOOKUP_SUPPLY = ("The company is {name}.", "It's {name}.", "I meant {name}.")
QUOTE_SYMBOL = (
    "Show me the current stock info for {sym}.",
    "How is {sym} doing? Give me its price and moving averages.",
    "Pull up the latest quote for {sym}.",
    "Get me the stock details of {sym}.",
)
QUOTE_NAME = (
    "How is {name} stock doing today? Find its ticker and show me the stock info.",
    "Look up {name}'s symbol and then its current stock details.",
    "I'd like the latest figures on {name}: get the symbol first, then the quote.",
)
QUOTE_NAME_VAGUE = (
    "Look up a company's ticker and show me its current stock info.",
    "I want the latest figures on a company I follow: symbol first, then the quote.",
    "How is one of my companies doing? Find its symbol and the stock details.",
)
QUOTE_NAME_SUPPLY = ("The company is {name}.", "It's {name}.", "I'm asking about {name}.")
QUOTE_KNOWN = (
    "Now show me the stock info for that symbol.",
    "Get the current quote for the ticker you just found.",
    "What are that stock's current price and averages?",
)
ORDER_PRICE = {
    "Buy": (
        "Buy {n} shares of {sym} at {price}.",
        "Place a Buy order for {n} {sym} shares at {price} each.",
        "I'd like to put in a Buy order: {n} shares of {sym}, limit {price}.",
        "Buy {sym}: {n} shares at {price} a share.",
    ),
    "Sell": (
        "Sell {n} shares of {sym} at {price}.",
        "Place a Sell order for {n} {sym} shares at {price} each.",
        "I want to submit a Sell order: {n} shares of {sym} at {price}.",
        "Sell {sym}: {n} shares at {price} per share.",
    ),
}
ORDER_CURRENT = {
    "Buy": (
        "Buy {n} shares of {sym} at its current price.",
        "Check the price of {sym} and place a Buy order for {n} shares at that price.",
        "Buy {n} {sym} shares at whatever it is trading at right now.",
    ),
    "Sell": (
        "Sell {n} shares of {sym} at the current market price.",
        "Get the latest {sym} price and place a Sell order for {n} shares at it.",
        "Sell {n} of my {sym} shares at today's price.",
    ),
}
ORDER_CURRENT_NAME = {
    "Buy": (
        "Buy {n} shares of {name} at the current price; you'll need to find its ticker first.",
        "Find {name}'s symbol, check its price, and Buy {n} shares at that price.",
        "Buy {n} shares of {name} at the going rate.",
    ),
    "Sell": (
        "Sell {n} shares of {name} at the current price; look up the ticker first.",
        "Find {name}'s symbol and latest price, then Sell {n} shares at it.",
        "Sell {n} of my {name} shares at the going rate.",
    ),
}
ORDER_KNOWN_PRICE = {
    "Buy": (
        "Buy {n} shares of {sym} at the price you just found.",
        "Good, now Buy {n} {sym} shares at that price.",
        "Buy {n} shares of {sym} at the quoted price.",
    ),
    "Sell": (
        "Sell {n} shares of {sym} at the price you just looked up.",
        "Alright, Sell {n} {sym} shares at that quoted price.",
        "Sell {n} shares of {sym} at that price.",
    ),
}
ORDER_VAGUE = {
    "Buy": (
        "Buy some {sym} shares {at}.",
        "I want to Buy {sym} {at}.",
        "Place a Buy order on {sym} {at}, please.",
    ),
    "Sell": (
        "Sell some of my {sym} shares {at}.",
        "I want to Sell {sym} {at}.",
        "Place a Sell order on {sym} {at}.",
    ),
}
ORDER_SUPPLY = ("{n} shares.", "Make it {n} shares.", "Go with {n} shares, please.")
DETAILS_ID = (
    "Show me the details of order {order}.",
    "What's the status of order #{order}?",
    "Pull up order {order} for me.",
)
DETAILS_DESC = (
    "What are the details of {desc}?",
    "Show me {desc}.",
    "Can you look up {desc} and tell me everything about it?",
)
DETAILS_LAST = (
    "Show me the details of the order you just placed.",
    "What does that new order look like now?",
    "Pull up the order you just created.",
)
CANCEL_ID = (
    "Cancel order {order}.",
    "Please cancel order #{order}.",
    "I've changed my mind about order {order}; cancel it.",
)
CANCEL_DESC = ("Cancel {desc}.", "Please cancel {desc}.", "I no longer want {desc}, cancel it.")
CANCEL_LAST = (
    "Actually, cancel that order.",
    "On second thought, cancel the order you just placed.",
    "Scrap that order, please.",
)
CHECK_CANCEL_DESC = (
    "Look up {desc} and then cancel it.",
    "Check the details of {desc}, then cancel it.",
    "Find {desc}, show it to me, and cancel it.",
)
CHECK_CANCEL_ID = (
    "Check order {order} and cancel it if it's still open.",
    "Look at order {order}, then cancel it.",
    "Show me order {order} and then cancel it.",
)
CHECK_CANCEL_LAST = (
    "Check the order you just placed, then cancel it.",
    "Show me that new order and cancel it.",
    "Look up the order you just made and cancel it.",
)
HISTORY = (
    "List the ids of all my orders.",
    "Show me my order history.",
    "Which orders are on my account?",
)
WATCHLIST = ("Show me my watchlist.", "What's on my watchlist right now?", "List the stocks I'm watching.")
WATCH_ADD = (
    "Add {sym} to my watchlist.",
    "Put {sym} on my watchlist, please.",
    "I want to keep an eye on {sym}; add it to the watchlist.",
)
WATCH_ADD_NAME = (
    "Find the ticker of {name} and add it to my watchlist.",
    "Start watching {name} for me (look up its symbol first).",
    "Put {name} on my watchlist; you'll need its symbol.",
)
WATCH_ADD_VAGUE = (
    "Add a stock to my watchlist.",
    "I want to watch another stock.",
    "Put something on my watchlist for me.",
)
WATCH_ADD_SUPPLY = ("It's {sym}.", "The ticker is {sym}.", "Add {sym}.")
WATCH_REMOVE = (
    "Remove {sym} from my watchlist.",
    "Take {sym} off the watchlist.",
    "I'm done watching {sym}; drop it from my list.",
)
WATCH_REMOVE_NAME = (
    "Look up {name}'s ticker and take it off my watchlist.",
    "Stop watching {name}; find its symbol and remove it from the watchlist.",
    "Drop {name} from my watchlist (you'll need the symbol).",
)
SECTOR = (
    "Which stocks are listed in the {sector} sector?",
    "Give me the available stocks in {sector}.",
    "List the {sector} sector's stocks.",
)
FILTER = (
    "Which of {syms} trade between {lo} and {hi}?",
    "Filter {syms} down to the ones priced from {lo} to {hi}.",
    "Out of {syms}, which are in the {lo} to {hi} price range?",
)
FILTER_VAGUE = (
    "Which of {syms} fall in my price range?",
    "Filter {syms} by my price range, please.",
    "Tell me which of {syms} are priced within my budget band.",
)
FILTER_SUPPLY = ("Between {lo} and {hi}.", "My range is {lo} to {hi}.", "From {lo} up to {hi}.")
NOTIFY = (
    "Have any of {syms} moved by {pct}% or more?",
    "Check {syms} for price changes of at least {pct}%.",
    "Alert me if any of {syms} changed by {pct} percent or more.",
)
NOTIFY_VAGUE = (
    "Did any of {syms} move significantly today?",
    "Check {syms} for big price swings.",
    "Let me know if {syms} had notable price changes.",
)
NOTIFY_SUPPLY = (
    "Use a threshold of {pct}%.",
    "Anything at or above {pct} percent counts.",
    "{pct}% is my cutoff.",
)
TRANSACTIONS_ALL = (
    "Show me every transaction on my account.",
    "List all my deposits and withdrawals.",
    "What's my full transaction history?",
)
TRANSACTIONS_FROM = (
    "Show me my transactions since {start}.",
    "List my deposits and withdrawals from {start} onwards.",
    "What transactions have there been starting {start}?",
)
TRANSACTIONS_RANGE = (
    "Show me my transactions between {start} and {end}.",
    "List my account activity from {start} up to {end}.",
    "What deposits or withdrawals happened from {start} to {end}?",
)
TRANSACTIONS_VAGUE = (
    "Show me my transactions since a certain date.",
    "I want to see recent account activity from a specific day on.",
    "List my transactions starting from a date I'll give you.",
)
TRANSACTIONS_SUPPLY = ("Since {start}.", "Starting {start}.", "From {start} on.")
LOGOUT = (
    "That's all for today; log me out.",
    "Please sign me out of the trading platform.",
    "Log out of my account now.",
)
#: Ways to join two requests of one turn; ``{b}`` keeps its capital when it starts with a value (``Buy``).
JOINS: tuple[str, ...] = ("{a} {b}", "{a} Then: {b}", "{a} After that: {b}", "{a} Also, {b_}", "{a} And {b_}")


# --------------------------------------------------------------------------------------------------------------
# Phrasing: values as users write them

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")

_KEEP_CAPITAL = {"Buy", "Sell", "I", "I'd", "I'm", "I've", "I'll"} | {
    word for name in COMPANIES.values() for word in name.split()
}


def pick(rng: random.Random, options: Any) -> Any:
    """One of ``options`` (a sequence)."""
    return options[rng.randrange(len(options))]


def quoted(rng: random.Random, text: str) -> str:
    """``text`` set apart as users do: single, double or back quotes (bare when it has no space)."""
    styles = ["'{}'", '"{}"', "`{}`"] + (["{}"] if " " not in text else [])
    return pick(rng, styles).format(text)


def money(rng: random.Random, amount: float) -> str:
    """An amount as users write it: ``$2,500``, ``$2,500.00``, ``2500 dollars``, ``USD 2,500.00``, ``$2500``."""
    whole = amount == int(amount)
    plain = f"{amount:.2f}".rstrip("0").rstrip(".")  # not :g, which keeps six digits (12345.67 -> 12345.7)
    styles = [f"${amount:,.2f}", f"USD {amount:,.2f}", f"{plain} dollars"]
    styles += [f"${amount:,.0f}", f"${int(amount)}"] if whole else [f"${amount:.2f}"]
    return pick(rng, styles)


def numbers_in(text: str) -> set[float]:
    """The numbers written in ``text`` (thousands separators allowed), as the grounded gate reads them."""
    found = (match.replace(",", "") for match in _NUMBER.findall(text))
    return {float(number) for number in found if number[-1:].isdigit()}


def tidy(text: str) -> str:
    """A message without the doubled full stop a name that ends in one leaves ("It's Quasar Ltd..")."""
    return text.replace("..", ".")


def join_requests(rng: random.Random, first: str, second: str) -> str:
    """Two requests as one message; the second loses its capital unless it starts with a value or a name."""
    word = second.split(" ", 1)[0].strip(",.:;!?'")
    lowered = second if word in _KEEP_CAPITAL or word.isupper() else second[0].lower() + second[1:]
    return pick(rng, JOINS).format(a=first, b=second, b_=lowered)


def observable_texts(bot: TradingBot) -> list[str]:
    """The account as the no-argument read tools show it: the orders' details too, since their ids are listed.

    A logged-out account shows only the clock and the login status (every other read needs a login first).
    """
    texts = [json.dumps({"current_time": "10:30 AM"}), json.dumps({"status": bool(bot.authenticated)})]
    if not bot.authenticated:
        return texts
    orders = {key: order for key, order in bot.orders.items() if isinstance(order, dict)}
    texts += [serialize_result(bot.account_info), json.dumps({"watchlist": bot.watch_list})]
    texts += [json.dumps({"history": list(bot.orders)}), json.dumps(bot.transaction_history)]
    return texts + [serialize_result(order) for order in orders.values()]


def order_entity(key: int, order: Mapping[str, Any]) -> str:
    """An order as references see it: ``id|side|symbol|status``."""
    return f"{key}|{order.get('order_type')}|{order.get('symbol')}|{order.get('status')}"


def tickers(rng: random.Random, symbols: list[str]) -> str:
    """Tickers as a list in prose: ``AAPL, NVDA and TSLA``."""
    last = pick(rng, (" and ", " or ")) if len(symbols) == 2 else pick(rng, (" and ", ", and ", " or "))
    return ", ".join(symbols[:-1]) + last + symbols[-1]


def price_band(rng: random.Random) -> tuple[float, float]:
    """A round price range, as a user would ask for one."""
    low = float(pick(rng, (0, 10, 20, 50, 80, 100, 150, 200, 250, 300, 400, 500)))
    return low, low + float(pick(rng, (50, 100, 150, 200, 300, 500, 1000, 2500)))


def credentials(rng: random.Random) -> tuple[str, str]:
    """A username and a password (BFCL checks neither; they only have to be said)."""
    user = f"{pick(rng, USER_WORDS)}{pick(rng, ('.', '_', ''))}{pick(rng, LAST_NAMES).lower()}"
    user += str(rng.randint(1, 99)) if rng.random() < 0.5 else ""
    password = f"{pick(rng, USER_WORDS).capitalize()}{pick(rng, PASSWORD_SYMBOLS)}{rng.randint(10, 9999)}"
    return user, password


# --------------------------------------------------------------------------------------------------------------
# The initial state


def draw_stocks(rng: random.Random) -> dict[str, dict[str, float]]:
    """Six to nine of the known stocks (the companies ``get_symbol_by_name`` knows, Ford, GM) and up to two
    made-up tickers, at drawn prices.

    A small market on purpose: every snapshot the gates take copies it (in the domain and in its shadow).
    """
    named = sorted(BASE_PRICES)
    bases = {symbol: BASE_PRICES[symbol] for symbol in sorted(rng.sample(named, rng.randint(6, 9)))}
    for symbol in rng.sample(EXTRA_TICKERS, rng.randint(0, 2)):
        bases[symbol] = rng.uniform(8, 900)
    stocks = {}
    for symbol, base in bases.items():
        price = round(base * rng.uniform(0.85, 1.15), 2)
        stocks[symbol] = {
            "price": price,
            "percent_change": round(rng.uniform(-3.5, 3.5), 2),
            "volume": round(rng.uniform(0.2, 4.5), 3),
            "MA(5)": round(price * rng.uniform(0.97, 1.03), 2),
            "MA(20)": round(price * rng.uniform(0.94, 1.06), 2),
        }
    return stocks


def draw_orders(
    rng: random.Random, stocks: dict[str, dict[str, float]], count: int, distractors: int
) -> tuple[dict[str, dict[str, Any]], list[int], int]:
    """``count`` orders, ``distractors`` of them near misses of another (same stock and side or status).

    Returns the orders by id (as strings, as JSON keeps them), the ids that have a near miss, and the next id.
    """
    statuses = ("Open", "Pending", "Completed", "Completed", "Cancelled")
    rows = [
        (pick(rng, sorted(stocks)), pick(rng, ("Buy", "Sell")), pick(rng, statuses))
        for _ in range(count - distractors)
    ]
    twins = []
    for index in range(distractors):
        symbol, side, status = rows[index % len(rows)]
        if rng.random() < 0.5:
            twins.append(
                (
                    symbol,
                    side,
                    pick(rng, [s for s in ("Open", "Pending", "Completed", "Cancelled") if s != status]),
                )
            )
        else:
            twins.append((symbol, "Sell" if side == "Buy" else "Buy", status))
    focus_rows = set(range(min(distractors, len(rows))))
    ordered = [(row, index in focus_rows) for index, row in enumerate(rows)] + [(row, False) for row in twins]
    rng.shuffle(ordered)
    key, orders, focus = rng.randint(10000, 89000), {}, []
    for (symbol, side, status), is_focus in ordered:
        key += rng.randint(1, 40)
        price = round(stocks[symbol]["price"] * rng.uniform(0.9, 1.1), 2)
        orders[str(key)] = {
            "id": key,
            "order_type": side,
            "symbol": symbol,
            "price": price,
            "amount": rng.randint(1, 80),
            "status": status,
        }
        if is_focus:
            focus.append(key)
    return orders, focus, key + 1


def draw_transactions(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Past deposits and withdrawals in August 2024, oldest first."""
    stamps = sorted(
        f"2024-08-{rng.randint(1, 31):02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
        for _ in range(count)
    )
    return [
        {
            "type": pick(rng, ("deposit", "withdrawal")),
            "amount": float(rng.randrange(100, 8000, 25)),
            "timestamp": stamp,
        }
        for stamp in stamps
    ]


def draw_state(rng: random.Random, knobs: Knobs) -> tuple[dict[str, Any], list[int], int]:
    """The TradingBot scenario: ``knobs.state_size`` orders, watch-list entries and past transactions in all.

    Returns the scenario, the focus orders (those with a near miss) and the number of near misses.
    """
    stocks = draw_stocks(rng)
    size = knobs.state_size
    watched = min(rng.randint(0, size // 3), len(stocks) - 4)
    past = rng.randint(0, size // 4)
    count = size - watched - past
    distractors = min(knobs.distractors, count // 2)
    orders, focus, counter = draw_orders(rng, stocks, count, distractors)
    scenario = {
        "orders": orders,
        "account_info": {
            "account_id": rng.randint(10000, 99999),
            "balance": float(pick(rng, (rng.randrange(2000, 60000, 50), round(rng.uniform(1500, 40000), 2)))),
            "binding_card": rng.randint(4 * 10**15, 6 * 10**15),
        },
        "authenticated": rng.random() < 0.8,
        "market_status": "Open" if rng.random() < 0.65 else "Closed",
        "order_counter": counter,
        "stocks": stocks,
        "watch_list": rng.sample(sorted(stocks), watched),
        "transaction_history": draw_transactions(rng, past),
    }
    return scenario, focus, distractors
