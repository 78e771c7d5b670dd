"""Conformance of :class:`envtune_gym.domains.travel.TravelAPI` with BFCL's ``TravelAPI``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth TravelAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings must be identical and the public states equal after every turn;
* random call sequences (right and wrong tokens, ids, airports, dates, classes, currencies, amounts; calls
  out of order and repeated) on several scenarios: when the reference succeeds ours returns the same string,
  when it fails ours raises ToolError and changes nothing, and states and RNGs stay equal after every call.

Both sides see the same pinned "today" (BFCL's ``verify_traveler_information`` reads the clock), and the
reference's long-context cards and bookings are copied after loading, so that no sequence can change BFCL's
module constants (which it inserts by reference) and leak into later scenarios.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest

from envtune_gym.domains import travel as travel_module
from envtune_gym.domains.travel import MAX_AMOUNT, MAX_TEXT_CHARS, TravelAPI
from envtune_gym.domains.travel_data import AIRPORTS, NEAREST_AIRPORT, ROUTE_BASES, USD_RATES
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

#: Ground-truth TravelAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 204, "long_context": 205, "miss_func": 202, "miss_param": 202}
TODAY = datetime.date(2025, 6, 1)


class _PinnedDatetime(datetime.datetime):
    """BFCL calls ``datetime.today()`` and ``datetime.strptime``: this pins the first and keeps the other."""

    @classmethod
    def today(cls) -> _PinnedDatetime:  # type: ignore[override]
        return cls(TODAY.year, TODAY.month, TODAY.day)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bfcl.reference_module("travel_booking"), "datetime", _PinnedDatetime)
    monkeypatch.setattr(travel_module, "_today", lambda: TODAY)


# ------------------------------------------------------------------------------------------------------------
# Helpers


def build_travel_pair(config: dict, long_context: bool) -> tuple[Any, TravelAPI]:
    reference, ours = bfcl.build_pair("TravelAPI", TravelAPI, config, long_context)
    # BFCL inserts its long-context constants by reference: copy them, so no call changes them for later tests
    reference.credit_card_list = copy.deepcopy(reference.credit_card_list)
    reference.booking_record = copy.deepcopy(reference.booking_record)
    return reference, ours


def snapshot(ours: TravelAPI) -> tuple:
    """A copy of the compared state and the RNG's position: a failing or refused call changes neither."""
    return copy.deepcopy(ours.state()), ours._random.getstate()


def assert_same_state(reference: Any, ours: TravelAPI, where: str) -> None:
    """Equal public states (values and types) and RNGs in step."""
    theirs, mine = bfcl.public_state(reference), ours.state()
    assert sorted(theirs) == sorted(mine), where
    for key, value in theirs.items():
        assert mine[key] == value, f"{where}: {key} differs"
        assert type(mine[key]) is type(value) or value is None, f"{where}: {key} has another type"
    assert reference._random.getstate() == ours._random.getstate(), f"{where}: RNG out of step"


DOMAIN = bfcl.Conformance(
    "TravelAPI", TravelAPI, compare=assert_same_state, snapshot=snapshot, make_pair=build_travel_pair
)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=151)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


ROUTES = list(ROUTE_BASES)
DATES = [
    "2024-11-15", "2024-11-16", "2025-01-01", "2024-02-29", "2023-02-29", "2024-1-5", "15/11/2024", "",
    "2024-13-01", "٢٠٢٤-٠١-٠٢", "2024-11-1²", "tomorrow",
]  # fmt: skip
CLASSES = ["economy", "business", "first", "Economy", "premium"]
CURRENCIES = ["USD", *USD_RATES, "XYZ"]
BIRTHDAYS = ["1990-05-10", "2007-06-01", "2007-06-02", "2010-01-01", "1990-02-30", "10/05/1990", "1955-12-31"]
PASSPORTS = ["US1234567", "UK1234567", "us1234567", ""]
CITIES = [*NEAREST_AIRPORT, "Atlantis", "rome", ""]


