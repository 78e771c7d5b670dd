"""Procedural tasks for the travel domain (BFCL's ``TravelAPI``): the ``travel`` generator.

Over 600 lines on purpose: one short drawing function per operation (18 of them), and a domain's operations read
best side by side.

The initial state holds the user's credit cards and earlier bookings (``knobs.state_size`` of them, of which
``knobs.distractors`` are near misses of others: a second card of the same holder and network, a second booking
on the same route or the same day), a budget limit, and either a live session whose access token the user states
when a request first needs it (BFCL's tasks start so) or no session, in which case that request logs in first.

Operations (tool usage patterns), each with several phrasings (templates in :mod:`.travel_synth_vocab`):

- ``quote``: ``get_flight_cost``; either end named by code or by city (``get_nearest_airport_by_city`` first);
- ``nearest``: ``get_nearest_airport_by_city``;
- ``book``: ``book_flight`` paid with a card named by id, described ("my card ending in 4410":
  ``get_all_credit_cards`` first) or from an earlier turn ("the new card"); or priced first and booked if under a
  limit (``get_flight_cost``, ``book_flight``); or the flight an earlier turn quoted;
- ``invoice``, ``cancel``, ``insure``, ``support``: ``retrieve_invoice``, ``cancel_booking``,
  ``purchase_insurance``, ``contact_customer_support`` on the booking just made, an earlier one by its id, or
  one described ("my flight from Chicago to Boston": ``get_booking_history`` first, for its id);
- ``balance``, ``cards``, ``history``: ``get_credit_card_balance``, ``get_all_credit_cards``,
  ``get_booking_history``;
- ``register``: ``register_credit_card`` (later turns pay with "the new card");
- ``budget``: ``set_budget_limit``, directly or after converting a foreign amount (``compute_exchange_rate``);
- ``exchange``: ``compute_exchange_rate`` to or from USD, or of a fare quoted earlier;
- ``verify``: ``verify_traveler_information``; ``login``: ``authenticate_travel``; and the one-off reads
  ``fiscal`` (``get_budget_fiscal_year``), ``airports`` (``list_all_airports``), ``status``
  (``travel_get_login_status``).

Most operations also have an under-specified phrasing and a follow-up that gives the value (the date, the
amount, which booking, the passport number, ...), which the miss_param category uses.

Drafting runs every call on a private :class:`~envtune_gym.domains.travel.TravelAPI`, so ids, fares and balances
are the env's, and keeps what the user and the agent know so far. That is what makes the gates pass by
construction: a read whose result an earlier call already produced is not drawn (it would not be necessary),
every write changes the state, a description is used only where it picks one entity (long-context padding
included), and no call's chain of result-derived arguments goes deeper than ``knobs.max_depth``.
"""

from __future__ import annotations

import pickle
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envtune_gym.domains import travel_synth_vocab as V
from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.domains.travel import TravelAPI
from envtune_gym.domains.travel_data import CLASS_FACTORS, USD_RATES
from envtune_gym.results import serialize_result
from envtune_gym.synth.draft import Call, Draft, Reference, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs, register_generator
from envtune_gym.synth.phrasing import money, pick, quoted

__all__ = ["OPERATIONS", "TravelGenerator"]

DOMAIN = "TravelAPI"
#: Tools that change the state: drawn only where they change it, and never refused for repeating a result.
WRITES = frozenset(
    {"authenticate_travel", "set_budget_limit", "register_credit_card", "book_flight", "cancel_booking",
     "purchase_insurance"}
)  # fmt: skip
#: How many calls a turn aims at (1 to 3, capped by ``max_calls_per_turn``), and how often.
_TARGET_CALLS = (1, 1, 1, 1, 1, 1, 2, 2, 3)


class _Skip(Exception):
    """The operation cannot be drawn here; the caller restores the drafting state and tries another."""


def _level(*sources: int | None) -> int:
    """A call's depth: 0 when no argument comes from a result, else one more than its deepest source."""
    known = [source for source in sources if source is not None]
    return 1 + max(known) if known else 0


