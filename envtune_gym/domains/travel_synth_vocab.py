"""Vocabularies and request templates of the travel task generator (:mod:`envtune_gym.domains.travel_synth`).

Over 600 lines on purpose: it is data (vocabularies and request templates), best read in one place.

Templates are ``str.format`` strings. Every value a ground-truth call needs is written into the text as the
call takes it (airport codes or the city the nearest-airport lookup turns into one, ISO dates, amounts that
parse to the number), because the grounded gate looks for it there. Each operation has several phrasings,
and an under-specified form (``*_VAGUE``) with the follow-up that supplies the missing value
(``*_SUPPLY``) for the miss_param category.

Example:
    >>> CITY_OF["RMS"], "PVG" in BOOKABLE
    ('Rivermist', False)
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from envtune_gym.domains.travel import TravelAPI
from envtune_gym.domains.travel_data import AIRPORTS, CLASS_FACTORS, NEAREST_AIRPORT, ROUTE_BASES
from envtune_gym.synth.phrasing import FIRST_NAMES, LAST_NAMES, quoted

#: Airport code -> the city ``get_nearest_airport_by_city`` maps to it (every bookable airport has one).
CITY_OF: dict[str, str] = {code: city for city, code in NEAREST_AIRPORT.items()}
CITIES: tuple[str, ...] = tuple(NEAREST_AIRPORT)
#: Routes that can be booked: both ends are known airports (PVG can be priced but not booked).
BOOKABLE: tuple[tuple[str, str], ...] = tuple(
    route for route in ROUTE_BASES if route[0] in AIRPORTS and route[1] in AIRPORTS
)
CLASSES: tuple[str, ...] = ("economy", "economy", "economy", "business", "business", "first")
#: How a class reads in a request (each contains the class name, as the grounded gate needs).
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "economy": ("economy", "economy class", "coach (economy)"),
    "business": ("business", "business class"),
    "first": ("first class",),
}
#: Card networks: (name, number prefix, number length).
NETWORKS: tuple[tuple[str, str, int], ...] = (
    ("Visa", "4", 16), ("Mastercard", "5", 16), ("Amex", "37", 15), ("Discover", "6011", 16),
)  # fmt: skip
CARD_ID_STYLES: tuple[str, ...] = (
    "{net}_{digits}",
    "card_{digits}",
    "{initials}_{net}{digits}",
    "{digits}{net}",
)
BOOKING_ID_STYLES: tuple[str, ...] = ("BK-{n5}", "TRV{n6}", "res_{n4}", "PNR{n5}")
TOKEN_STYLES: tuple[str, ...] = ("{initials}_tok_{n4}", "tk_{hex6}", "sess-{hex6}{n2}", "{hex6}.{n4}")
#: Other people a card can be in the name of (a partner's card, a company card).
OTHER_HOLDERS: tuple[str, ...] = (
    "Halden Logistics", "Brightwater Labs", "Okoro Family Trust", "Meridian Events", "Tallis & Price LLP",
)  # fmt: skip
INSURANCE_TYPES: tuple[str, ...] = (
    "comprehensive", "trip cancellation", "baggage", "medical", "flight delay", "travel health",
)  # fmt: skip
SUPPORT_MESSAGES: tuple[str, ...] = (
    "I need a vegetarian meal on this flight.", "Please arrange wheelchair assistance at the gate.",
    "My name is misspelled on the ticket.", "I would like an aisle seat if possible.",
    "I will travel with a guide dog.", "Can I bring a bicycle as checked baggage?",
    "Please confirm my frequent flyer number was added.", "I need a bassinet seat for my infant.",
    "My connecting flight may be tight; please advise.", "Please send the receipt to my work email.",
)  # fmt: skip
CURRENCY_NAMES: dict[str, str] = {
    "RMB": "Chinese yuan", "EUR": "euros", "JPY": "yen", "GBP": "pounds", "CAD": "Canadian dollars",
    "AUD": "Australian dollars", "INR": "rupees", "RUB": "rubles", "BRL": "reais", "MXN": "Mexican pesos",
}  # fmt: skip
GRANTS: tuple[str, ...] = ("read_write", "read_write", "read", "write")

# ---------------------------------------------------------------------------------------------------------------
# Request templates. Fields: {src} {dst} (a code or a city), {date}, {cls}, {card}, {booking}, {amount}, ...

QUOTE: tuple[str, ...] = (
    "How much is {cls} from {src} to {dst} on {date}?",
    "What would {cls} from {src} to {dst} cost on {date}?",
    "Could you price a flight from {src} to {dst} for {date}, {cls}?",
    "I'm thinking of flying {src} to {dst} on {date}. What's the fare in {cls}?",
    "Get me a quote for {src} -> {dst}, {cls}, departing {date}.",
    "Check the cost of a {date} flight from {src} to {dst} in {cls}.",
)
QUOTE_VAGUE: tuple[str, ...] = (
    "How much is {cls} from {src} to {dst}?",
    "Could you price {cls} from {src} to {dst} for me?",
    "What would it cost to fly {src} to {dst} in {cls}?",
)
DATE_SUPPLY: tuple[str, ...] = ("The date is {date}.", "Sorry, I meant {date}.", "I'd fly on {date}.")
NEAREST: tuple[str, ...] = (
    "Which airport is closest to {city}?",
    "What's the nearest airport to {city}?",
    "I'm staying in {city}. Which airport should I use?",
    "Find the airport nearest {city}, please.",
)
NEAREST_VAGUE: tuple[str, ...] = (
    "Which airport is closest to where I'm staying?",
    "Find me the nearest airport to my destination.",
    "What's the nearest airport to my hometown?",
)
NEAREST_SUPPLY: tuple[str, ...] = ("It's {city}.", "I'm in {city}.", "The town is {city}.")
BOOK: tuple[str, ...] = (
    "Book {cls} from {src} to {dst} on {date}, paid with {card}.",
    "Please reserve a {date} flight from {src} to {dst} in {cls}; charge {card}.",
    "I'd like to fly {src} to {dst} on {date}. Book {cls} and put it on {card}.",
    "Go ahead and book me {src} to {dst}, {cls}, {date}, using {card}.",
    "Reserve a seat from {src} to {dst} on {date} ({cls}) with {card}.",
)
BOOK_VAGUE: tuple[str, ...] = (
    "Book {cls} from {src} to {dst}, paid with {card}.",
    "Please reserve a flight from {src} to {dst} in {cls} and charge {card}.",
    "I need {cls} from {src} to {dst}; use {card}.",
)
BOOK_IF_CHEAP: tuple[str, ...] = (
    "Check what {cls} from {src} to {dst} costs on {date}; if it's under {limit}, book it with {card}.",
    "Price a {date} flight {src} to {dst} in {cls}, and book it on {card} as long as it's below {limit}.",
    "If {cls} from {src} to {dst} on {date} is less than {limit}, reserve it using {card}.",
)
BOOK_IF_CHEAP_VAGUE: tuple[str, ...] = (
    "Check what {cls} from {src} to {dst} costs; if it's under {limit}, book it with {card}.",
    "Price a flight {src} to {dst} in {cls}, and book it on {card} as long as it's below {limit}.",
    "If {cls} from {src} to {dst} is less than {limit}, reserve it using {card}.",
)
BOOK_QUOTED: tuple[str, ...] = (
    "That works. Book that flight with {card}.",
    "Great, please book the flight you just priced, paying with {card}.",
    "Let's do it: reserve that one and charge {card}.",
    "Book the {src} to {dst} flight you quoted; put it on {card}.",
)
CONVERT_FARE: tuple[str, ...] = (
    "What is that USD fare in {cur}?",
    "Convert that price from USD to {cur} for me.",
    "How much is the quoted fare (in USD) when converted to {cur}?",
)
INVOICE: tuple[str, ...] = (
    "Can I get the invoice for {booking}?",
    "Please pull up the invoice of {booking}.",
    "Send me the invoice for {booking}.",
    "I need the receipt for {booking}.",
)
INVOICE_VAGUE: tuple[str, ...] = (
    "Can I get the invoice for one of my flights?",
    "Please pull up an invoice for me.",
    "I need a booking receipt.",
)
BOOKING_SUPPLY: tuple[str, ...] = ("I mean {booking}.", "It's {booking}.", "Sorry, {booking}.")
CANCEL: tuple[str, ...] = (
    "Please cancel {booking}.",
    "My plans changed; cancel {booking}.",
    "I won't need {booking} anymore. Cancel it.",
    "Go ahead and cancel {booking}, please.",
)
CANCEL_VAGUE: tuple[str, ...] = (
    "Please cancel one of my flights.",
    "My plans changed; I need to cancel a booking.",
    "I won't need one of my reservations anymore. Cancel it.",
)
INSURE: tuple[str, ...] = (
    "Add {kind} insurance to {booking} for {cost}, paid with {card}.",
    "Buy {kind} insurance for {booking}; it costs {cost}, charge {card}.",
    "I want {kind} coverage on {booking}. It's {cost}; use {card}.",
)
INSURE_VAGUE: tuple[str, ...] = (
    "Add {kind} insurance to {booking}, paid with {card}.",
    "Buy {kind} insurance for {booking} and charge {card}.",
    "I want {kind} coverage on {booking}; use {card}.",
)
COST_SUPPLY: tuple[str, ...] = ("The insurance costs {cost}.", "It's {cost}.", "The premium is {cost}.")
SUPPORT: tuple[str, ...] = (
    "Let customer support know about {booking}: '{message}'",
    'Contact support regarding {booking} and tell them "{message}"',
    "Please message customer service about {booking}: '{message}'",
)
SUPPORT_VAGUE: tuple[str, ...] = (
    "Let customer support know something about {booking}.",
    "Please contact support regarding {booking}.",
    "I have a request for customer service about {booking}.",
)
SUPPORT_SUPPLY: tuple[str, ...] = ("Tell them: '{message}'", 'The message is "{message}"', "Say '{message}'")
BALANCE: tuple[str, ...] = (
    "What's the balance on {card}?",
    "How much is left on {card}?",
    "Check the balance of {card}, please.",
    "Tell me what {card} has available.",
)
CARDS: tuple[str, ...] = (
    "Which credit cards do I have on file?",
    "List all my registered credit cards.",
    "Show me every card saved in my travel account.",
)
HISTORY: tuple[str, ...] = (
    "Show me my booking history.",
    "What bookings do I have right now?",
    "List all my flight bookings, please.",
)
REGISTER: tuple[str, ...] = (
    "Add a new card: number {number}, expiring {exp}, cardholder {holder}, CVV {cvv}.",
    "Please register my {net} {number} (exp {exp}, name {holder}, security code {cvv}).",
    "I got a new {net}. Register it: {number}, {exp}, {holder}, CVV {cvv}.",
)
REGISTER_VAGUE: tuple[str, ...] = (
    "Add a new card: number {number}, cardholder {holder}, CVV {cvv}.",
    "Please register my {net} {number} in the name of {holder}, security code {cvv}.",
    "I got a new {net}, {number}, name {holder}, CVV {cvv}. Register it.",
)
EXP_SUPPLY: tuple[str, ...] = ("It expires {exp}.", "Expiration is {exp}.", "Oh, the expiry date is {exp}.")
BUDGET: tuple[str, ...] = (
    "Set my travel budget limit to {amount}.",
    "Please change my budget cap to {amount}.",
    "I want my spending limit at {amount}.",
    "Update the budget limit on my account to {amount}.",
)
BUDGET_VAGUE: tuple[str, ...] = (
    "Please set a new budget limit for me.",
    "I want to change my travel budget.",
    "Update my spending limit, please.",
)
AMOUNT_SUPPLY: tuple[str, ...] = ("Make it {amount}.", "The limit should be {amount}.", "{amount}, please.")
BUDGET_CONVERTED: tuple[str, ...] = (
    "My company approved {amount} {code}. Convert that to USD and set it as my budget limit.",
    "Convert my {amount} {code} allowance into USD and make that my budget cap.",
    "Set my budget limit to whatever {amount} {code} is in USD.",
)
EXCHANGE_TO: tuple[str, ...] = (
    "How much is {amount} USD in {code}?",
    "Convert {amount} USD to {code}, please.",
    "I have {amount} USD of spending money. What's that in {code}?",
)
EXCHANGE_FROM: tuple[str, ...] = (
    "How many USD is {amount} {code}?",
    "Convert {amount} {code} to USD.",
    "What's {amount} {code} worth in USD?",
)
EXCHANGE_TO_VAGUE: tuple[str, ...] = (
    "How much is my USD cash in {code}?",
    "Convert some USD to {code}, please.",
    "I have some spending money in USD. What's that in {code}?",
)
EXCHANGE_FROM_VAGUE: tuple[str, ...] = (
    "How many USD are my {code} savings worth?",
    "Convert my {code} to USD.",
    "What's my {code} cash worth in USD?",
)
EXCHANGE_SUPPLY: tuple[str, ...] = (
    "The amount is {amount} {unit}.",
    "It's {amount} {unit}.",
    "I have {amount} {unit}.",
)
VERIFY: tuple[str, ...] = (
    "Please verify my traveler details: {first} {last}, born {dob}, passport {passport}.",
    "Check my passport info before I book: name {first} {last}, date of birth {dob}, passport number {passport}.",
    "Can you confirm I'm cleared to travel? {first} {last}, DOB {dob}, passport {passport}.",
)
VERIFY_VAGUE: tuple[str, ...] = (
    "Please verify my traveler details: {first} {last}, born {dob}.",
    "Check my passport info before I book: name {first} {last}, date of birth {dob}.",
    "Can you confirm I'm cleared to travel? {first} {last}, DOB {dob}.",
)
PASSPORT_SUPPLY: tuple[str, ...] = (
    "My passport number is {passport}.",
    "Passport: {passport}.",
    "Sorry, it's passport {passport}.",
)
FISCAL: tuple[str, ...] = (
    "Which budget fiscal year are we in?",
    "What fiscal year is my travel budget tied to?",
    "Tell me the current budget fiscal year.",
)
AIRPORTS_LIST: tuple[str, ...] = (
    "Which airports can I fly from with you?",
    "List every airport your system supports.",
    "Give me the full list of available airports.",
)
LOGIN_STATUS: tuple[str, ...] = (
    "Am I logged in to the travel system?",
    "Can you check whether my travel session is active?",
    "Quick check: is my login still valid?",
)
LOGIN: tuple[str, ...] = (
    "Log me in first: client id {cid}, secret {secret}, refresh token {refresh}, {grant} access, "
    "name {first} {last}.",
    "Start a travel session for {first} {last} ({grant}) with client {cid}, client secret {secret} and "
    "refresh token {refresh}.",
    "Please authenticate me as {first} {last}: client_id {cid}, client_secret {secret}, refresh_token "
    "{refresh}, grant {grant}.",
)
LOGIN_VAGUE: tuple[str, ...] = (
    "Log me in first: client id {cid}, refresh token {refresh}, {grant} access, name {first} {last}.",
    "Start a travel session for {first} {last} ({grant}) with client {cid} and refresh token {refresh}.",
    "Please authenticate me as {first} {last}: client_id {cid}, refresh_token {refresh}, grant {grant}.",
)
SECRET_SUPPLY: tuple[str, ...] = (
    "The client secret is {secret}.",
    "Secret: {secret}.",
    "Oh, my secret is {secret}.",
)
TOKEN: tuple[str, ...] = (
    " My access token is {token}.",
    " Use my token {token}.",
    " (Access token: {token}.)",
    " Token: {token}.",
)
#: How a second request in the same turn starts.
JOINERS: tuple[str, ...] = ("Also, ", "Then ", "After that, ", "And ", "Next, ")

# Phrases that point at something from an earlier turn.
LAST_BOOKING: tuple[str, ...] = (
    "the flight you just booked",
    "that booking",
    "my new booking",
    "the reservation you made",
)
BOOKING_BY_ID: tuple[str, ...] = ("booking {}", "my reservation {}", "the booking with id {}")
LAST_CARD: tuple[str, ...] = ("the same card", "that card", "the card I just used")
NEW_CARD: tuple[str, ...] = ("the new card", "the card I just added", "my newly registered card")


def join(texts: list[str], joiners: list[str]) -> str:
    """Sentences of one turn: the second and later ones start with a joiner ("Also, book ...")."""
    joined = texts[0]
    for joiner, text in zip(joiners, texts[1:], strict=True):
        lowered = text[0].lower() + text[1:] if text[1:2].islower() else text
        joined += " " + joiner + lowered
    return joined


def login_values(rng: random.Random, login: dict[str, str]) -> dict[str, str]:
    """The :data:`LOGIN` template's fields: the credentials as the user writes them."""
    return {
        "cid": quoted(rng, login["client_id"]), "secret": quoted(rng, login["client_secret"]),
        "refresh": quoted(rng, login["refresh_token"]), "grant": login["grant_type"],
        "first": login["user_first_name"], "last": login["user_last_name"],
    }  # fmt: skip


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")  # as the grounded gate reads numbers