class CallMaker(bfcl.RandomCalls):
    """Random, well-typed calls over the ids a scenario has, plus wrong, repeated and out-of-order ones."""

    specs = DOMAIN.specs
    heavy = ("book_flight", "cancel_booking", "purchase_insurance", "register_credit_card", "get_flight_cost")
    weights = dict.fromkeys(heavy, 4)
    gap = "keywords"  # positional arguments only for a prefix of the signature

    def token(self) -> str:
        current = self.reference.access_token
        if current is not None and self.rng.random() < 0.85:
            return current
        return self.rng.choice(["wrong-token", "", "123456"])

    def card(self) -> str:
        cards = list(self.reference.credit_card_list)
        if cards and self.rng.random() < 0.75:
            return self.rng.choice(cards)
        numbers = [str(c.get("card_number", "x")) for c in self.reference.credit_card_list.values()]
        return self.rng.choice(["unknown-card", "0000", *numbers[:2]])

    def booking(self) -> str:
        bookings = list(self.reference.booking_record)
        if bookings and self.rng.random() < 0.75:
            return self.rng.choice(bookings)
        return self.rng.choice(["unknown-booking", "1234567"])

    def amount(self) -> float:
        rng = self.rng
        if rng.random() < 0.04:  # beyond our limits: a deliberate deviation
            return rng.choice([MAX_AMOUNT * 10, float("inf"), float("nan"), 10**20, -1e13])
        return rng.choice([round(rng.uniform(-50, 3000), 2), rng.randint(0, 3000), 0, 0.1, 123.456])

    def text(self, *pool: str) -> str:
        if self.rng.random() < 0.03:
            return "x" * (MAX_TEXT_CHARS + 1)  # too long to keep: a deliberate deviation
        return self.rng.choice(pool)

    def flight(self) -> dict[str, str]:
        rng = self.rng
        frm, to = rng.choice(ROUTES) if rng.random() < 0.7 else (rng.choice(AIRPORTS), rng.choice(AIRPORTS))
        if rng.random() < 0.1:
            frm, to = rng.choice([(frm, "PVG"), ("XXX", to), (frm.lower(), to), (to, frm)])
        date = rng.choice(DATES[:5]) if rng.random() < 0.7 else rng.choice(DATES)
        travel_class = rng.choice(CLASSES[:3]) if rng.random() < 0.85 else rng.choice(CLASSES)
        return {"travel_from": frm, "travel_to": to, "travel_date": date, "travel_class": travel_class}

    def arguments(self, tool: str) -> dict[str, Any]:
        rng, ref = self.rng, self.reference
        first = ref.user_first_name if rng.random() < 0.8 else "Someone"
        last = ref.user_last_name if rng.random() < 0.8 else "Else"
        makers = {
            "authenticate_travel": lambda: {
                "client_id": "cid",
                "client_secret": "secret",
                "refresh_token": "refresh",
                "grant_type": self.text("read_write", "read", "write"),
                "user_first_name": self.text("Ada", str(first)),
                "user_last_name": self.text("Lovelace", str(last)),
            },
            "travel_get_login_status": dict,
            "get_budget_fiscal_year": lambda: rng.choice(
                [{}, {"lastModifiedAfter": "2016-03-29T16:12:20"}, {"includeRemoved": "true"}]
            ),
            "set_budget_limit": lambda: {"access_token": self.token(), "budget_limit": self.amount()},
            "register_credit_card": lambda: {
                "access_token": self.token(),
                "card_number": rng.choice([str(rng.randint(10**15, 10**16 - 1)), self.card()]),
                "expiration_date": self.text("12/2028", "01/2030"),
                "cardholder_name": self.text("Ada Lovelace", "Someone Else"),
                "card_verification_number": rng.randint(100, 999),
            },
            "get_credit_card_balance": lambda: {"access_token": self.token(), "card_id": self.card()},
            "get_all_credit_cards": dict,
            "list_all_airports": dict,
            "get_nearest_airport_by_city": lambda: {"location": rng.choice(CITIES)},
            "get_flight_cost": self.flight,
            "book_flight": lambda: {"access_token": self.token(), "card_id": self.card(), **self.flight()},
            "retrieve_invoice": lambda: {
                "access_token": self.token(),
                **rng.choice([{}, {"booking_id": self.booking()}, {"booking_id": None}]),
                **rng.choice([{}, {"insurance_id": "ins-1"}]),
            },
            "get_booking_history": lambda: {"access_token": self.token()},
            "cancel_booking": lambda: {"access_token": self.token(), "booking_id": self.booking()},
            "purchase_insurance": lambda: {
                "access_token": self.token(),
                "insurance_type": rng.choice(["comprehensive", "travel"]),
                "booking_id": self.booking(),
                "insurance_cost": self.amount(),
                "card_id": self.card(),
            },
            "contact_customer_support": lambda: {"booking_id": self.booking(), "message": "Help, please."},
            "verify_traveler_information": lambda: {
                "first_name": first,
                "last_name": last,
                "date_of_birth": rng.choice(BIRTHDAYS),
                "passport_number": rng.choice(PASSPORTS),
            },
            "compute_exchange_rate": lambda: {
                "base_currency": rng.choice(CURRENCIES),
                "target_currency": rng.choice(CURRENCIES),
                "value": self.amount(),
            },
        }
        return makers[tool]()


_AMOUNTS = {"budget_limit", "insurance_cost", "value"}
_KEPT_TEXTS = {
    "grant_type",
    "user_first_name",
    "user_last_name",
    "card_number",
    "expiration_date",
    "cardholder_name",
}


def deliberate_deviation(reference: Any, ours: TravelAPI, tool: str, bound: dict[str, Any]) -> bool:
    """Arguments beyond our limits: ours refuses them, BFCL may accept them."""
    for param, value in bound.items():
        if param in _AMOUNTS and (value != value or abs(value) > MAX_AMOUNT):
            return True
        if param in _KEPT_TEXTS and isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            return True
    return False


SEQUENCES, CALLS_PER_SEQUENCE = 60, 40
SCENARIOS = bfcl.scenarios(
    "TravelAPI",
    {
        "base": ["multi_turn_base_150", "multi_turn_base_157", "multi_turn_base_164", "multi_turn_base_178"],
        "long_context": ["multi_turn_long_context_157", "multi_turn_long_context_185"],
    },
    extra=[("no config", {}, False), ("no config, long context", {}, True)],
)


def test_differential_scenarios_exist() -> None:
    assert len(SCENARIOS) >= 6, [scenario.id for scenario in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(
        DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE, deliberate_deviation
    )
    assert counts["agree_ok"] > 500 and counts["agree_error"] > 300 and counts["deviation"] > 0, counts
