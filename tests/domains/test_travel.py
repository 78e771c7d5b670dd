"""Unit tests of the TravelAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import ast
import copy
import datetime
import inspect
import json
import random
from importlib import resources
from typing import Any

import pytest

from envtune_gym.domains import travel as travel_module
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.travel import DEFAULT_SEED, MAX_AMOUNT, MAX_TEXT_CHARS, TravelAPI
from envtune_gym.domains.travel_data import AIRPORTS, NEAREST_AIRPORT, ROUTE_BASES, USD_RATES
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

TOKEN = "abc123"
CONFIG: dict[str, Any] = {
    "credit_card_list": {
        "card_1": {
            "card_number": "4111111111111111",
            "expiration_date": "12/2030",
            "cardholder_name": "Ada Lovelace",
            "card_verification_number": 123,
            "balance": 5000,
        },
        "card_low": {
            "card_number": "5500000000000004",
            "expiry_date": "01/2029",
            "cvv": 456,
            "balance": 300.0,
        },
        "card_odd": {"card_type": "gift", "expiry_date": "01/2029"},  # config cards come in many shapes
    },
    "booking_record": {
        "b_full": {
            "card_id": "card_1",
            "travel_date": "2024-11-15",
            "travel_from": "SFO",
            "travel_to": "LAX",
            "travel_class": "economy",
            "travel_cost": 400.0,
            "transaction_id": "t_1",
        },
        "b_odd": {"flight_number": "GA123", "cost": 250.0},
        "b_lost_card": {"card_id": "card_gone", "travel_cost": 100.0},
        "b_no_cost": {"card_id": "card_1", "travel_cost": None},
    },
    "access_token": TOKEN,
    "token_type": "Bearer",
    "token_expires_in": 3600,
    "token_scope": "read_write",
    "user_first_name": "Ada",
    "user_last_name": "Lovelace",
    "budget_limit": None,
    "unknown_key": "ignored",
}
STATE_KEYS = {
    "credit_card_list", "booking_record", "access_token", "token_type", "token_expires_in", "token_scope",
    "user_first_name", "user_last_name", "budget_limit", "long_context",
}  # fmt: skip
BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
TODAY = datetime.date(2025, 6, 1)


@pytest.fixture
def travel() -> TravelAPI:
    api = TravelAPI()
    api.load_scenario(copy.deepcopy(CONFIG))
    return api


@pytest.fixture
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(travel_module, "_today", lambda: TODAY)


def observe(api: TravelAPI) -> tuple:
    """Everything a failing call must leave alone: the public state and the RNG."""
    return copy.deepcopy(api.state()), api._random.getstate()


def fails(api: TravelAPI, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(api)
    with pytest.raises(ToolError) as info:
        getattr(api, tool)(*args, **kwargs)
    assert observe(api) == before, f"{tool} failed but changed the state"
    return str(info.value)


def replica(seed: int = DEFAULT_SEED) -> random.Random:
    """An RNG that draws what BFCL's would."""
    return random.Random(seed)


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata() -> None:
    assert TravelAPI.name == "TravelAPI" and not TravelAPI.stateless
    assert TravelAPI.description == (
        "This tool belongs to the travel system, which allows users to book flights, manage credit cards, "
        "and view budget information."
    )


def test_defaults_without_config() -> None:
    api = TravelAPI()
    api.load_scenario({})
    assert api.state() == {key: None for key in STATE_KEYS} | {
        "credit_card_list": {},
        "booking_record": {},
        "long_context": False,
    }
    assert api.travel_get_login_status() == {"status": False}


def test_load_keeps_config_values_and_ignores_other_keys(travel: TravelAPI) -> None:
    assert set(travel.state()) == STATE_KEYS
    assert travel.credit_card_list == CONFIG["credit_card_list"]
    assert travel.booking_record == CONFIG["booking_record"]
    assert (travel.access_token, travel.token_expires_in, travel.user_first_name) == (TOKEN, 3600, "Ada")
    assert travel.long_context is False


def test_random_seed_from_config() -> None:
    api = TravelAPI()
    api.load_scenario({"random_seed": 7})
    token = api.authenticate_travel("c", "s", "r", "read", "A", "B")["access_token"]
    assert token == str(replica(7).randint(100000, 999999))


