"""Conformance of :class:`envtune_gym.domains.ticket.TicketAPI` with BFCL's ``TicketAPI``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth TicketAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings must be identical and the public states equal after every turn;
* random call sequences (existing and wrong IDs, string and float IDs, logged in or not, valid and invalid edits,
  repeated closes and resolves) on several BFCL scenarios: when the reference succeeds ours returns the same
  string, when it fails ours raises ToolError and changes nothing, and the states stay equal after every call.
"""

from __future__ import annotations

from typing import Any

import pytest

from envtune_gym.domains.ticket import TicketAPI
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

#: Ground-truth TicketAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 48, "long_context": 48, "miss_func": 48, "miss_param": 48}
#: BFCL's answer to get_user_tickets when nobody is logged in: an error *list*, which ours raises as ToolError.
UNAUTHENTICATED_LIST = "[{'error': 'User not authenticated. Please log in to view tickets.'}]"


def run_ref(reference: Any, tool: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """The reference result and whether it failed; its logged-out error list counts (ours raises instead)."""
    expected, failed = bfcl.run_reference(reference, tool, args, kwargs)
    return expected, failed or expected == UNAUTHENTICATED_LIST


def assert_same_state(reference: Any, ours: TicketAPI, where: str) -> None:
    theirs, mine = bfcl.public_state(reference), ours.state()
    assert sorted(theirs) == sorted(mine) == ["current_user", "ticket_counter", "ticket_queue"], where
    assert theirs == mine, where


DOMAIN = bfcl.Conformance("TicketAPI", TicketAPI, compare=assert_same_state, run_ref=run_ref)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=40)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences

CUSTOM = {
    "ticket_queue": [
        {"id": 1, "title": "A", "description": "a", "status": "Open", "priority": 2, "created_by": "ana"},
        {"id": 2, "title": "B", "description": "b", "status": "Closed", "priority": 5, "created_by": "bob"},
        {"id": "T-3", "title": "C", "description": "c", "status": "open", "priority": 1, "created_by": "ana"},
        {"id": 4, "title": "D", "status": "Resolved", "created_by": "ana", "resolution": "r"},
    ],
    "ticket_counter": 5,
    "current_user": "ana",
}


class CallMaker(bfcl.RandomCalls):
    """Random calls with schema-valid arguments: good and wrong IDs, edge values, any order."""

    specs = DOMAIN.specs
    weights = dict.fromkeys(("logout", "ticket_get_login_status"), 1)
    default_weight = 3

    TITLES = ["Printer", "", "Urgent: VPN", "ünï ✓"]
    STATUSES = [None, "", "open", "Open", "CLOSED", "resolved", "In Progress", "unresolved"]
    USERS = ["ana", "bob", "", "Michael Thompson", "mthompson"]
    UPDATE_VALUES = {
        "title": ["New title", "", None],
        "description": ["details", None],
        "status": ["Open", "Closed", "Resolved", "open", 3, None],
        "priority": [1, 5, 9, "High", None],
    }

    def ticket_id(self) -> Any:
        known = [ticket["id"] for ticket in self.reference.ticket_queue if "id" in ticket]
        if known and self.rng.random() < 0.6:
            return self.rng.choice(known)
        return self.rng.choice(
            [0, 1, 2, 3, 99, -1, 2.0, "ticket_001", "T-3", "1", self.reference.ticket_counter]
        )

    def updates(self) -> dict[str, Any]:
        rng = self.rng
        fields = rng.sample(list(self.UPDATE_VALUES), rng.randint(0, 4))
        updates = {field: rng.choice(self.UPDATE_VALUES[field]) for field in fields}
        if rng.random() < 0.2:
            updates[rng.choice(["id", "owner", "resolution", "created_by"])] = "x"
        return updates

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        makers = {
            "create_ticket": lambda: {
                "title": rng.choice(self.TITLES),
                "description": rng.choice(["", "details"]),
                "priority": rng.choice([rng.randint(-1, 7), 2.0, 5.0]),  # integral floats pass as given
            },
            "get_ticket": lambda: {"ticket_id": self.ticket_id()},
            "close_ticket": lambda: {"ticket_id": self.ticket_id()},
            "resolve_ticket": lambda: {
                "ticket_id": self.ticket_id(),
                "resolution": rng.choice(["", "fixed"]),
            },
            "edit_ticket": lambda: {"ticket_id": self.ticket_id(), "updates": self.updates()},
            "ticket_login": lambda: {"username": rng.choice(self.USERS), "password": rng.choice(["", "pw"])},
            "ticket_get_login_status": dict,
            "logout": dict,
            "get_user_tickets": lambda: {"status": rng.choice(self.STATUSES)},
        }
        return makers[tool]()


SEQUENCES, CALLS_PER_SEQUENCE = 40, 40
SCENARIOS = bfcl.scenarios(
    "TicketAPI",
    {
        "base": {
            "multi_turn_base_2",  # no config: defaults
            "multi_turn_base_27",  # a ticket without status or created_by
            "multi_turn_base_48",  # priorities as words
            "multi_turn_base_119",  # statuses, a closed ticket, a counter
            "multi_turn_base_125",  # logged in, created_by present
            "multi_turn_base_173",  # a string ID
            "multi_turn_base_176",  # a ticket without 'id', logged in
        }
    },
    extra=[("custom", CUSTOM)],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE)
    assert counts["agree_ok"] > 200 and counts["agree_error"] > 100, counts