@dataclass
class _Quote:
    """A fare quoted in an earlier turn ("book that flight", "that fare in EUR")."""

    route: tuple[str, str]
    names: tuple[str, str]
    levels: tuple[int | None, int | None]
    date: str
    travel_class: str
    cost: float
    level: int


@dataclass
class _Known:
    """What the user and the agent know while drafting (saved and restored with the simulated API).

    ``cards`` and ``bookings`` map the ids the conversation has shown to the depth of the call that showed them
    (``None``: the user said it). ``produced`` maps every result text so far to its call's depth.
    """

    corpus: str
    numbers: set[float]
    produced: dict[str, int] = field(default_factory=dict)
    fares: set[int] = field(default_factory=set)
    cards: dict[str, int | None] = field(default_factory=dict)
    bookings: dict[str, int | None] = field(default_factory=dict)
    token_level: int | None = None
    token_told: bool = False
    last_booking: str | None = None
    last_card: str | None = None
    new_card: str | None = None
    quote: _Quote | None = None
    depth: int = 0
    calls: list[Call] = field(default_factory=list)
    room: int = 0
    # the operation being drawn: text around its request (a login, the token) and its references
    prefix: str = ""
    suffix: str = ""
    references: list[Reference] = field(default_factory=list)


@dataclass
class _Part:
    """One operation's request within a turn, and how it reads with a value withheld."""

    text: str
    vague: str | None = None
    supply: str | None = None
    held: Any = None
    references: list[Reference] = field(default_factory=list)