def test_long_context_adds_cards_and_bookings_after_the_config() -> None:
    cards, bookings = TravelAPI.long_context_padding()
    config = copy.deepcopy(CONFIG)
    first_card, first_booking = next(iter(cards)), next(iter(bookings))
    config["credit_card_list"][first_card] = {"balance": 1}  # a config entry with the same id wins
    api = TravelAPI.from_scenario(config, long_context=True)
    assert len(cards) == 22 and len(bookings) == 16
    assert list(api.credit_card_list) == [*config["credit_card_list"], *(c for c in cards if c != first_card)]
    assert list(api.booking_record) == [*config["booking_record"], *bookings]
    assert api.credit_card_list[first_card] == {"balance": 1}
    assert api.booking_record[first_booking] == bookings[first_booking]
    assert api.long_context is True


def test_long_context_data_file() -> None:
    data = json.loads(
        resources.files("envtune_gym.domains").joinpath("data/long_context_travel.json").read_text()
    )
    assert "BFCL" in data["_source"] and "Apache-2.0" in data["_source"]
    assert TravelAPI.long_context_padding() is TravelAPI.long_context_padding()  # read once


def test_long_context_data_matches_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.long_context", reason=NO_BFCL)
    data = json.loads(
        resources.files("envtune_gym.domains").joinpath("data/long_context_travel.json").read_text()
    )
    assert data["CREDIT_CARD_EXTENSION"] == reference.CREDIT_CARD_EXTENSION
    assert data["BOOKING_RECORD_EXTENSION"] == reference.BOOKING_RECORD_EXTENSION
    assert json.dumps(data["CREDIT_CARD_EXTENSION"]) == json.dumps(reference.CREDIT_CARD_EXTENSION)
    assert json.dumps(data["BOOKING_RECORD_EXTENSION"]) == json.dumps(reference.BOOKING_RECORD_EXTENSION)


def test_tables_match_bfcl() -> None:
    module = pytest.importorskip(f"{BFCL_SOURCE}.travel_booking", reason=NO_BFCL)
    tables = _bfcl_tables(ast.parse(inspect.getsource(module)))
    assert list(tables["base_costs"].items()) == list(ROUTE_BASES.items())  # order included
    assert tables["exchange_rates"] == {("USD", code): rate for code, rate in USD_RATES.items()}
    assert tables["airport_map"] == dict(NEAREST_AIRPORT)
    assert module.TravelAPI().list_all_airports() == list(AIRPORTS)


def _bfcl_tables(
    tree: ast.AST, names: tuple[str, ...] = ("base_costs", "exchange_rates", "airport_map")
) -> dict:
    """The literal tables BFCL's methods build inline, by variable name."""
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(node.value)
    return found


# ------------------------------------------------------------------------------------------------------------
# Isolation: no instance shares a mutable object with another, with a config or with a module constant


def test_instances_do_not_share_state_with_each_other_or_the_config() -> None:
    config = copy.deepcopy(CONFIG)
    first = TravelAPI.from_scenario(config)
    second = TravelAPI.from_scenario(config)  # the very same config object
    pristine = copy.deepcopy(second.state())
    first.book_flight(TOKEN, "card_1", "2024-11-15", "SFO", "LAX", "economy")
    first.credit_card_list["card_low"]["balance"] = 1
    first.booking_record["b_odd"]["cost"] = 0
    assert config == CONFIG and second.state() == pristine
    assert TravelAPI.from_scenario(config).state() == pristine
    assert TravelAPI().credit_card_list is not TravelAPI().credit_card_list


def test_long_context_entries_are_private_copies() -> None:
    cards, bookings = TravelAPI.long_context_padding()
    pristine = copy.deepcopy((cards, bookings))
    first, second = TravelAPI(), TravelAPI()
    first.load_scenario({"access_token": TOKEN}, long_context=True)
    second.load_scenario({"access_token": TOKEN}, long_context=True)
    card_id, booking_id = next(iter(cards)), next(iter(bookings))
    first.book_flight(TOKEN, card_id, "2024-11-15", "SFO", "LAX", "economy")  # BFCL: changes its constant
    first.cancel_booking(TOKEN, booking_id)
    first.credit_card_list[next(iter(cards))]["cardholder_name"] = "changed"
    assert (cards, bookings) == pristine
    third = TravelAPI()
    third.load_scenario({"access_token": TOKEN}, long_context=True)
    assert second.state() == third.state() and second.credit_card_list[card_id] == pristine[0][card_id]