def numbers(text: str) -> set[float]:
    """The numbers in ``text`` as the grounded gate reads them (thousands separators allowed)."""
    plain = (match.replace(",", "") for match in NUMBER.findall(text))  # "850," in JSON reads as 850
    return {float(number) for number in plain if number[-1:].isdigit()}


def hides(text: str, held: Any) -> bool:
    """Whether ``text`` leaves ``held`` out (as a string, or as a number the gate would read)."""
    if isinstance(held, float):
        return held not in numbers(text)
    return str(held) not in text


def flight(route: tuple[str, str], date: str, travel_class: str) -> dict[str, str]:
    """The arguments ``get_flight_cost`` and ``book_flight`` share."""
    return {"travel_from": route[0], "travel_to": route[1], "travel_date": date, "travel_class": travel_class}


def balance(card: Mapping[str, Any]) -> float:
    """A card's balance, or minus infinity where it has none that can be charged."""
    balance = card.get("balance")
    return balance if isinstance(balance, int | float) else float("-inf")


# ---------------------------------------------------------------------------------------------------------------
# Drawing values (ids, card numbers, dates) from the generator's rng.


def digits(rng: random.Random, count: int) -> str:
    """``count`` random decimal digits (a leading zero allowed)."""
    return f"{rng.randrange(10**count):0{count}d}"