class _Draw:
    """A task being drawn: the simulated API, what is known, and the helpers the operations share."""

    def __init__(self, rng: random.Random, knobs: Knobs, scenario: V.Scenario) -> None:
        self.rng = rng
        self.knobs = knobs
        self.api = TravelAPI.from_scenario(scenario.config)
        self.initial_cards = tuple(self.api.credit_card_list)
        self.initial_bookings = tuple(self.api.booking_record)
        self.user, self.login = scenario.user, scenario.login
        self.targets = scenario.targets  # ids with near misses: turns refer to these more often
        seen = " ".join(TravelGenerator.readable(self.api))
        self.k = _Known(corpus=seen, numbers=V.numbers(seen))
        self.start_turn()

    # -- bookkeeping ---------------------------------------------------------------------------------------------

    def start_turn(self) -> None:
        """A new turn: its call budget, and the entities a description is matched against (those at its start)."""
        self.k.calls, self.k.room = [], self.knobs.max_calls_per_turn
        self.seen_at_start = (self.k.corpus, frozenset(self.k.numbers))
        self.cards_at_start = [V.card_entity(i, c) for i, c in self.api.credit_card_list.items()]
        self.cards_at_start += V.PADDING_ENTITIES[0]
        self.bookings_at_start = [V.booking_entity(i, b) for i, b in self.api.booking_record.items()]
        self.bookings_at_start += V.PADDING_ENTITIES[1]

    def save(self) -> bytes:
        return pickle.dumps((self.api, self.k), protocol=pickle.HIGHEST_PROTOCOL)

    def restore(self, saved: bytes) -> None:
        self.api, self.k = pickle.loads(saved)

    def learn(self, text: str) -> None:
        """Something the agent has now seen (a user message or a result)."""
        self.k.corpus += "\x00" + text
        self.k.numbers |= V.numbers(text)

    def fresh(self, value: Any) -> bool:
        """Whether nothing seen before this turn shows ``value`` (so the turn can withhold it: asked without
        it, the turn runs nothing, so its calls' results do not count)."""
        corpus, numbers = self.seen_at_start
        if isinstance(value, float):
            return value not in numbers
        return str(value) not in corpus

    def run(self, name: str, level: int, **arguments: Any) -> Any:
        """Run a ground-truth call on the simulated API and record it; :class:`_Skip` where it would fail, go
        deeper than ``max_depth``, exceed the turn's calls, or repeat a read's earlier result."""
        k = self.k
        if level > self.knobs.max_depth or k.room <= 0:
            raise _Skip
        try:
            result = getattr(self.api, name)(**arguments)
        except ToolError:
            raise _Skip from None
        text = serialize_result(result)
        if name not in WRITES and text in k.produced:
            raise _Skip
        if name == "get_flight_cost":
            # Long context lists every route's fare times class factor times date factor: one quote per product.
            factor = CLASS_FACTORS[arguments["travel_class"]] * V.date_factor(arguments["travel_date"])
            if factor in k.fares:
                raise _Skip
            k.fares.add(factor)
        k.produced[text] = level
        self.learn(text)
        k.calls.append(Call(name, arguments))
        k.room -= 1
        k.depth = max(k.depth, level)
        return result

    def part(self, templates: tuple[str, ...], values: dict[str, Any], **withheld: Any) -> _Part:
        """The operation's request (around it the login or token it needs), with its withheld form if given
        (``vague``/``supply`` templates and the ``held`` value) and the value is not already known."""
        k = self.k
        text = k.prefix + pick(self.rng, templates).format(**values) + k.suffix
        result = _Part(text.strip(), references=list(k.references))
        held = withheld.get("held")
        if held is not None and self.fresh(held):
            result.vague = (k.prefix + pick(self.rng, withheld["vague"]).format(**values) + k.suffix).strip()
            result.supply = pick(self.rng, withheld["supply"]).format(**values)
            result.held = held
        return result

    def class_word(self, travel_class: str) -> str:
        return pick(self.rng, V.CLASS_WORDS[travel_class])

    # -- values the operations share -----------------------------------------------------------------------------

    def token(self) -> tuple[str, int | None]:
        """The access token and its depth; logs in first (a logged-out task) or has the user state it."""
        k = self.k
        if self.api.token_expires_in in (None, 0):
            if self.login is None:
                raise _Skip
            token = self.run("authenticate_travel", 0, **self.login)["access_token"]
            k.token_level, k.token_told = 0, True  # the login's result shows it
            k.prefix = pick(self.rng, V.LOGIN).format(**V.login_values(self.rng, self.login)) + " "
            return token, 0
        if not k.token_told:
            k.token_told = True
            k.suffix += pick(self.rng, V.TOKEN).format(token=quoted(self.rng, self.api.access_token))
        return self.api.access_token, k.token_level

    def airport(self, code: str) -> tuple[str, int | None]:
        """How the user names an airport (its code, or its city, which a lookup turns into the code)."""
        if self.rng.random() < 0.6:
            return code, None
        city = V.CITY_OF[code]
        lookup = serialize_result({"nearest_airport": code})
        if lookup in self.k.produced:  # an earlier turn looked the city up: the code is known
            return city, self.k.produced[lookup]
        self.run("get_nearest_airport_by_city", 0, location=city)
        return city, 0

    def choose(self, ids: list[str], recent: tuple[str | None, ...]) -> str:
        """One of ``ids``: often one an earlier turn used, or one that has near misses."""
        recent_ids = [key for key in recent if key in ids]
        if recent_ids and self.rng.random() < 0.6:
            return recent_ids[0]
        targets = [key for key in ids if key in self.targets]
        if targets and self.rng.random() < 0.6:
            return pick(self.rng, targets)
        return pick(self.rng, ids)

    def card(self, usable: Callable[[dict[str, Any]], bool]) -> tuple[str, str, int | None]:
        """A usable card: how the user names it, its id and the depth its id is known at."""
        k = self.k
        ids = [key for key, card in self.api.credit_card_list.items() if usable(card)]
        if not ids:
            raise _Skip
        card_id = self.choose(ids, (k.new_card, k.last_card))
        roll = self.rng.random()
        if card_id == k.new_card and roll < 0.7:
            return pick(self.rng, V.NEW_CARD), card_id, k.cards[card_id]
        if card_id == k.last_card and card_id in k.cards and roll < 0.5:
            return pick(self.rng, V.LAST_CARD), card_id, k.cards[card_id]
        described = self.describe_card(card_id) if roll < 0.75 or card_id not in self.initial_cards else None
        if described is not None:
            if card_id not in k.cards:
                self.read_cards()
            return described, card_id, k.cards[card_id]
        if card_id not in self.initial_cards:  # the user does not know a new card's id
            raise _Skip
        k.cards[card_id] = None  # the user names it
        named = pick(self.rng, ("card {}", "my card {}", "the card with id {}"))
        return named.format(quoted(self.rng, card_id)), card_id, None

    def booking(self, usable: Callable[[dict[str, Any]], bool]) -> tuple[str, str, int | None]:
        """A usable booking: how the user names it, its id and the depth its id is known at."""
        k = self.k
        ids = [key for key, booking in self.api.booking_record.items() if usable(booking)]
        if not ids:
            raise _Skip
        booking_id = self.choose(ids, (k.last_booking,))
        if booking_id == k.last_booking and self.rng.random() < 0.75:
            return pick(self.rng, V.LAST_BOOKING), booking_id, k.bookings[booking_id]
        described = self.describe_booking(booking_id) if self.rng.random() < 0.7 else None
        if described is None:
            if (
                booking_id not in self.initial_bookings
            ):  # the user knows an earlier booking's id, not a new one's
                raise _Skip
            k.bookings[booking_id] = None
            return pick(self.rng, V.BOOKING_BY_ID).format(quoted(self.rng, booking_id)), booking_id, None
        if booking_id not in k.bookings:
            self.read_history()
        return described, booking_id, k.bookings[booking_id]

    def read_cards(self) -> None:
        """``get_all_credit_cards``: every card id is known from here on."""
        self.run("get_all_credit_cards", 0)
        for card_id in self.api.credit_card_list:
            self.k.cards.setdefault(card_id, 0)

    def read_history(self) -> int:
        """``get_booking_history``: every booking id is known from here on. Returns the call's depth."""
        token, token_level = self.token()
        level = _level(token_level)
        self.run("get_booking_history", level, access_token=token)
        for booking_id in self.api.booking_record:
            self.k.bookings.setdefault(booking_id, level)
        return level

    def unique(
        self, entities: list[str], chosen: str, options: list[tuple[str, V.Match]], kind: str
    ) -> str | None:
        """The first of ``options`` (phrase, matcher), in random order, that picks ``chosen`` alone among
        ``entities`` (at the turn's start, padding included); its :class:`Reference` joins the operation's."""
        if chosen not in entities:  # made in this turn: only "that booking" / "the new card" can name it
            return None
        self.rng.shuffle(options)
        for phrase, match in options:
            if sum(1 for entity in entities if match(entity)) == 1 and match(chosen):
                self.k.references.append(Reference(kind, phrase, chosen, match))
                return phrase
        return None

    def describe_card(self, card_id: str) -> str | None:
        card = self.api.credit_card_list[card_id]
        options = V.card_descriptions(card)
        return self.unique(self.cards_at_start, V.card_entity(card_id, card), options, "card")

    def describe_booking(self, booking_id: str) -> str | None:
        booking = self.api.booking_record[booking_id]
        options = V.booking_descriptions(self.rng, booking)
        return self.unique(self.bookings_at_start, V.booking_entity(booking_id, booking), options, "booking")