def test_results_do_not_alias_the_state(travel: TravelAPI) -> None:
    before = observe(travel)
    travel.get_all_credit_cards()["credit_card_list"]["card_1"]["balance"] = 0
    travel.get_booking_history(TOKEN)["booking_history"]["b_full"]["travel_cost"] = 0
    travel.retrieve_invoice(TOKEN, "b_full")["invoice"]["travel_cost"] = 0
    travel.list_all_airports().clear()
    assert observe(travel) == before
    assert travel.list_all_airports() == list(AIRPORTS)
    long = TravelAPI()
    long.load_scenario(copy.deepcopy(CONFIG), long_context=True)
    result = long.book_flight(TOKEN, "card_1", "2024-11-15", "SFO", "LAX", "economy")
    result["booking_history"]["b_full"]["travel_cost"] = 0
    assert long.booking_record["b_full"]["travel_cost"] == 400.0


def test_clone_keeps_the_rng_in_step(travel: TravelAPI) -> None:
    twin = travel.clone()
    assert twin.state() == travel.state() and twin.credit_card_list is not travel.credit_card_list
    ours = travel.authenticate_travel("c", "s", "r", "read", "Ada", "Lovelace")
    assert twin.authenticate_travel("c", "s", "r", "read", "Ada", "Lovelace") == ours


# ------------------------------------------------------------------------------------------------------------
# Session, budget and the RNG


def test_authenticate_draws_a_new_token_each_time() -> None:
    api = TravelAPI()
    api.load_scenario({})
    rng = replica()
    result = api.authenticate_travel("cid", "secret", "refresh", "read_write", "Ada", "Lovelace")
    assert result == {
        "expires_in": 2,
        "access_token": "251675",
        "token_type": "Bearer",
        "scope": "read_write",
    }
    assert result["access_token"] == str(rng.randint(100000, 999999))
    assert (api.token_expires_in, api.token_type, api.token_scope) == (2, "Bearer", "read_write")
    assert (api.user_first_name, api.user_last_name) == ("Ada", "Lovelace")
    again = api.authenticate_travel("", "", "", "anything", "Bob", "Smith")  # nothing is validated
    assert again["access_token"] == api.access_token == str(rng.randint(100000, 999999))
    assert api.travel_get_login_status() == {"status": True}


def test_rng_draw_order_across_tools(travel: TravelAPI) -> None:
    rng = replica()
    token = travel.authenticate_travel("c", "s", "r", "read_write", "Ada", "Lovelace")["access_token"]
    assert token == str(rng.randint(100000, 999999))
    card_id = travel.register_credit_card(token, "4000000000000002", "01/2031", "Ada Lovelace", 321)[
        "card_id"
    ]
    assert card_id == str(rng.randint(100000000000, 999999999999))
    assert travel.credit_card_list[card_id]["balance"] == rng.randint(10000, 99999)
    booking = travel.book_flight(token, card_id, "2024-11-15", "SFO", "LAX", "economy")
    assert booking["booking_id"] == str(rng.randint(1000000, 9999999))
    assert booking["transaction_id"] == str(rng.randint(10000000, 99999999))
    insurance = travel.purchase_insurance(token, "travel", booking["booking_id"], 50.0, card_id)
    assert insurance == {"insurance_id": str(rng.randint(100000000, 999999999)), "insurance_status": True}
    assert (token, card_id, booking["booking_id"], booking["transaction_id"]) == (
        "251675", "391310425148", "4191922", "56121276"
    )  # fmt: skip


def test_login_status() -> None:
    api = TravelAPI()
    for expires, status in ((None, False), (0, False), (3600, True), (2, True)):
        api.load_scenario({"token_expires_in": expires})
        assert api.travel_get_login_status() == {"status": status}


