"""Checks particular to the bundled TravelAPI task set (``envtune_gym/tasks/data/travel.json``).

The checks every set shares (header, ids, category counts, tool coverage, task shape and state keys, difficulty
spread, miss_func / miss_param conventions, the replay on BFCL's reference ``TravelAPI`` with its failure rules
and determinism) are in ``test_bundled_data.py`` and ``bundled_checks.py``. Here: cards and bookings are
well-formed and consistent, nothing depends on today's date (traveller checks use birth dates far in the past),
and long-context replays leave BFCL's module-level extension cards and bookings untouched.
"""

from __future__ import annotations

import copy

import pytest

from envtune_gym.tasks.model import Task
from tests.tasks.bundled_checks import SETS, bfcl_support, replay, split_call

TRAVEL = SETS["travel"]
CARD_KEYS = frozenset(
    {"card_number", "expiration_date", "cardholder_name", "card_verification_number", "balance"}
)
BOOKING_KEYS = frozenset(
    {"card_id", "travel_date", "travel_from", "travel_to", "travel_class", "travel_cost", "transaction_id"}
)
#: Latest birth year allowed in verify_traveler_information: the traveller is an adult for any date after 2019.
LATEST_BIRTH_YEAR = 2000


@pytest.mark.parametrize("task", TRAVEL.tasks, ids=TRAVEL.task_ids)
def test_cards_and_bookings_well_formed(task: Task) -> None:
    config = task.initial_config[TRAVEL.domain]
    for card_id, card in config["credit_card_list"].items():
        assert set(card) == CARD_KEYS, f"card {card_id}: keys {sorted(card)}"
    for booking_id, booking in config["booking_record"].items():
        assert set(booking) == BOOKING_KEYS, f"booking {booking_id}: keys {sorted(booking)}"
        assert booking["card_id"] in config["credit_card_list"], f"booking {booking_id}: unknown card"


@pytest.mark.parametrize("task", TRAVEL.tasks, ids=TRAVEL.task_ids)
def test_no_dependence_on_todays_date(task: Task) -> None:
    for calls in task.ground_truth:
        for call in calls:
            name, kwargs = split_call(call)
            if name == "verify_traveler_information":
                year = int(kwargs["date_of_birth"][:4])
                assert year <= LATEST_BIRTH_YEAR, f"{call}: the age check would depend on today's date"


@pytest.mark.bfcl
@pytest.mark.parametrize("task", TRAVEL.tasks, ids=TRAVEL.task_ids)
def test_replay_leaves_long_context_extensions_untouched(task: Task) -> None:
    bfcl_support()  # skips without bfcl_eval
    from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context

    extensions = copy.deepcopy((long_context.CREDIT_CARD_EXTENSION, long_context.BOOKING_RECORD_EXTENSION))
    replay(TRAVEL, task)
    replay(TRAVEL, task)
    after = (long_context.CREDIT_CARD_EXTENSION, long_context.BOOKING_RECORD_EXTENSION)
    assert after == extensions, "the ground truth changed BFCL's shared long-context cards or bookings"
