"""Conformance of :class:`envtune_gym.domains.ticket.TicketAPI` with BFCL's ``TicketAPI``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth TicketAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings must be identical and the public states equal after every turn;
* random call sequences (existing and wrong IDs, string and float IDs, logged in or not, valid and invalid edits,
  repeated closes and resolves) on several BFCL scenarios: when the reference succeeds ours returns the same
  string, when it fails ours raises ToolError and changes nothing, and the states stay equal after every call.
"""

from __future__ import annotations

import copy
import importlib.metadata
import random
from typing import Any

import pytest

pytest.importorskip(
    "bfcl_eval", reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)

from envtune_gym.domains.ticket import TicketAPI  # noqa: E402
from envtune_gym.tools import tool_specs  # noqa: E402
from tests.bfcl_support import (  # noqa: E402
    CATEGORIES,
    load_category,
    parse_call,
    public_state,
    reference_class,
    run_ours,
    run_reference,
)

pytestmark = pytest.mark.bfcl

SPECS = {spec.name: spec for spec in tool_specs(TicketAPI)}
#: Ground-truth TicketAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 48, "long_context": 48, "miss_func": 48, "miss_param": 48}
PINNED = importlib.metadata.version("bfcl-eval") == "2026.3.23"
#: BFCL's answer to get_user_tickets when nobody is logged in: an error *list*, which ours raises as ToolError.
UNAUTHENTICATED_LIST = "[{'error': 'User not authenticated. Please log in to view tickets.'}]"


def build_pair(config: dict, long_context: bool = False) -> tuple[Any, TicketAPI]:
    reference = reference_class("TicketAPI")()
    reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = TicketAPI()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


def assert_same_state(reference: Any, ours: TicketAPI, where: str) -> None:
    theirs, mine = public_state(reference), ours.state()
    assert sorted(theirs) == sorted(mine) == ["current_user", "ticket_counter", "ticket_queue"], where
    assert theirs == mine, where


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = 0
    for entry, turns in load_category(category, "TicketAPI"):
        config = entry["initial_config"].get("TicketAPI", {})
        reference, ours = build_pair(config, long_context=category == "long_context")
        assert_same_state(reference, ours, entry["id"])
        for number, turn in enumerate(turns):
            for call in turn:
                name, args, kwargs = parse_call(call)
                if name not in SPECS:
                    continue  # another class's call
                expected, failed = run_reference(reference, name, args, kwargs)
                assert not failed, f"{entry['id']}: the ground truth itself failed: {call} -> {expected}"
                got, _ = run_ours(ours, name, args, kwargs)
                assert got == expected, f"{entry['id']} turn {number}: {call}"
                compared += 1
            assert_same_state(reference, ours, f"{entry['id']} after turn {number}")
    if PINNED:
        assert compared == EXPECTED_CALLS[category], f"compared {compared} GT calls in {category}"
    assert compared >= 40, f"compared only {compared} GT calls in {category}"


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


class CallMaker:
    """Random calls with schema-valid arguments: good and wrong IDs, edge values, any order."""

    TITLES = ["Printer", "", "Urgent: VPN", "ünï ✓"]
    STATUSES = [None, "", "open", "Open", "CLOSED", "resolved", "In Progress", "unresolved"]
    USERS = ["ana", "bob", "", "Michael Thompson", "mthompson"]
    UPDATE_VALUES = {
        "title": ["New title", "", None],
        "description": ["details", None],
        "status": ["Open", "Closed", "Resolved", "open", 3, None],
        "priority": [1, 5, 9, "High", None],
    }

    def __init__(self, rng: random.Random, reference: Any) -> None:
        self.rng = rng
        self.reference = reference

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

    def call(self) -> tuple[str, list, dict]:
        tools = list(SPECS)
        weights = [1 if tool in ("logout", "ticket_get_login_status") else 3 for tool in tools]
        tool = self.rng.choices(tools, weights)[0]
        kwargs = self.arguments(tool)
        cut = self.rng.randint(0, len(kwargs))  # some arguments by position, in the tool's order
        order = SPECS[tool].param_order
        return tool, [kwargs.pop(p) for p in order[:cut]], kwargs


def _scenarios() -> list[tuple[str, dict]]:
    wanted = {
        "multi_turn_base_2",  # no config: defaults
        "multi_turn_base_27",  # a ticket without status or created_by
        "multi_turn_base_48",  # priorities as words
        "multi_turn_base_119",  # statuses, a closed ticket, a counter
        "multi_turn_base_125",  # logged in, created_by present
        "multi_turn_base_173",  # a string ID
        "multi_turn_base_176",  # a ticket without 'id', logged in
    }
    found = [("custom", CUSTOM)]
    found += [
        (entry["id"], entry["initial_config"].get("TicketAPI", {}))
        for entry, _ in load_category("base", "TicketAPI")
        if entry["id"] in wanted
    ]
    assert len(found) == len(wanted) + 1
    return found


SEQUENCES, CALLS_PER_SEQUENCE = 40, 40


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s[0])
def test_random_call_sequences_agree_with_bfcl(scenario: tuple[str, dict]) -> None:
    label, config = scenario
    counts = {"agree_ok": 0, "agree_error": 0}
    for seed in range(SEQUENCES):
        rng = random.Random(f"{label}-{seed}")
        reference, ours = build_pair(config)
        maker = CallMaker(rng, reference)
        for _ in range(CALLS_PER_SEQUENCE):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            before = copy.deepcopy(ours.state())
            expected, failed = run_reference(reference, tool, args, kwargs)
            failed = failed or expected == UNAUTHENTICATED_LIST  # deliberate: ours raises instead
            got, our_failed = run_ours(ours, tool, args, kwargs)
            assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
            if failed:
                assert ours.state() == before, f"{where}: a failing call changed the state"
                counts["agree_error"] += 1
            else:
                assert got == expected, where
                counts["agree_ok"] += 1
            assert_same_state(reference, ours, where)
    assert counts["agree_ok"] > 200 and counts["agree_error"] > 100, counts