def test_token_checks(travel: TravelAPI) -> None:
    assert "access token you were given" in fails(travel, "get_booking_history", "wrong")
    expired = TravelAPI()
    expired.load_scenario({**copy.deepcopy(CONFIG), "token_expires_in": 0})
    assert "expired" in fails(expired, "get_booking_history", TOKEN)
    assert "authenticate_travel" in fails(expired, "cancel_booking", TOKEN, "b_full")
    logged_out = TravelAPI()
    logged_out.load_scenario({})
    assert "not logged in" in fails(logged_out, "set_budget_limit", "123", 10)
    # BFCL compares tokens with ==, so None passes when no session exists (only direct calls can pass None)
    assert logged_out.get_booking_history(None) == {"booking_history": {}}  # type: ignore[arg-type]


def test_budget_fiscal_year_and_budget_limit(travel: TravelAPI) -> None:
    assert travel.get_budget_fiscal_year() == {"budget_fiscal_year": "2018"}
    assert travel.get_budget_fiscal_year("2016-03-29T16:12:20", "true") == {"budget_fiscal_year": "2018"}
    result = travel.set_budget_limit(TOKEN, 2000)
    assert result == {"budget_limit": 2000.0} and serialize_result(result) == '{"budget_limit": 2000.0}'
    assert type(travel.budget_limit) is float
    assert travel.set_budget_limit(TOKEN, -5.5) == {"budget_limit": -5.5}
    fails(travel, "set_budget_limit", "nope", 10)


# ------------------------------------------------------------------------------------------------------------
# Credit cards


def test_register_credit_card_quirks(travel: TravelAPI) -> None:
    first = travel.register_credit_card(TOKEN, "4111111111111111", "12/2030", "Ada Lovelace", 123)
    second = travel.register_credit_card(TOKEN, "4111111111111111", "12/2030", "Ada Lovelace", 123)
    assert first != second  # BFCL quirk: the same card number registers twice...
    message = fails(travel, "register_credit_card", TOKEN, "card_1", "12/2030", "Ada", 1)
    assert "already registered as a card id" in message  # ...but a number equal to a card *id* does not
    card = travel.credit_card_list[first["card_id"]]
    assert list(card) == [
        "card_number",
        "expiration_date",
        "cardholder_name",
        "card_verification_number",
        "balance",
    ]
    assert type(card["balance"]) is int and 10000 <= card["balance"] <= 99999
    assert len(first["card_id"]) == 12


def test_register_credit_card_needs_a_session() -> None:
    api = TravelAPI()
    api.load_scenario({})
    assert "not logged in" in fails(api, "register_credit_card", None, "1", "01/2030", "A", 1)
    api.load_scenario({"access_token": TOKEN, "token_expires_in": 0})
    assert "expired" in fails(api, "register_credit_card", TOKEN, "1", "01/2030", "A", 1)
    api.load_scenario({"access_token": TOKEN, "token_expires_in": 5})
    fails(api, "register_credit_card", "wrong", "1", "01/2030", "A", 1)


def test_credit_card_balance_and_listing(travel: TravelAPI) -> None:
    assert travel.get_credit_card_balance(TOKEN, "card_1") == {"card_balance": 5000}
    message = fails(travel, "get_credit_card_balance", TOKEN, "nope")
    assert "'card_1', 'card_low', 'card_odd'" in message
    assert "no balance" in fails(travel, "get_credit_card_balance", TOKEN, "card_odd")
    assert travel.get_all_credit_cards() == {"credit_card_list": CONFIG["credit_card_list"]}
    for number in range(30):
        travel.credit_card_list[f"extra_{number}"] = {"balance": 1}
    assert "and 13 more" in fails(travel, "get_credit_card_balance", TOKEN, "nope")


# ------------------------------------------------------------------------------------------------------------
# Flights


def test_airports_and_cities(travel: TravelAPI) -> None:
    airports = travel.list_all_airports()
    assert isinstance(airports, list) and len(airports) == 23 and airports[:3] == ["RMS", "SBK", "MPC"]
    assert serialize_result(airports) == str(list(AIRPORTS))  # BFCL quirk: the Python repr of a list
    assert travel.get_nearest_airport_by_city("New York") == {"nearest_airport": "JFK"}
    assert travel.get_nearest_airport_by_city("Atlantis") == {"nearest_airport": "Unknown"}
    assert travel.get_nearest_airport_by_city("rome") == {"nearest_airport": "Unknown"}  # case matters


