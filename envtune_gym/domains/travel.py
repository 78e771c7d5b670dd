"""A travel-booking API: a re-implementation of BFCL's ``TravelAPI``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`), random ids included:
the RNG is a private ``random.Random`` with BFCL's seed, drawn by the same calls in the same order. BFCL's
quirks that show in results or state are kept on purpose, and marked ``BFCL quirk`` where they are. Failures
raise :class:`ToolError` with a message that says what to do next, and leave the state as it was.

Deliberate differences: BFCL's error dicts and its crashes (unknown routes, classes and currencies in
``get_flight_cost`` and ``compute_exchange_rate``, ``cancel_booking`` of a booking whose card or cost is
missing, invoices of bookings without the invoice fields) become our own ToolError messages, and the valid
travel classes are listed in a fixed order (BFCL prints a set, whose order depends on the hash seed). Amounts
beyond :data:`MAX_AMOUNT` (or not finite) and texts kept in the state beyond :data:`MAX_TEXT_CHARS` are
refused. The long-context cards and bookings are private copies (BFCL inserts its module constants by
reference). BFCL's private flight-cost cache is not kept: it never changes a result.

Wall clock: like BFCL, ``verify_traveler_information`` measures the traveller's age against today's date
(:func:`_today`); nothing else reads the clock.

Example:
    >>> travel = TravelAPI()
    >>> travel.load_scenario({})
    >>> travel.authenticate_travel("id", "secret", "refresh", "read_write", "Ada", "Lovelace")
    {'expires_in': 2, 'access_token': '251675', 'token_type': 'Bearer', 'scope': 'read_write'}
    >>> travel.get_flight_cost("SFO", "LAX", "2024-11-15", "business")
    {'travel_cost_list': [800.0]}
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.domains.travel_data import (
    AIRPORTS,
    BUDGET_FISCAL_YEAR,
    INVOICE_FIELDS,
    MAX_AMOUNT,
    MAX_TEXT_CHARS,
    NEAREST_AIRPORT,
    ROUTE_BASES,
    SCALAR_FIELDS,
    SUPPORT_REPLY,
    USD_RATES,
    all_costs,
    card_balance,
    check_amount,
    check_texts,
    fare,
    is_number,
    listing,
    not_logged_in,
    parse_date,
    quote,
    verification_failure,
)
from envtune_gym.results import encode_with
from envtune_gym.tools import tool

__all__ = ["DEFAULT_SEED", "MAX_AMOUNT", "MAX_TEXT_CHARS", "TravelAPI"]  # the limits live with the checks

#: BFCL's default seed (no scenario in the data sets ``random_seed``).
DEFAULT_SEED = 141053


def _today() -> datetime.date:
    """Today's local date: the one wall-clock dependence, as in BFCL (tests pin it)."""
    return datetime.date.today()


