"""Private tables and checks of the travel domain (:mod:`envtune_gym.domains.travel`).

The tables (routes, airports, cities, currencies) are BFCL's (``travel_booking.py`` in bfcl-eval 2026.3.23);
their order matters where a result lists them (long-context ``get_flight_cost`` lists every route's cost in
table order; ``list_all_airports``). The helpers check arguments and word error messages; they raise
:class:`~envtune_gym.domains.base.ToolError` and touch no state.

Example:
    >>> ROUTE_BASES[("SFO", "LAX")], ROUTE_BASES[("LAX", "SFO")], len(ROUTE_BASES), list(ROUTE_BASES)[-1]
    (200, 100, 153, ('OKD', 'LAX'))
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from envtune_gym.domains.base import ToolError

#: Largest magnitude accepted for money amounts (exchange values, budget limits, insurance costs), in USD.
MAX_AMOUNT = 1e12
#: Longest text kept in the state (user names, token scope, card details).
MAX_TEXT_CHARS = 1_000
#: How many ids an error message lists before it says "and N more".
LISTED_IDS = 20

# One line per origin: "ORIGIN DEST:BASE ...". BFCL's table lists OKD->LAX on its own, as the very last route,
# so OKD appears twice; lines are read in order, which keeps that position.
_ROUTE_TABLE = """
SFO LAX:200 JFK:500 ORD:400 BOS:450 RMS:300 SBK:350 MPC:370 SVP:320 SHD:330 SSV:340 OKD:360 WLB:310 CRH:380
    ATV:390 PHV:420 GFD:430 CIA:700
LAX SFO:100 JFK:600 ORD:500 BOS:550 RMS:310 SBK:320 MPC:330 SVP:340 SHD:350 SSV:360 OKD:370 WLB:380 CRH:390
    ATV:400 PHV:410 GFD:420 HND:430
JFK ORD:300 BOS:250 RMS:450 SBK:460 MPC:470 SVP:480 SHD:490 SSV:500 OKD:510 WLB:520 CRH:530 ATV:540 PHV:550
    GFD:560 LAX:570 HND:800 PVG:950 PEK:1000
ORD LAX:180 BOS:200 RMS:350 SBK:360 MPC:370 SVP:380 SHD:390 SSV:400 OKD:410 WLB:420 CRH:430 ATV:440 PHV:450
    GFD:460
BOS RMS:400 SBK:410 MPC:420 SVP:430 SHD:440 SSV:450 OKD:460 WLB:470 CRH:480 ATV:490 PHV:500 GFD:510
RMS BOS:200 JFK:210 SBK:220 MPC:230 SVP:240 SHD:250 SSV:260 OKD:270 WLB:280 CRH:290 ATV:300 PHV:310 GFD:320
    LAX:330