def test_flight_cost_model(travel: TravelAPI) -> None:
    # 2024-11-15: digits add up to 16 (even), so the date doubles the fare; 2024-11-16 adds up to 17 (odd)
    assert travel.get_flight_cost("SFO", "LAX", "2024-11-15", "economy") == {"travel_cost_list": [400.0]}
    assert travel.get_flight_cost("SFO", "LAX", "2024-11-16", "economy") == {"travel_cost_list": [200.0]}
    assert travel.get_flight_cost("LAX", "SFO", "2024-11-16", "business") == {"travel_cost_list": [200.0]}
    assert travel.get_flight_cost("OKD", "LAX", "2024-11-16", "first") == {"travel_cost_list": [1100.0]}
    assert travel.get_flight_cost("JFK", "PVG", "no digits", "economy") == {"travel_cost_list": [1900.0]}
    assert travel.get_flight_cost("SFO", "LAX", "٢٠٢٤-١١-١٦", "economy") == {"travel_cost_list": [200.0]}
    assert len(ROUTE_BASES) == 153 and list(ROUTE_BASES)[-2:] == [("LHR", "CDG"), ("OKD", "LAX")]


def test_flight_cost_errors(travel: TravelAPI) -> None:
    message = fails(travel, "get_flight_cost", "LAX", "PEK", "2024-11-15", "economy")
    assert "one-way" in message and "Flights from LAX go to: SFO, JFK" in message
    assert "Departure airports: SFO, LAX" in fails(
        travel, "get_flight_cost", "CDG", "LHR", "2024-11-15", "first"
    )
    message = fails(travel, "get_flight_cost", "SFO", "LAX", "2024-11-15", "Economy")
    assert "business, economy, first" in message  # fixed order (BFCL prints a set in hash-seed order)
    assert "YYYY-MM-DD" in fails(travel, "get_flight_cost", "SFO", "LAX", "2024-11-1²", "economy")


def test_flight_cost_in_long_context_lists_every_route() -> None:
    api = TravelAPI()
    api.load_scenario({}, long_context=True)
    costs = api.get_flight_cost("SFO", "LAX", "2024-11-15", "business")["travel_cost_list"]
    assert costs == [float(base * 2 * 2) for base in ROUTE_BASES.values()]
    assert len(costs) == 153 and costs[0] == 800.0 and costs[-1] == 880.0
    fails(api, "get_flight_cost", "LAX", "PEK", "2024-11-15", "economy")  # the route is still checked


def test_book_flight(travel: TravelAPI) -> None:
    rng = replica()
    result = travel.book_flight(TOKEN, "card_1", "2024-11-15", "SFO", "LAX", "economy")
    booking_id, transaction_id = str(rng.randint(1000000, 9999999)), str(rng.randint(10000000, 99999999))
    assert result == {
        "booking_id": booking_id,
        "transaction_id": transaction_id,
        "booking_status": True,
        "booking_history": {},  # BFCL quirk: empty outside long context
    }
    assert travel.booking_record[booking_id] == {
        "card_id": "card_1",
        "travel_date": "2024-11-15",
        "travel_from": "SFO",
        "travel_to": "LAX",
        "travel_class": "economy",
        "travel_cost": 400.0,
        "transaction_id": transaction_id,
    }
    assert travel.credit_card_list["card_1"]["balance"] == 4600.0
    assert list(travel.booking_record)[-1] == booking_id


def test_book_flight_in_long_context_returns_every_booking() -> None:
    api = TravelAPI()
    api.load_scenario(copy.deepcopy(CONFIG), long_context=True)
    result = api.book_flight(TOKEN, "card_1", "2024-11-15", "SFO", "LAX", "economy")
    assert result["booking_history"] == api.booking_record and len(api.booking_record) == 4 + 16 + 1