# -- operations: each draws one request and runs its calls on the simulated API, or raises _Skip ----------------


def _quote(d: _Draw) -> _Part:
    route, date, travel_class = pick(d.rng, V.BOOKABLE), V.travel_date(d.rng), pick(d.rng, V.CLASSES)
    (src, src_level), (dst, dst_level) = d.airport(route[0]), d.airport(route[1])
    level = _level(src_level, dst_level)
    arguments = V.flight(route, date, travel_class)
    cost = d.run("get_flight_cost", level, **arguments)["travel_cost_list"][0]
    d.k.quote = _Quote(route, (src, dst), (src_level, dst_level), date, travel_class, cost, level)
    values = {"src": src, "dst": dst, "date": date, "cls": d.class_word(travel_class)}
    return d.part(V.QUOTE, values, vague=V.QUOTE_VAGUE, supply=V.DATE_SUPPLY, held=date)


def _nearest(d: _Draw) -> _Part:
    city = pick(d.rng, V.CITIES)
    d.run("get_nearest_airport_by_city", 0, location=city)
    return d.part(V.NEAREST, {"city": city}, vague=V.NEAREST_VAGUE, supply=V.NEAREST_SUPPLY, held=city)


def _book(d: _Draw) -> _Part:
    """Book a flight: named in full, priced first and booked under a limit, or the one an earlier turn quoted."""
    quote = d.k.quote
    style = pick(d.rng, ("plain", "plain", "cheap") + (("quoted", "quoted") if quote else ()))
    token, token_level = d.token()
    if style == "quoted":
        assert quote is not None
        route, date, travel_class = quote.route, quote.date, quote.travel_class
        (src, dst), (src_level, dst_level) = quote.names, quote.levels
    else:
        route, date, travel_class = pick(d.rng, V.BOOKABLE), V.travel_date(d.rng), pick(d.rng, V.CLASSES)
        (src, src_level), (dst, dst_level) = d.airport(route[0]), d.airport(route[1])
    cost = V.fare(route, date, travel_class)
    limit = d.api.budget_limit or 0
    card, card_id, card_level = d.card(lambda c: V.balance(c) >= max(cost, limit))
    arguments = V.flight(route, date, travel_class)
    if style == "cheap":
        d.run("get_flight_cost", _level(src_level, dst_level), **{**arguments})
    level = _level(token_level, src_level, dst_level, card_level)
    booked = d.run("book_flight", level, access_token=token, card_id=card_id, **arguments)
    d.k.bookings[booked["booking_id"]] = level
    d.k.last_booking, d.k.last_card = booked["booking_id"], card_id
    if style == "quoted":
        d.k.quote = None
        return d.part(V.BOOK_QUOTED, {"card": card, "src": src, "dst": dst})
    values = {"src": src, "dst": dst, "date": date, "cls": d.class_word(travel_class), "card": card}
    if style == "cheap":
        values["limit"] = money(d.rng, float((int(cost) // 500 + 1) * 500))
        return d.part(V.BOOK_IF_CHEAP, values, vague=V.BOOK_IF_CHEAP_VAGUE, supply=V.DATE_SUPPLY, held=date)
    return d.part(V.BOOK, values, vague=V.BOOK_VAGUE, supply=V.DATE_SUPPLY, held=date)


def _invoice(d: _Draw) -> _Part:
    token, token_level = d.token()
    booking, booking_id, booking_level = d.booking(lambda b: True)
    d.run("retrieve_invoice", _level(token_level, booking_level), access_token=token, booking_id=booking_id)
    values = {"booking": booking}
    return d.part(V.INVOICE, values, vague=V.INVOICE_VAGUE, supply=V.BOOKING_SUPPLY, held=booking_id)


def _cancel(d: _Draw) -> _Part:
    token, token_level = d.token()
    booking, booking_id, booking_level = d.booking(lambda b: True)
    d.run("cancel_booking", _level(token_level, booking_level), access_token=token, booking_id=booking_id)
    if d.k.last_booking == booking_id:
        d.k.last_booking = None
    values = {"booking": booking}
    return d.part(V.CANCEL, values, vague=V.CANCEL_VAGUE, supply=V.BOOKING_SUPPLY, held=booking_id)


def _insure(d: _Draw) -> _Part:
    token, token_level = d.token()
    booking, booking_id, booking_level = d.booking(lambda b: True)
    paid_with = d.api.booking_record[booking_id]["card_id"]
    if paid_with in d.api.credit_card_list and d.rng.random() < 0.5:
        card, card_id = pick(d.rng, ("the card I paid with", "the same card I paid for it with")), paid_with
        card_level = d.k.cards.get(paid_with, booking_level)
    else:
        card, card_id, card_level = d.card(lambda c: V.balance(c) > float("-inf"))
    cap = min(400, int(d.api.budget_limit or 400))
    cost = float(d.rng.randint(4, max(4, cap // 5)) * 5)
    kind = pick(d.rng, V.INSURANCE_TYPES)
    d.run(
        "purchase_insurance", _level(token_level, booking_level, card_level), access_token=token,
        insurance_type=kind, booking_id=booking_id, insurance_cost=cost, card_id=card_id,
    )  # fmt: skip
    d.k.last_card = card_id
    values = {"kind": kind, "booking": booking, "card": card, "cost": money(d.rng, cost)}
    return d.part(V.INSURE, values, vague=V.INSURE_VAGUE, supply=V.COST_SUPPLY, held=cost)


def _support(d: _Draw) -> _Part:
    booking, booking_id, booking_level = d.booking(lambda b: True)
    message = pick(d.rng, V.SUPPORT_MESSAGES)
    d.run("contact_customer_support", _level(booking_level), booking_id=booking_id, message=message)
    values = {"booking": booking, "message": message}
    return d.part(V.SUPPORT, values, vague=V.SUPPORT_VAGUE, supply=V.SUPPORT_SUPPLY, held=message)


def _balance_check(d: _Draw) -> _Part:
    token, token_level = d.token()
    card, card_id, card_level = d.card(lambda c: "balance" in c)
    d.run("get_credit_card_balance", _level(token_level, card_level), access_token=token, card_id=card_id)
    d.k.last_card = card_id
    return d.part(V.BALANCE, {"card": card})


def _cards(d: _Draw) -> _Part:
    d.read_cards()
    return d.part(V.CARDS, {})


def _history(d: _Draw) -> _Part:
    d.read_history()
    return d.part(V.HISTORY, {})


def _register(d: _Draw) -> _Part:
    token, token_level = d.token()
    network, prefix, length = pick(d.rng, V.NETWORKS)
    taken = {card["card_number"][-4:] for card in d.api.credit_card_list.values()}
    taken |= {entity.split("|")[1][-4:] for entity in d.cards_at_start}
    number, expires = V.card_number(d.rng, prefix, length, taken), V.expiration(d.rng)
    holder = " ".join(d.user)
    cvv = d.rng.randint(1000, 9999) if length == 15 else d.rng.randint(100, 999)
    level = _level(token_level)
    card_id = d.run(
        "register_credit_card", level, access_token=token, card_number=number, expiration_date=expires,
        cardholder_name=holder, card_verification_number=cvv,
    )["card_id"]  # fmt: skip
    d.k.cards[card_id] = level
    d.k.new_card = card_id
    values = {"number": number, "exp": expires, "holder": holder, "cvv": cvv, "net": network}
    return d.part(V.REGISTER, values, vague=V.REGISTER_VAGUE, supply=V.EXP_SUPPLY, held=expires)


def _budget(d: _Draw) -> _Part:
    token, token_level = d.token()
    if d.rng.random() < 0.4:
        code = pick(d.rng, tuple(USD_RATES))
        amount = max(50, round(d.rng.randint(4, 60) * 5 * USD_RATES[code]) * 10)  # worth $200-$3,000
        arguments = {"base_currency": code, "target_currency": "USD", "value": float(amount)}
        limit = d.run("compute_exchange_rate", 0, **arguments)["exchanged_value"]
        if limit == d.api.budget_limit:
            raise _Skip
        d.run("set_budget_limit", _level(token_level, 0), access_token=token, budget_limit=limit)
        return d.part(V.BUDGET_CONVERTED, {"amount": f"{amount:,}", "code": code})
    amount = float(d.rng.randint(4, 60) * 50)
    if amount == d.api.budget_limit:
        raise _Skip
    d.run("set_budget_limit", _level(token_level), access_token=token, budget_limit=amount)
    values = {"amount": money(d.rng, amount)}
    return d.part(V.BUDGET, values, vague=V.BUDGET_VAGUE, supply=V.AMOUNT_SUPPLY, held=amount)


def _exchange(d: _Draw) -> _Part:
    code = pick(d.rng, tuple(USD_RATES))
    currency = pick(d.rng, (code, f"{V.CURRENCY_NAMES[code]} ({code})"))
    quote = d.k.quote
    if quote is not None and d.rng.random() < 0.5:
        arguments = {"base_currency": "USD", "target_currency": code, "value": quote.cost}
        d.run("compute_exchange_rate", _level(quote.level), **arguments)
        return d.part(V.CONVERT_FARE, {"cur": currency})
    amount = float(d.rng.randint(2, 400) * 25)
    values = {"amount": pick(d.rng, (f"{amount:,.0f}", f"{amount:g}")), "code": currency}
    if d.rng.random() < 0.5:
        d.run("compute_exchange_rate", 0, base_currency="USD", target_currency=code, value=amount)
        values["unit"] = "USD"
        return d.part(V.EXCHANGE_TO, values, vague=V.EXCHANGE_TO_VAGUE, supply=V.EXCHANGE_SUPPLY, held=amount)
    d.run("compute_exchange_rate", 0, base_currency=code, target_currency="USD", value=amount)
    values["unit"] = code
    return d.part(V.EXCHANGE_FROM, values, vague=V.EXCHANGE_FROM_VAGUE, supply=V.EXCHANGE_SUPPLY, held=amount)


def _verify(d: _Draw) -> _Part:
    first, last = d.api.user_first_name, d.api.user_last_name
    if first is None:
        raise _Skip
    born = V.birth_date(d.rng)
    passport = pick(d.rng, ("US", "US", "US", "US", "P", "GB")) + V.digits(d.rng, 7)
    arguments = {"first_name": first, "last_name": last, "date_of_birth": born, "passport_number": passport}
    d.run("verify_traveler_information", 0, **arguments)
    values = {"first": first, "last": last, "dob": born, "passport": passport}
    return d.part(V.VERIFY, values, vague=V.VERIFY_VAGUE, supply=V.PASSPORT_SUPPLY, held=passport)


def _login(d: _Draw) -> _Part:
    if d.login is None or d.api.token_expires_in not in (None, 0):
        raise _Skip
    d.token()
    d.k.prefix = ""  # the login is this request itself
    values = V.login_values(d.rng, d.login)
    return d.part(V.LOGIN, values, vague=V.LOGIN_VAGUE, supply=V.SECRET_SUPPLY, held=d.login["client_secret"])


def _one_off(name: str, templates: tuple[str, ...]) -> Callable[[_Draw], _Part]:
    """An operation that is one argument-free read (its result is the same each time: drawn once a task)."""

    def operation(d: _Draw) -> _Part:
        d.run(name, 0)
        return d.part(templates, {})

    return operation


#: The operations by name, with how often each is drawn.
OPERATIONS: dict[str, tuple[float, Callable[[_Draw], _Part]]] = {
    "quote": (3.0, _quote),
    "nearest": (1.0, _nearest),
    "book": (4.0, _book),
    "invoice": (2.0, _invoice),
    "cancel": (2.0, _cancel),
    "insure": (2.0, _insure),
    "support": (1.0, _support),
    "balance": (2.0, _balance_check),
    "cards": (1.0, _cards),
    "history": (1.0, _history),
    "register": (1.0, _register),
    "budget": (2.0, _budget),
    "exchange": (2.0, _exchange),
    "verify": (1.0, _verify),
    "login": (0.5, _login),
    "fiscal": (0.4, _one_off("get_budget_fiscal_year", V.FISCAL)),
    "airports": (0.4, _one_off("list_all_airports", V.AIRPORTS_LIST)),
    "status": (0.4, _one_off("travel_get_login_status", V.LOGIN_STATUS)),
}
_NAMES = tuple(OPERATIONS)
_WEIGHTS = tuple(weight for weight, _ in OPERATIONS.values())


def _turn(d: _Draw, withhold: bool) -> Turn:
    """One user turn: operations until it holds its target number of calls (at least one operation), and
    where ``withhold``, one that can be asked without a value (so the task can be a miss_param one)."""
    d.start_turn()
    target = min(d.knobs.max_calls_per_turn, pick(d.rng, _TARGET_CALLS))
    parts: list[_Part] = []
    used: list[str] = []
    for _ in range(60):
        done = parts and (len(d.k.calls) >= target or d.rng.random() < 0.25)
        if done and (not withhold or any(part.vague for part in parts) or d.k.room == 0):
            break
        name = d.rng.choices(_NAMES, _WEIGHTS)[0]
        if name in used:  # one of each per turn: a second budget change would just undo the first
            continue
        saved = d.save()
        d.k.prefix, d.k.suffix, d.k.references = "", "", []
        try:
            parts.append(OPERATIONS[name][1](d))
            used.append(name)
        except _Skip:
            d.restore(saved)
    if not parts:  # cannot happen: an exchange always fits
        raise RuntimeError("travel: no operation could be drawn for a turn")
    joiners = [pick(d.rng, V.JOINERS) for _ in parts[1:]]
    request = V.join([part.text for part in parts], joiners)
    d.learn(request)
    turn = Turn(request, list(d.k.calls), references=[ref for part in parts for ref in part.references])
    vague = [index for index, part in enumerate(parts) if part.vague is not None]
    if vague:
        index = pick(d.rng, vague)
        texts = [part.vague if i == index else part.text for i, part in enumerate(parts)]
        text = V.join([t or "" for t in texts], joiners)
        if V.hides(text, parts[index].held):
            turn.withheld = Withheld(text, parts[index].supply or "")
    return turn


class TravelGenerator(Generator):
    """Tasks over BFCL's TravelAPI: bookings, cards, fares, budgets and currencies (see the module docstring)."""

    name = "travel"
    domains = (DOMAIN,)

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        logged_out = knobs.max_depth >= 1 and rng.random() < 0.2
        scenario = V.draw_scenario(rng, knobs.state_size, knobs.distractors, logged_out)
        d = _Draw(rng, knobs, scenario)
        drawn: list[Turn] = []
        for index in range(turns):
            last = index == turns - 1
            drawn.append(_turn(d, withhold=last and all(turn.withheld is None for turn in drawn)))
        return Draft(
            domains=[DOMAIN],
            initial_config={DOMAIN: scenario.config},
            turns=drawn,
            depth=d.k.depth,
            state_size=scenario.entities,
            distractors=scenario.near_misses,
        )

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        """``card`` or ``booking`` entities of the live domain, as
        :func:`~envtune_gym.domains.travel_synth_vocab.card_entity` and ``booking_entity`` write them."""
        api = domains[DOMAIN]
        assert isinstance(api, TravelAPI)
        if kind == "card":
            return [V.card_entity(card_id, card) for card_id, card in api.credit_card_list.items()]
        if kind == "booking":
            return [V.booking_entity(key, booking) for key, booking in api.booking_record.items()]
        raise ValueError(f"travel: unknown entity kind {kind!r}; use 'card' or 'booking'")

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        api = domains[DOMAIN]
        assert isinstance(api, TravelAPI)
        return self.readable(api)

    @staticmethod
    def readable(api: TravelAPI) -> list[str]:
        """What the tools that take no argument show: the cards, the airports, the fiscal year and whether a
        session is active. Bookings need the access token, which the user states (or a login returns)."""
        reads = (api.get_all_credit_cards, api.list_all_airports, api.get_budget_fiscal_year,
                 api.travel_get_login_status)  # fmt: skip
        return [serialize_result(read()) for read in reads]


register_generator(TravelGenerator)