SBK MPC:200 SVP:210 SHD:220 SSV:230 OKD:240 WLB:250 CRH:260 ATV:270 PHV:280 GFD:290
MPC SVP:210 SHD:220 SSV:230 OKD:240 WLB:250 CRH:260 ATV:270 PHV:280 GFD:290
SVP SHD:230 SSV:240 OKD:250 WLB:260 CRH:270 ATV:280 PHV:290 GFD:300
SHD SSV:220 OKD:230 WLB:240 CRH:250 ATV:260 PHV:270 GFD:280
SSV OKD:240 WLB:250 CRH:260 ATV:270 PHV:280 GFD:290
OKD WLB:230 CRH:240 ATV:250 PHV:260 GFD:270
WLB CRH:250 ATV:260 PHV:270 GFD:280
CRH ATV:240 PHV:250 GFD:260 SFO:270 RMS:280 HKG:290 JFK:300
ATV PHV:230 GFD:240
PHV GFD:220
LHR CDG:100
OKD LAX:220
"""


def _parse_routes(table: str) -> dict[tuple[str, str], int]:
    routes: dict[tuple[str, str], int] = {}
    origin = ""
    for line in table.strip().splitlines():
        words = line.split()
        if not line.startswith(" "):  # a new origin; indented lines continue the previous one
            origin, words = words[0], words[1:]
        for word in words:
            destination, base = word.split(":")
            routes[(origin, destination)] = int(base)
    return routes


#: Base fare (USD, economy, odd date) of every directional route, in BFCL's table order. Routes are one-way:
#: SFO->LAX exists with its own fare, and a reverse route only if listed.
ROUTE_BASES: MappingProxyType[tuple[str, str], int] = MappingProxyType(_parse_routes(_ROUTE_TABLE))

#: Fare multiplier per travel class.
CLASS_FACTORS: MappingProxyType[str, int] = MappingProxyType({"economy": 1, "business": 2, "first": 5})

#: The airports ``list_all_airports`` returns and ``book_flight`` accepts, in BFCL's order. PVG has a route
#: but is not listed, so it can be priced but not booked (BFCL's data).
AIRPORTS: tuple[str, ...] = (
    "RMS", "SBK", "MPC", "SVP", "SHD", "CDG", "LHR", "SSV", "OKD", "WLB", "PEK", "HND", "HKG", "CIA", "CRH",
    "ATV", "PHV", "GFD", "SFO", "LAX", "JFK", "ORD", "BOS",
)  # fmt: skip

#: City -> nearest airport code, for ``get_nearest_airport_by_city`` (other names give "Unknown").
NEAREST_AIRPORT: MappingProxyType[str, str] = MappingProxyType(
    {
        "Rivermist": "RMS",
        "Stonebrook": "SBK",
        "Maplecrest": "MPC",
        "Silverpine": "SVP",
        "Shadowridge": "SHD",
        "London": "LHR",
        "Paris": "CDG",
        "Sunset Valley": "SSV",
        "Oakendale": "OKD",
        "Willowbend": "WLB",
        "Crescent Hollow": "CRH",
        "Autumnville": "ATV",
        "Pinehaven": "PHV",
        "Greenfield": "GFD",
        "San Francisco": "SFO",
        "Los Angeles": "LAX",
        "New York": "JFK",
        "Chicago": "ORD",
        "Boston": "BOS",
        "Beijing": "PEK",
        "Hong Kong": "HKG",
        "Rome": "CIA",
        "Tokyo": "HND",
    }
)

#: Units of each currency per US dollar. Only conversions from or to USD exist (not X->X, not X->Y).
USD_RATES: MappingProxyType[str, float] = MappingProxyType(
    {
        "RMB": 7,
        "EUR": 0.8,
        "JPY": 110,
        "GBP": 0.7,
        "CAD": 1.3,
        "AUD": 1.4,
        "INR": 70,
        "RUB": 60,
        "BRL": 3.8,
        "MXN": 20,
    }
)

#: The fixed answers of two informational tools.
BUDGET_FISCAL_YEAR = "2018"
SUPPORT_REPLY = (
    "Thank you for contacting customer support. Your message has been received and we will get back to you "
    "shortly."
)


#: BFCL's date format, and the common shape of it that :func:`parse_date` reads without strptime.
DATE_FORMAT = "%Y-%m-%d"
PLAIN_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
#: The scalar state fields; all default to None (BFCL's DEFAULT_STATE, less the two maps and the seed).
SCALAR_FIELDS = (
    "access_token", "token_type", "token_expires_in", "token_scope", "user_first_name", "user_last_name",
    "budget_limit",
)  # fmt: skip
#: The fields an invoice is built from, in the order it lists them.
INVOICE_FIELDS = ("travel_date", "travel_from", "travel_to", "travel_class", "travel_cost", "transaction_id")


@functools.cache
def all_costs(class_factor: int, date_factor: int) -> tuple[tuple[float, ...], str]:
    """Every route's cost for a class and date factor (long context's list), and its JSON, made once per pair."""
    costs = tuple(float(base * class_factor * date_factor) for base in ROUTE_BASES.values())
    return costs, json.dumps(list(costs))


def parse_date(text: str) -> datetime.datetime:
    """``datetime.strptime(text, "%Y-%m-%d")`` (BFCL's check), with the common ``2024-11-15`` shape read directly.

    Example:
        >>> parse_date("2024-11-15"), parse_date("2024-1-5")
        (datetime.datetime(2024, 11, 15, 0, 0), datetime.datetime(2024, 1, 5, 0, 0))
    """
    plain = PLAIN_DATE.fullmatch(text)
    if plain is None:  # other shapes strptime may still accept (one-digit months and days), or refuses
        return datetime.datetime.strptime(text, DATE_FORMAT)
    # ValueError for an impossible date such as 2024-02-30, as strptime raises
    return datetime.datetime(int(plain[1]), int(plain[2]), int(plain[3]))


# ------------------------------------------------------------------------------------------------------------
# Checks and messages


def quote(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short if long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def listing(ids: Iterable[str], label: str, empty: str) -> str:
    """``label: 'a', 'b' and N more.``, or ``empty`` when there are none."""
    names = list(ids)
    if not names:
        return empty
    more = f" and {len(names) - LISTED_IDS} more" if len(names) > LISTED_IDS else ""
    return f"{label}: {', '.join(quote(n) for n in names[:LISTED_IDS])}{more}."


def is_number(value: Any) -> bool:
    return isinstance(value, int | float)


def check_amount(tool: str, param: str, value: float) -> None:
    """Refuse NaN, infinities and amounts beyond :data:`MAX_AMOUNT` (huge ints too, without overflow)."""
    if value != value or abs(value) > MAX_AMOUNT:
        raise ToolError(
            f"{tool}: {param} must be a finite amount of at most {MAX_AMOUNT:,.0f}; got {value!r}."
        )


def check_texts(tool: str, **texts: str) -> None:
    """Refuse texts longer than :data:`MAX_TEXT_CHARS` (those the state would keep)."""
    for param, text in texts.items():
        if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
            raise ToolError(f"{tool}: {param} is {len(text)} characters long; use at most {MAX_TEXT_CHARS}.")


def fare(tool: str, travel_from: str, travel_to: str, travel_date: str, travel_class: str) -> tuple[int, int]:
    """The class and date multipliers of a route, after checking route, class and date (BFCL's order).

    The date multiplier is BFCL's: 2 if the digits of the date add up to an even number, else 1.
    """
    if (travel_from, travel_to) not in ROUTE_BASES:
        raise ToolError(route_hint(tool, travel_from, travel_to))
    if travel_class not in CLASS_FACTORS:
        raise ToolError(
            f"{tool}: {quote(travel_class)} is not a travel class; use one of "
            f"{', '.join(sorted(CLASS_FACTORS))} (lower case)."  # BFCL prints a set here, in hash-seed order
        )
    try:
        total = sum(int(char) for char in travel_date if char.isdigit())
    except ValueError:  # digits int() cannot read, such as '²'; BFCL raises here too
        raise ToolError(f"{tool}: travel_date must be written as YYYY-MM-DD, e.g. '2024-11-15'.") from None
    return CLASS_FACTORS[travel_class], 2 if total % 2 == 0 else 1


def route_hint(tool: str, travel_from: str, travel_to: str) -> str:
    destinations = [to for (frm, to) in ROUTE_BASES if frm == travel_from]
    problem = (
        f"{tool}: there is no flight from {quote(travel_from)} to {quote(travel_to)} (routes are one-way)."
    )
    if destinations:
        return f"{problem} Flights from {travel_from} go to: {', '.join(destinations)}."
    origins = dict.fromkeys(frm for frm, _ in ROUTE_BASES)
    return (
        f"{problem} No flights depart from {quote(travel_from)}. Departure airports: {', '.join(origins)}. "
        "Use 3-letter codes; get_nearest_airport_by_city gives the code for a city."
    )


def not_logged_in(tool: str) -> str:
    return (
        f"{tool}: you are not logged in to the travel system. Call authenticate_travel first, then pass the "
        "access_token it returns."
    )


def card_balance(tool: str, card_id: str, card: Mapping[str, Any]) -> float:
    """The card's balance, or a ToolError if it has none that can be charged or refunded."""
    if not is_number(card.get("balance")):
        raise ToolError(
            f"{tool}: the card {quote(card_id)} has no usable balance on record, so it cannot be charged "
            "or refunded. Use another card; get_all_credit_cards lists them."
        )
    return card["balance"]


def verification_failure(
    user: tuple[str | None, str | None],
    traveler: tuple[str, str],
    date_of_birth: str,
    passport_number: str,
    today: datetime.date,
) -> str | None:
    """Why ``verify_traveler_information`` refuses a traveller (BFCL's texts, checked in BFCL's order), or None.

    Example:
        >>> verification_failure(("Ada", "L"), ("Ada", "L"), "2020-01-01", "US1", datetime.date(2024, 1, 1))
        'Traveler must be at least 18 years old.'
    """
    if user != traveler:
        return (
            "Cannot book flight information for another user."  # BFCL quirk: no space after the period
            f"Expected {user[0]} {user[1]}, got {traveler[0]} {traveler[1]}"
        )
    try:
        born = parse_date(date_of_birth)
    except ValueError:
        return "Invalid date of birth format. Please use YYYY-MM-DD."
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < 18:
        return "Traveler must be at least 18 years old."
    if not passport_number.startswith("US"):
        return "Passport must be issued by the United States."
    return None