def test_book_flight_errors(travel: TravelAPI) -> None:
    book = ("2024-11-15", "SFO", "LAX", "economy")
    fails(travel, "book_flight", "wrong", "card_1", *book)
    assert "'card_1', 'card_low'" in fails(travel, "book_flight", TOKEN, "nope", *book)
    assert "no usable balance" in fails(travel, "book_flight", TOKEN, "card_odd", *book)
    assert "list_all_airports" in fails(
        travel, "book_flight", TOKEN, "card_1", "2024-11-15", "XXX", "LAX", "first"
    )
    # PVG has a route but is not a listed airport, so it cannot be booked
    assert "destination" in fails(travel, "book_flight", TOKEN, "card_1", "2024-11-15", "JFK", "PVG", "first")
    for date in ("2024/11/15", "2023-02-29", "", "15-11-2024"):
        assert "YYYY-MM-DD" in fails(travel, "book_flight", TOKEN, "card_1", date, "SFO", "LAX", "economy")
    assert "economy" in fails(travel, "book_flight", TOKEN, "card_1", "2024-11-15", "SFO", "LAX", "coach")
    assert "no flight" in fails(travel, "book_flight", TOKEN, "card_1", "2024-11-15", "LHR", "SFO", "economy")
    assert "less than the fare" in fails(travel, "book_flight", TOKEN, "card_low", *book)


def test_book_flight_budget_quirk_compares_the_balance(travel: TravelAPI) -> None:
    travel.set_budget_limit(TOKEN, 350.0)
    # the fare (200) is within the limit, but the card's balance (300) is below it: BFCL refuses
    message = fails(travel, "book_flight", TOKEN, "card_low", "2024-11-16", "SFO", "LAX", "economy")
    assert "below the budget limit" in message
    travel.set_budget_limit(TOKEN, 300.0)
    assert travel.book_flight(TOKEN, "card_low", "2024-11-16", "SFO", "LAX", "economy")["booking_status"]
    assert travel.credit_card_list["card_low"]["balance"] == 100.0


# ------------------------------------------------------------------------------------------------------------
# Bookings


def test_retrieve_invoice(travel: TravelAPI) -> None:
    invoice = {
        "booking_id": "b_full",
        "travel_date": "2024-11-15",
        "travel_from": "SFO",
        "travel_to": "LAX",
        "travel_class": "economy",
        "travel_cost": 400.0,
        "transaction_id": "t_1",
    }
    assert travel.retrieve_invoice(TOKEN, "b_full") == {"invoice": invoice}
    assert travel.retrieve_invoice(TOKEN, "b_full", "any insurance") == {"invoice": invoice}  # ignored
    assert "no booking_id was given" in fails(travel, "retrieve_invoice", TOKEN)
    assert "'b_full', 'b_odd'" in fails(travel, "retrieve_invoice", TOKEN, "nope")
    assert "lacks travel_date" in fails(travel, "retrieve_invoice", TOKEN, "b_odd")
    fails(travel, "retrieve_invoice", "wrong", "b_full")


def test_booking_history(travel: TravelAPI) -> None:
    assert travel.get_booking_history(TOKEN) == {"booking_history": CONFIG["booking_record"]}
    fails(travel, "get_booking_history", "")


def test_cancel_booking_refunds_the_card(travel: TravelAPI) -> None:
    assert travel.cancel_booking(TOKEN, "b_full") == {"cancel_status": True}
    assert "b_full" not in travel.booking_record
    assert travel.credit_card_list["card_1"]["balance"] == 5400.0
    assert "no booking has id 'b_full'" in fails(travel, "cancel_booking", TOKEN, "b_full")


def test_cancel_booking_failures_that_crash_in_bfcl(travel: TravelAPI) -> None:
    assert "'card_gone'" in fails(travel, "cancel_booking", TOKEN, "b_lost_card")  # a KeyError in BFCL
    assert "cost (None)" in fails(travel, "cancel_booking", TOKEN, "b_no_cost")  # a TypeError in BFCL
    assert "card (None)" in fails(travel, "cancel_booking", TOKEN, "b_odd")
    travel.booking_record["b_odd_card"] = {"card_id": "card_odd", "travel_cost": 5.0}
    assert "no usable balance" in fails(travel, "cancel_booking", TOKEN, "b_odd_card")


def test_purchase_insurance(travel: TravelAPI) -> None:
    rng = replica()
    result = travel.purchase_insurance(TOKEN, "comprehensive", "b_odd", 6000.0, "card_1")
    assert result == {"insurance_id": str(rng.randint(100000000, 999999999)), "insurance_status": True}
    assert travel.credit_card_list["card_1"]["balance"] == -1000.0  # BFCL quirk: may go negative
    assert travel.booking_record == CONFIG["booking_record"]  # nothing is recorded