class TravelAPI(Domain):
    """BFCL's TravelAPI. Compared state: the card and booking maps, the token fields, the user's name, the
    budget limit and ``long_context``; the RNG is private."""

    name = "TravelAPI"
    description = (
        "This tool belongs to the travel system, which allows users to book flights, manage credit cards, "
        "and view budget information."
    )

    init_loads_empty_scenario = True
    long_context_file = "long_context_travel.json"

    @classmethod
    def shape_long_context(cls, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """BFCL's 22 long-context cards and 16 bookings, as ``(cards, bookings)`` (every load copies them)."""
        return data["CREDIT_CARD_EXTENSION"], data["BOOKING_RECORD_EXTENSION"]

    def __init__(self) -> None:
        self.load_scenario({})

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the state from a config with any of ``credit_card_list``, ``booking_record``, the token fields,
        ``user_first_name``, ``user_last_name``, ``budget_limit`` and ``random_seed``; others are ignored.

        Missing keys take BFCL's defaults (empty maps, None). Long context adds BFCL's 22 cards and 16
        bookings after the config's own, without replacing entries with the same id.
        """
        self._seed_random(config.get("random_seed", DEFAULT_SEED))
        self.credit_card_list: dict[str, dict[str, Any]] = config.get("credit_card_list", {})
        self.booking_record: dict[str, dict[str, Any]] = config.get("booking_record", {})
        for field in SCALAR_FIELDS:
            setattr(self, field, config.get(field))
        self.long_context = long_context
        if long_context:
            cards, bookings = self.long_context_padding()
            for card_id, card in fresh(cards, constant=True).items():
                self.credit_card_list.setdefault(card_id, card)
            for booking_id, booking in fresh(bookings, constant=True).items():
                self.booking_record.setdefault(booking_id, booking)

    # --------------------------------------------------------------------------------------------------------
    # Checks shared by the tools

    def _check_token(self, tool: str, access_token: str) -> None:
        """BFCL's token checks: an expired session first, then a token that is not the session's."""
        if self.token_expires_in == 0:
            raise ToolError(
                f"{tool}: the session has expired. Call authenticate_travel to log in again, then retry with "
                "the access_token it returns."
            )
        if access_token != self.access_token:
            raise ToolError(self._token_hint(tool))

    def _token_hint(self, tool: str) -> str:
        if self.access_token is None:
            return not_logged_in(tool)
        return (
            f"{tool}: that access token is not valid for this session. Pass the access token you were given "
            "(or the one authenticate_travel last returned), exactly as it is."
        )

    def _card(self, tool: str, card_id: str) -> dict[str, Any]:
        if card_id not in self.credit_card_list:
            raise ToolError(f"{tool}: no credit card has id {quote(card_id)}. {self._cards_hint()}")
        return self.credit_card_list[card_id]

    def _cards_hint(self) -> str:
        empty = "No card is registered yet; add one with register_credit_card."
        return listing(self.credit_card_list, "Registered card ids", empty)

    def _booking(self, tool: str, booking_id: str | None) -> dict[str, Any]:
        if booking_id not in self.booking_record:
            what = (
                "no booking_id was given" if booking_id is None else f"no booking has id {quote(booking_id)}"
            )
            hint = listing(self.booking_record, "Booking ids", "There are no bookings yet; use book_flight.")
            raise ToolError(f"{tool}: {what}. {hint}")
        return self.booking_record[booking_id]

    # --------------------------------------------------------------------------------------------------------
    # Session

    @tool
    def authenticate_travel(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        grant_type: str,
        user_first_name: str,
        user_last_name: str,
    ) -> dict[str, Any]:
        """Authenticate the user with the travel API and start a new session.

        Args:
            client_id: The client application's client_id, supplied by App Management.
            client_secret: The client application's client_secret, supplied by App Management.
            refresh_token: The refresh token obtained from the initial authentication.
            grant_type: The grant type of the authentication request. Options: read_write, read, write.
            user_first_name: The first name of the user.
            user_last_name: The last name of the user.

        Returns:
            expires_in: How long the access token can be used before it expires.
            access_token: The access token to pass to the other travel tools.
            token_type: The type of the token.
            scope: The scope of the token.
        """
        check_texts(
            "authenticate_travel",
            grant_type=grant_type,
            user_first_name=user_first_name,
            user_last_name=user_last_name,
        )
        # BFCL quirk: nothing is validated, and every call issues a new token (a new RNG draw).
        self.token_expires_in = 2
        self.access_token = str(self._random.randint(100000, 999999))
        self.token_type = "Bearer"
        self.token_scope = grant_type
        self.user_first_name = user_first_name
        self.user_last_name = user_last_name
        return {
            "expires_in": 2,
            "access_token": self.access_token,
            "token_type": "Bearer",
            "scope": grant_type,
        }

    @tool
    def travel_get_login_status(self) -> dict[str, bool]:
        """Get the status of the login.

        Returns:
            status: True if a session is active.
        """
        return {"status": not (self.token_expires_in is None or self.token_expires_in == 0)}

    @tool
    def get_budget_fiscal_year(
        self, lastModifiedAfter: str | None = None, includeRemoved: str | None = None
    ) -> dict[str, str]:
        """Get the budget fiscal year.

        Args:
            lastModifiedAfter: Optional. Only return fiscal years changed after this date, read in the UTC
                time zone, in the format YYYY-MM-DDTHH:MM:SS (e.g. 2016-03-29T16:12:20). If not given,
                every fiscal year is returned, whatever its modification date.
            includeRemoved: Optional. If true, fiscal years that were removed are returned too. If not given,
                this defaults to false.
        """
        return {"budget_fiscal_year": BUDGET_FISCAL_YEAR}

    @tool
    def set_budget_limit(self, access_token: str, budget_limit: float) -> dict[str, float]:
        """Set the budget limit for the user.

        Args:
            access_token: The access token obtained from authentication or given in the initial configuration.
            budget_limit: The budget limit to set, in USD.
        """
        self._check_token("set_budget_limit", access_token)
        check_amount("set_budget_limit", "budget_limit", budget_limit)
        self.budget_limit = float(budget_limit)
        return {"budget_limit": self.budget_limit}

    # --------------------------------------------------------------------------------------------------------
    # Credit cards

    @tool
    def register_credit_card(
        self,
        access_token: str,
        card_number: str,
        expiration_date: str,
        cardholder_name: str,
        card_verification_number: int,
    ) -> dict[str, str]:
        """Register a credit card.

        Args:
            access_token: The access token obtained from the authenticate method.
            card_number: The credit card number.
            expiration_date: The expiration date of the credit card, in the format MM/YYYY.
            cardholder_name: The name of the cardholder.
            card_verification_number: The card verification number.
        """
        if self.token_expires_in is None:  # BFCL checks this here only
            raise ToolError(not_logged_in("register_credit_card"))
        self._check_token("register_credit_card", access_token)
        if card_number in self.credit_card_list:  # BFCL quirk: the number is checked against card *ids*
            raise ToolError(
                f"register_credit_card: {quote(card_number)} is already registered as a card id. "
                "get_all_credit_cards lists the registered cards."
            )
        check_texts(
            "register_credit_card",
            card_number=card_number,
            expiration_date=expiration_date,
            cardholder_name=cardholder_name,
        )
        card_id = str(self._random.randint(100000000000, 999999999999))
        self.credit_card_list[card_id] = {
            "card_number": card_number,
            "expiration_date": expiration_date,
            "cardholder_name": cardholder_name,
            "card_verification_number": card_verification_number,
            "balance": self._random.randint(10000, 99999),  # drawn after the id, as in BFCL
        }
        return {"card_id": card_id}

    @tool
    def get_credit_card_balance(self, access_token: str, card_id: str) -> dict[str, Any]:
        """Get the balance of a credit card.

        Args:
            access_token: The access token obtained from the authenticate method.
            card_id: The id of the credit card.
        """
        self._check_token("get_credit_card_balance", access_token)
        card = self._card("get_credit_card_balance", card_id)
        if "balance" not in card:  # BFCL raises here
            raise ToolError(f"get_credit_card_balance: the card {quote(card_id)} has no balance on record.")
        return {"card_balance": fresh(card["balance"])}

    @tool(lists=True)
    def get_all_credit_cards(self) -> dict[str, dict[str, Any]]:
        """Get all registered credit cards.

        Returns:
            credit_card_list: The registered credit cards by card id, each with its card number, expiration
                date, cardholder name, card verification number and balance.
        """
        return {"credit_card_list": fresh(self.credit_card_list)}

    # --------------------------------------------------------------------------------------------------------
    # Flights

    @tool(lists=True)
    def list_all_airports(self) -> list[str]:
        """List all available airports."""
        return list(AIRPORTS)  # BFCL quirk: a list, not a dict, so the result is its Python repr

    @tool
    def get_nearest_airport_by_city(self, location: str) -> dict[str, str]:
        """Get the nearest airport to the given location.

        Args:
            location: The name of the location. One of: Rivermist, Stonebrook, Maplecrest, Silverpine,
                Shadowridge, London, Paris, Sunset Valley, Oakendale, Willowbend, Crescent Hollow,
                Autumnville, Pinehaven, Greenfield, San Francisco, Los Angeles, New York, Chicago, Boston,
                Beijing, Hong Kong, Rome, Tokyo.

        Returns:
            nearest_airport: The code of the nearest airport, or "Unknown" for any other location.
        """
        return {"nearest_airport": NEAREST_AIRPORT.get(location, "Unknown")}

    @tool
    def get_flight_cost(
        self, travel_from: str, travel_to: str, travel_date: str, travel_class: str
    ) -> dict[str, list[float]]:
        """Get the list of costs of a flight in USD, based on the airports, the date and the class.

        Args:
            travel_from: The 3-letter code of the departure airport.
            travel_to: The 3-letter code of the arrival airport.
            travel_date: The date of travel, in the format 'YYYY-MM-DD'.
            travel_class: The class of travel. Options: economy, business, first.

        Returns:
            travel_cost_list: The list of costs of the travel.
        """
        class_factor, date_factor = fare("get_flight_cost", travel_from, travel_to, travel_date, travel_class)
        # BFCL quirk: in long context the list holds every route's cost (same class and date), in table order.
        if not self.long_context:
            return {
                "travel_cost_list": [
                    float(ROUTE_BASES[(travel_from, travel_to)] * class_factor * date_factor)
                ]
            }
        costs, encoded = all_costs(class_factor, date_factor)
        return encode_with({"travel_cost_list": list(costs)}, {"travel_cost_list": encoded})

    @tool
    def book_flight(
        self,
        access_token: str,
        card_id: str,
        travel_date: str,
        travel_from: str,
        travel_to: str,
        travel_class: str,
    ) -> dict[str, Any]:
        """Book a flight given the travel information. From and To should be airport codes in the IATA format.

        Args:
            access_token: The access token obtained from the authenticate method.
            card_id: The id of the credit card to pay with.
            travel_date: The date of travel, in the format YYYY-MM-DD.
            travel_from: The airport the travel is from.
            travel_to: The airport the travel is to.
            travel_class: The class of travel.

        Returns:
            booking_id: The id of the booking.
            transaction_id: The id of the transaction.
            booking_status: True if the booking succeeded.
            booking_history: The booking history; it may be empty even when there are bookings.
        """
        self._check_token("book_flight", access_token)
        card = self._card("book_flight", card_id)
        balance = card_balance("book_flight", card_id, card)
        for code, role in ((travel_from, "departure"), (travel_to, "destination")):
            if code not in AIRPORTS:
                raise ToolError(
                    f"book_flight: {quote(code)} is not a known {role} airport code. Use a code from "
                    "list_all_airports, or get_nearest_airport_by_city to find a city's airport."
                )
        try:
            parse_date(travel_date)
        except ValueError:
            raise ToolError(
                f"book_flight: travel_date {quote(travel_date)} is not a valid date; write it as YYYY-MM-DD, "
                "e.g. '2024-11-15'."
            ) from None
        class_factor, date_factor = fare("book_flight", travel_from, travel_to, travel_date, travel_class)
        cost = float(ROUTE_BASES[(travel_from, travel_to)] * class_factor * date_factor)
        if balance < cost:
            raise ToolError(
                f"book_flight: the card {quote(card_id)} has a balance of {balance}, less than the fare of "
                f"{cost}. Pay with another card (get_all_credit_cards lists them) or pick a cheaper class or "
                "date."
            )
        # BFCL quirk: the limit is compared with the card's balance before the payment, not with the fare.
        if self.budget_limit is not None and balance < self.budget_limit:
            raise ToolError(
                f"book_flight: the card {quote(card_id)} has a balance of {balance}, below the budget limit "
                f"of {self.budget_limit}; such a card cannot be used. Pay with a card whose balance is at "
                "least the limit, or change the limit with set_budget_limit."
            )
        card["balance"] = balance - cost
        booking_id = str(self._random.randint(1000000, 9999999))
        transaction_id = str(self._random.randint(10000000, 99999999))
        self.booking_record[booking_id] = {
            "card_id": card_id,
            "travel_date": travel_date,
            "travel_from": travel_from,
            "travel_to": travel_to,
            "travel_class": travel_class,
            "travel_cost": cost,
            "transaction_id": transaction_id,
        }
        # BFCL quirk: the history is empty, except in long context, where it is every booking.
        history = fresh(self.booking_record) if self.long_context else {}
        return {
            "booking_id": booking_id,
            "transaction_id": transaction_id,
            "booking_status": True,
            "booking_history": history,
        }

    # --------------------------------------------------------------------------------------------------------
    # Bookings

    @tool
    def retrieve_invoice(
        self, access_token: str, booking_id: str | None = None, insurance_id: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """Retrieve the invoice for a booking.

        Args:
            access_token: The access token obtained from the authenticate method.
            booking_id: The id of the booking.
            insurance_id: The id of the insurance (it does not change the invoice).

        Returns:
            invoice: The booking id, travel date, origin, destination, class, cost and transaction id.
        """
        self._check_token("retrieve_invoice", access_token)
        booking = self._booking("retrieve_invoice", booking_id)
        missing = [field for field in INVOICE_FIELDS if field not in booking]
        if missing:  # config bookings come in many shapes; BFCL raises here
            raise ToolError(
                f"retrieve_invoice: the booking {quote(booking_id)} has no invoice (it lacks "
                f"{', '.join(missing)}). get_booking_history shows what is on record for it."
            )
        invoice = {"booking_id": booking_id, **{field: booking[field] for field in INVOICE_FIELDS}}
        return {"invoice": fresh(invoice)}

    @tool
    def get_booking_history(self, access_token: str) -> dict[str, dict[str, Any]]:
        """Retrieve all booking history for the user.

        Args:
            access_token: The access token obtained from the authenticate method.

        Returns:
            booking_history: The bookings by booking id, each with its details.
        """
        self._check_token("get_booking_history", access_token)
        return {"booking_history": fresh(self.booking_record)}

    @tool
    def cancel_booking(self, access_token: str, booking_id: str) -> dict[str, bool]:
        """Cancel a booking and refund its cost to the card it was paid with.

        Args:
            access_token: The access token obtained from the authenticate method.
            booking_id: The id of the booking.
        """
        self._check_token("cancel_booking", access_token)
        booking = self._booking("cancel_booking", booking_id)
        card_id, cost = booking.get("card_id"), booking.get("travel_cost")
        if card_id not in self.credit_card_list or not is_number(cost):  # BFCL raises in these cases
            raise ToolError(
                f"cancel_booking: the booking {quote(booking_id)} cannot be refunded: its card "
                f"({quote(card_id)}) is not registered or its cost ({quote(cost)}) is not on record. "
                f"{self._cards_hint()} "
                "contact_customer_support can look into it."
            )
        card = self.credit_card_list[card_id]
        card["balance"] = card_balance("cancel_booking", card_id, card) + cost
        del self.booking_record[booking_id]
        return {"cancel_status": True}

    @tool
    def purchase_insurance(
        self, access_token: str, insurance_type: str, booking_id: str, insurance_cost: float, card_id: str
    ) -> dict[str, Any]:
        """Purchase insurance for a booking.

        Args:
            access_token: The access token obtained from the authenticate method.
            insurance_type: The type of insurance to purchase.
            booking_id: The id of the booking to insure.
            insurance_cost: The cost of the insurance.
            card_id: The id of the credit card to pay with.

        Returns:
            insurance_id: The id of the insurance.
            insurance_status: True if the purchase succeeded.
        """
        self._check_token("purchase_insurance", access_token)
        check_amount("purchase_insurance", "insurance_cost", insurance_cost)
        if self.budget_limit is not None and self.budget_limit < insurance_cost:
            raise ToolError(
                f"purchase_insurance: the cost {insurance_cost} exceeds the budget limit of "
                f"{self.budget_limit}. Choose cheaper insurance, or raise the limit with set_budget_limit."
            )
        self._booking("purchase_insurance", booking_id)
        card = self._card("purchase_insurance", card_id)
        # BFCL quirk: the balance may go negative, and nothing about the insurance is recorded.
        card["balance"] = card_balance("purchase_insurance", card_id, card) - insurance_cost
        return {"insurance_id": str(self._random.randint(100000000, 999999999)), "insurance_status": True}

    @tool
    def contact_customer_support(self, booking_id: str, message: str) -> dict[str, str]:
        """Contact travel booking customer support, and get immediate support on an issue with an online call.

        Args:
            booking_id: The id of the booking.
            message: The message to send to customer support.
        """
        self._booking("contact_customer_support", booking_id)
        return {"customer_support_message": SUPPORT_REPLY}

    # --------------------------------------------------------------------------------------------------------
    # Travellers and currencies

    @tool
    def verify_traveler_information(
        self, first_name: str, last_name: str, date_of_birth: str, passport_number: str
    ) -> dict[str, Any]:
        """Verify the traveler information.

        Args:
            first_name: The first name of the traveler.
            last_name: The last name of the traveler.
            date_of_birth: The date of birth of the traveler, in the format YYYY-MM-DD.
            passport_number: The passport number of the traveler.

        Returns:
            verification_status: True if the verification passed.
            verification_failure: Why the verification failed (only when it failed).
        """
        user = (self.user_first_name, self.user_last_name)
        reason = verification_failure(user, (first_name, last_name), date_of_birth, passport_number, _today())
        if reason is None:
            return {"verification_status": True}
        return {"verification_status": False, "verification_failure": reason}  # BFCL: a result, not an error

    @tool
    def compute_exchange_rate(
        self, base_currency: str, target_currency: str, value: float
    ) -> dict[str, float]:
        """Compute the exchange rate between two currencies.

        Args:
            base_currency: The base currency. One of: USD, RMB, EUR, JPY, GBP, CAD, AUD, INR, RUB, BRL, MXN.
            target_currency: The target currency. One of: USD, RMB, EUR, JPY, GBP, CAD, AUD, INR, RUB, BRL,
                MXN.
            value: The value to convert.

        Returns:
            exchanged_value: The value after the exchange.
        """
        check_amount("compute_exchange_rate", "value", value)
        # BFCL quirk: from USD the result is not rounded; to USD it is rounded to 2 decimals.
        if base_currency == "USD" and target_currency in USD_RATES:
            return {"exchanged_value": float(value * USD_RATES[target_currency])}
        if target_currency == "USD" and base_currency in USD_RATES:
            return {"exchanged_value": round(value / USD_RATES[base_currency], 2)}
        raise ToolError(
            f"compute_exchange_rate: no rate from {quote(base_currency)} to {quote(target_currency)}. Rates "
            f"exist only between USD and {', '.join(USD_RATES)}; to convert between two other currencies, "
            "convert to USD first, then from USD."
        )


register_domain(TravelAPI, env_id="EnvTune/Travel-v0", task_set="travel", order=50)