class _Fresh(dict):  # type: ignore[type-arg]
    """Fields for :func:`styled`: ``{n2}``..``{n6}`` and ``{hex6}`` drawn when a style asks for them."""

    def __init__(self, rng: random.Random, fields: dict[str, str]) -> None:
        super().__init__(fields)
        self.rng = rng

    def __missing__(self, key: str) -> str:
        if key == "hex6":
            return f"{self.rng.randrange(16**6):06x}"
        return digits(self.rng, int(key[1:]))


def styled(rng: random.Random, styles: tuple[str, ...], **fields: str) -> str:
    """An id in one of ``styles``; ``{n2}``..``{n6}`` and ``{hex6}`` are filled with fresh random characters."""
    return rng.choice(styles).format_map(_Fresh(rng, fields))


def travel_date(rng: random.Random) -> str:
    """A day of travel in 2026 or 2027, as ``YYYY-MM-DD`` (the form the tools take and the user writes)."""
    return f"{rng.choice((2026, 2027))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def birth_date(rng: random.Random) -> str:
    """An adult's date of birth (well over 18 on any day the tests run)."""
    return f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def expiration(rng: random.Random) -> str:
    """A card expiration date, ``MM/YYYY``."""
    return f"{rng.randint(1, 12):02d}/{rng.randint(2027, 2032)}"