def test_purchase_insurance_errors_in_bfcl_order(travel: TravelAPI) -> None:
    fails(travel, "purchase_insurance", "wrong", "travel", "nope", 10.0, "nope")
    travel.set_budget_limit(TOKEN, 100.0)
    assert "budget limit" in fails(travel, "purchase_insurance", TOKEN, "travel", "nope", 150.0, "nope")
    assert "no booking has id" in fails(travel, "purchase_insurance", TOKEN, "travel", "nope", 50.0, "nope")
    assert "no credit card" in fails(travel, "purchase_insurance", TOKEN, "travel", "b_full", 50.0, "nope")
    assert "no usable balance" in fails(
        travel, "purchase_insurance", TOKEN, "travel", "b_full", 50.0, "card_odd"
    )


def test_contact_customer_support(travel: TravelAPI) -> None:
    assert travel.contact_customer_support("b_odd", "Help") == {
        "customer_support_message": "Thank you for contacting customer support. Your message has been "
        "received and we will get back to you shortly."
    }
    fails(travel, "contact_customer_support", "nope", "Help")


# ------------------------------------------------------------------------------------------------------------
# Travellers and currencies


@pytest.mark.usefixtures("pinned_today")
def test_verify_traveler_information(travel: TravelAPI) -> None:
    verify = travel.verify_traveler_information
    assert verify("Ada", "Lovelace", "1990-05-10", "US1234") == {"verification_status": True}
    assert verify("Ada", "Lovelace", "2007-06-01", "US1234") == {"verification_status": True}  # 18 today
    failures = {
        ("Bob", "Lovelace", "1990-05-10", "US1"): (
            "Cannot book flight information for another user.Expected Ada Lovelace, got Bob Lovelace"
        ),
        ("Ada", "Lovelace", "10/05/1990", "US1"): "Invalid date of birth format. Please use YYYY-MM-DD.",
        ("Ada", "Lovelace", "2007-06-02", "US1"): "Traveler must be at least 18 years old.",
        ("Ada", "Lovelace", "1990-05-10", "UK1"): "Passport must be issued by the United States.",
    }
    for args, reason in failures.items():
        # a failed verification is a normal result, not an error (BFCL's shape and text)
        assert verify(*args) == {"verification_status": False, "verification_failure": reason}


def test_today_is_the_real_date() -> None:
    assert travel_module._today() == datetime.date.today()


def test_compute_exchange_rate(travel: TravelAPI) -> None:
    rate = travel.compute_exchange_rate
    assert rate("USD", "EUR", 100) == {"exchanged_value": 80.0}
    assert rate("USD", "CAD", 3) == {"exchanged_value": 3.9000000000000004}  # from USD: not rounded
    assert (
        rate("USD", "RMB", 2) == {"exchanged_value": 14.0}
        and type(rate("USD", "RMB", 2)["exchanged_value"]) is float
    )
    assert rate("RMB", "USD", 100) == {"exchanged_value": 14.29}  # to USD: rounded to 2 decimals
    assert "convert to USD first" in fails(travel, "compute_exchange_rate", "EUR", "JPY", 10)
    fails(travel, "compute_exchange_rate", "USD", "USD", 10)
    fails(travel, "compute_exchange_rate", "XYZ", "USD", 10)


# ------------------------------------------------------------------------------------------------------------
# Bounded work


def test_amounts_are_bounded(travel: TravelAPI) -> None:
    for amount in (MAX_AMOUNT * 2, -MAX_AMOUNT * 2, float("inf"), float("nan"), 10**400):
        assert "finite amount" in fails(travel, "compute_exchange_rate", "USD", "EUR", amount)
        fails(travel, "set_budget_limit", TOKEN, amount)
        fails(travel, "purchase_insurance", TOKEN, "travel", "b_full", amount, "card_1")
    assert travel.compute_exchange_rate("USD", "EUR", MAX_AMOUNT)["exchanged_value"] == MAX_AMOUNT * 0.8


def test_kept_texts_are_bounded(travel: TravelAPI) -> None:
    long = "x" * (MAX_TEXT_CHARS + 1)
    assert "characters long" in fails(travel, "register_credit_card", TOKEN, "1", "01/2030", long, 1)
    fails(travel, "register_credit_card", TOKEN, long, "01/2030", "A", 1)
    fails(travel, "authenticate_travel", "c", "s", "r", "read", long, "B")
    fails(travel, "authenticate_travel", "c", "s", "r", long, "A", "B")
    ok = "x" * MAX_TEXT_CHARS
    assert travel.authenticate_travel(long, long, long, "read", ok, ok)["expires_in"] == 2


# ------------------------------------------------------------------------------------------------------------
# Schemas and the registry


EXPECTED_SIGNATURES = {
    "authenticate_travel": (
        ["client_id", "client_secret", "refresh_token", "grant_type", "user_first_name", "user_last_name"], {}
    ),
    "travel_get_login_status": ([], {}),
    "get_budget_fiscal_year": ([], {"lastModifiedAfter": None, "includeRemoved": None}),
    "register_credit_card": (
        ["access_token", "card_number", "expiration_date", "cardholder_name", "card_verification_number"], {}
    ),
    "get_flight_cost": (["travel_from", "travel_to", "travel_date", "travel_class"], {}),
    "get_credit_card_balance": (["access_token", "card_id"], {}),
    "book_flight": (
        ["access_token", "card_id", "travel_date", "travel_from", "travel_to", "travel_class"], {}
    ),
    "retrieve_invoice": (["access_token"], {"booking_id": None, "insurance_id": None}),
    "get_booking_history": (["access_token"], {}),
    "list_all_airports": ([], {}),
    "cancel_booking": (["access_token", "booking_id"], {}),
    "compute_exchange_rate": (["base_currency", "target_currency", "value"], {}),
    "verify_traveler_information": (["first_name", "last_name", "date_of_birth", "passport_number"], {}),
    "set_budget_limit": (["access_token", "budget_limit"], {}),
    "get_nearest_airport_by_city": (["location"], {}),
    "purchase_insurance": (["access_token", "insurance_type", "booking_id", "insurance_cost", "card_id"], {}),
    "contact_customer_support": (["booking_id", "message"], {}),
    "get_all_credit_cards": ([], {}),
}  # fmt: skip


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(TravelAPI)}
    assert sorted(specs) == sorted(EXPECTED_SIGNATURES) and len(specs) == 18
    for name, (required, defaults) in EXPECTED_SIGNATURES.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert {k: v["default"] for k, v in params["properties"].items() if "default" in v} == defaults, name
        assert specs[name].param_order == tuple(required) + tuple(defaults), name
        assert specs[name].description.startswith(TravelAPI.description + " Tool description: "), name
        assert all(prop["description"] for prop in params["properties"].values()), name
    props = {name: spec.parameters["properties"] for name, spec in specs.items()}
    assert props["compute_exchange_rate"]["value"]["type"] == "number"
    assert props["register_credit_card"]["card_verification_number"]["type"] == "integer"
    assert props["retrieve_invoice"]["booking_id"]["type"] == ["string", "null"]
    assert "economy, business, first" in props["get_flight_cost"]["travel_class"]["description"]


def test_registry_dispatch(travel: TravelAPI) -> None:
    tools = ToolRegistry([travel])
    assert tools.execute("list_all_airports", {}).result == str(list(AIRPORTS))
    args = tools.bind("get_flight_cost", ("SFO", "LAX", "2024-11-15", "economy"), {})
    assert tools.execute("get_flight_cost", args).result == '{"travel_cost_list": [400.0]}'
    outcome = tools.execute(
        "compute_exchange_rate", {"base_currency": "EUR", "target_currency": "JPY", "value": 1}
    )
    assert (
        outcome.error == "tool_error"
        and "compute_exchange_rate: no rate" in json.loads(outcome.result)["error"]
    )
    bad = tools.execute(
        "compute_exchange_rate", {"base_currency": "USD", "target_currency": "EUR", "value": "1"}
    )
    assert bad.error == "invalid_arguments"
    assert (
        tools.execute("retrieve_invoice", {"access_token": TOKEN, "booking_id": None}).error == "tool_error"
    )