def card_number(rng: random.Random, prefix: str, length: int, taken: set[str]) -> str:
    """A card number of the network, whose last four digits are in no ``taken`` (which it joins)."""
    while True:
        number = prefix + digits(rng, length - len(prefix))
        if number[-4:] not in taken:
            taken.add(number[-4:])
            return number


# ---------------------------------------------------------------------------------------------------------------
# The initial state.


@dataclass
class Scenario:
    """A drawn initial state: the TravelAPI config, the login a logged-out task uses, and its near misses.

    Attributes:
        config: ``initial_config["TravelAPI"]``.
        user: the user's first and last name.
        login: ``authenticate_travel``'s arguments when the task starts logged out, else ``None``.
        targets: ids of the cards and bookings that have a near miss (turns refer to them more often).
        entities: cards plus bookings; near_misses: how many of them are near misses of another.
    """

    config: dict[str, Any]
    user: tuple[str, str]
    login: dict[str, str] | None
    targets: tuple[str, ...]
    entities: int
    near_misses: int


def draw_scenario(rng: random.Random, size: int, distractors: int, logged_out: bool) -> Scenario:
    """Cards and bookings, ``size`` in all, ``distractors`` of them (at most ``size - 1``) near misses."""
    user = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
    card_count = max(1, min(size, round(size * 0.4)))
    near = min(distractors, size - 1)
    near_bookings = min(near - min(near // 2, card_count - 1), max(0, size - card_count - 1))
    near_cards = min(near - near_bookings, card_count - 1)
    taken = {number[-4:] for number in _PADDING_NUMBERS}
    cards, card_targets = _cards(rng, user, card_count, near_cards, taken)
    bookings, booking_targets = _bookings(rng, list(cards), size - card_count, near_bookings)
    token = styled(rng, TOKEN_STYLES, initials=(user[0][0] + user[1][0]).lower())
    budget = rng.choice((None, 500.0, 1000.0, 1000.0, 1500.0, 2000.0, 2500.0))
    config: dict[str, Any] = {
        "credit_card_list": cards, "booking_record": bookings, "access_token": token, "token_type": "Bearer",
        "token_expires_in": 3600, "token_scope": "read_write", "user_first_name": user[0],
        "user_last_name": user[1], "budget_limit": budget,
    }  # fmt: skip
    login = None
    if logged_out:
        for key in ("access_token", "token_type", "token_expires_in", "token_scope", "user_first_name"):
            config[key] = None
        config["user_last_name"] = None
        login = {
            "client_id": styled(rng, ("app_{n5}", "client-{hex6}", "{hex6}{n4}")),
            "client_secret": styled(rng, ("sec_{hex6}{n2}", "{hex6}-{n4}", "s3cr{n6}")),
            "refresh_token": styled(rng, ("rt_{hex6}", "refresh-{n6}", "{hex6}{hex6}")),
            "grant_type": rng.choice(GRANTS), "user_first_name": user[0], "user_last_name": user[1],
        }  # fmt: skip
    return Scenario(config, user, login, (*card_targets, *booking_targets), size, near_cards + near_bookings)


def _cards(
    rng: random.Random, user: tuple[str, str], count: int, near: int, taken: set[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``count`` cards, the last ``near`` of them twins (same network and holder) of earlier ones."""
    cards: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    kinds: list[tuple[tuple[str, str, int], str]] = []
    targets: list[str] = []
    initials = (user[0][0] + user[1][0]).lower()
    for index in range(count):
        if index < count - near:
            network = rng.choice(NETWORKS)
            holder = " ".join(user) if rng.random() < 0.75 else rng.choice(OTHER_HOLDERS)
            kinds.append((network, holder))
        else:  # a near miss of an earlier card
            original = rng.randrange(count - near)
            network, holder = kinds[original]
            targets.append(ids[original])
        short = network[0].lower()[:4]
        card_id = _unique(
            cards,
            lambda short=short: styled(
                rng, CARD_ID_STYLES, net=short, initials=initials, digits=digits(rng, 4)
            ),
        )
        ids.append(card_id)
        cards[card_id] = {
            "card_number": card_number(rng, network[1], network[2], taken), "expiration_date": expiration(rng),
            "cardholder_name": holder, "card_verification_number": rng.randint(100, 999),
            "balance": float(rng.randint(300, 3000) * 10),
        }  # fmt: skip
    return cards, targets + ids[count - near :]


def _bookings(
    rng: random.Random, card_ids: list[str], count: int, near: int
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``count`` earlier bookings, the last ``near`` of them on the route or the day of an earlier one."""
    bookings: dict[str, dict[str, Any]] = {}
    ids: list[str] = []
    targets: list[str] = []
    for index in range(count):
        route, date, travel_class = rng.choice(BOOKABLE), travel_date(rng), rng.choice(CLASSES)
        if index >= count - near:
            original_id = rng.choice(ids[: count - near])
            original = bookings[original_id]
            targets.append(original_id)
            if rng.random() < 0.5:
                route = (original["travel_from"], original["travel_to"])
            else:
                date = original["travel_date"]
        booking_id = _unique(bookings, lambda: styled(rng, BOOKING_ID_STYLES))
        ids.append(booking_id)
        bookings[booking_id] = {
            "card_id": rng.choice(card_ids), "travel_date": date, "travel_from": route[0], "travel_to": route[1],
            "travel_class": travel_class, "travel_cost": fare(route, date, travel_class),
            "transaction_id": "tx_" + digits(rng, 8),
        }  # fmt: skip
    return bookings, targets + ids[count - near :]


def _unique(taken: Mapping[str, Any], draw: Callable[[], str]) -> str:
    """A drawn id that is not a key of ``taken`` yet."""
    while True:
        key = draw()
        if key not in taken:
            return key


def fare(route: tuple[str, str], date: str, travel_class: str) -> float:
    """The fare ``get_flight_cost`` gives (BFCL's model: route base x class x date factor)."""
    return float(ROUTE_BASES[route] * CLASS_FACTORS[travel_class] * date_factor(date))


def date_factor(date: str) -> int:
    """BFCL's date factor: 2 when the date's digits add up to an even number, else 1."""
    return 2 if sum(int(char) for char in date if char.isdigit()) % 2 == 0 else 1


_PADDING_NUMBERS = tuple(card["card_number"] for card in TravelAPI.long_context_padding()[0].values())


# ---------------------------------------------------------------------------------------------------------------
# Entities as the unambiguity gate sees them, and the phrases that describe one.


def card_entity(card_id: str, card: Mapping[str, Any]) -> str:
    """A card as the ``card`` references see it: ``id|number|holder|expiration``."""
    fields = ("card_number", "cardholder_name", "expiration_date")
    return "|".join([card_id, *(str(card.get(name)) for name in fields)])


def booking_entity(booking_id: str, booking: Mapping[str, Any]) -> str:
    """A booking as the ``booking`` references see it: ``id|from|to|date|class``."""
    fields = ("travel_from", "travel_to", "travel_date", "travel_class")
    return "|".join([booking_id, *(str(booking.get(name)) for name in fields)])


@dataclass(frozen=True)
class Match:
    """Accepts an entity (fields joined by ``|``) whose fields hold ``equal``'s values, and whose field
    ``suffix[0]`` ends with ``suffix[1]``."""

    equal: tuple[tuple[int, str], ...] = ()
    suffix: tuple[int, str] | None = None

    def __call__(self, name: str) -> bool:
        fields = name.split("|")
        if any(fields[index] != value for index, value in self.equal):
            return False
        return self.suffix is None or fields[self.suffix[0]].endswith(self.suffix[1])


def card_descriptions(card: Mapping[str, Any]) -> list[tuple[str, Match]]:
    """Ways to point at a card without its id, each with the matcher of what it says."""
    last4, holder, expires = card["card_number"][-4:], card["cardholder_name"], card["expiration_date"]
    return [
        (f"my card ending in {last4}", Match(suffix=(1, last4))),
        (f"the card ending {last4}", Match(suffix=(1, last4))),
        (f"the card that expires {expires}", Match(equal=((3, expires),))),
        (f"the card in {holder}'s name", Match(equal=((2, holder),))),
    ]


def booking_descriptions(rng: random.Random, booking: Mapping[str, Any]) -> list[tuple[str, Match]]:
    """Ways to point at a booking without its id (airports by code or city), each with its matcher."""
    src, dst, date, travel_class = (
        booking[key] for key in ("travel_from", "travel_to", "travel_date", "travel_class")
    )
    a = CITY_OF[src] if rng.random() < 0.6 else src
    b = CITY_OF[dst] if rng.random() < 0.6 else dst
    route = ((1, src), (2, dst))
    return [
        (f"my flight from {a} to {b}", Match(equal=route)),
        (f"my {date} flight", Match(equal=((3, date),))),
        (f"the {travel_class} flight to {b}", Match(equal=((4, travel_class), (2, dst)))),
        (f"my {a} to {b} flight on {date}", Match(equal=(*route, (3, date)))),
        (f"my trip to {b}", Match(equal=((2, dst),))),
        (f"the flight from {a} on {date}", Match(equal=((1, src), (3, date)))),
    ]


#: The long-context cards and bookings as entities: a description must not match them either.
PADDING_ENTITIES: tuple[list[str], list[str]] = (
    [card_entity(card_id, card) for card_id, card in TravelAPI.long_context_padding()[0].items()],
    [booking_entity(key, booking) for key, booking in TravelAPI.long_context_padding()[1].items()],
)
