"""Conformance of :class:`envtune_gym.domains.messaging.MessageAPI` with BFCL's ``MessageAPI``.

Against the reference package (skipped when it is not installed):

* every ground-truth MessageAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings (message ids included) must be identical and the states (RNGs included) equal after every
  turn;
* scripted sequences for each quirk, and random call sequences (known and unknown names and ids, calls before
  login, repeated deletes and contacts) on several scenarios: when the reference succeeds ours returns the same
  string, when it fails ours raises ToolError, and the states stay equal after every call.
"""

from __future__ import annotations

from typing import Any

import pytest

from envtune_gym.domains.base import ToolError
from envtune_gym.domains.messaging import MessageAPI
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

#: Ground-truth MessageAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 63, "long_context": 63, "miss_func": 63, "miss_param": 63}


def snapshot(api: Any) -> dict[str, Any]:
    """Public state, strictly (each value's repr, so order and key types count; sets sorted), and the RNG."""
    state = {
        key: sorted(value) if isinstance(value, set) else repr(value)
        for key, value in bfcl.public_state(api).items()
    }
    return {**state, "_random": api._random.getstate()}


def failure_rule(tool: str, before: dict[str, Any], after: dict[str, Any], where: str) -> str:
    """The one failure that changes state, in BFCL too: add_contact's counter when the id is taken."""
    changed = {key for key in after if after[key] != before[key]}
    assert changed <= ({"user_count"} if tool == "add_contact" else set()), where
    return "counter_moved" if changed else "agree_error"


DOMAIN = bfcl.Conformance("MessageAPI", MessageAPI, snapshot=snapshot, failure_rule=failure_rule)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=51)


def test_ground_truth_call_count() -> None:
    total = bfcl.ground_truth_call_count(DOMAIN)
    bfcl.assert_call_count(total, sum(EXPECTED_CALLS.values()), at_least=200)


# ------------------------------------------------------------------------------------------------------------
# Scripted quirks: each sequence runs on both; results must agree call by call


QUIRK_CONFIG = {
    "user_count": 4,
    "user_map": {"Ann": "USR001", "Ben": "USR002", "Cy": "USR005"},
    "inbox": [{"USR002": "hello Ben"}, {"USR005": "Upload the FILE"}, {"USR002": "hello Ben"}],
    "message_count": 3,
    "generated_ids": {67410},  # the first draw collides: send_message draws again
}

QUIRK_SEQUENCES: dict[str, tuple[dict, list[str]]] = {
    "needs_login": (
        {},
        [
            "message_get_login_status()",
            "send_message('USR002', 'x')",
            "delete_message('USR002')",
            "view_messages_sent()",
            "search_messages('file')",
            "get_message_stats()",
            "message_login('USR999')",
            "message_login('USR001')",
            "message_get_login_status()",
            "search_messages('FILE')",
            "get_message_stats()",
        ],
    ),
    "ids_and_redraws": (
        QUIRK_CONFIG,
        [
            "message_login('USR005')",
            "send_message('USR001', 'one')",
            "send_message('USR404', 'nope')",
            "send_message('USR002', 'two')",
            "send_message(receiver_id='USR005', message='three')",
            "view_messages_sent()",
        ],
    ),
    "delete_removes_first_twin": (
        QUIRK_CONFIG,
        [
            "message_login('USR001')",
            "delete_message('USR002')",
            "view_messages_sent()",
            "delete_message('USR002')",
            "delete_message('USR002')",
            "delete_message('USR001')",
            "get_message_stats()",
        ],
    ),
    "add_contact_counter": (
        QUIRK_CONFIG,
        [
            "add_contact('Ann')",
            "add_contact('Dee')",
            "add_contact('Eve')",
            "add_contact('Eve')",
            "add_contact('Fay')",
            "list_users()",
            "get_user_id('Fay')",
            "get_user_id('fay')",
        ],
    ),
    "list_messages": (
        {"current_user": "USR001", "inbox": [{"USR002": ["a list"]}, {"USR003": {"USR001": ["nested"]}}]},
        [
            "view_messages_sent()",
            "search_messages('a')",
            "get_message_stats()",
            "delete_message('USR003')",
            "search_messages('a')",
        ],
    ),
    "two_key_entry_and_empty_entry": (
        {"current_user": "X", "inbox": [{"USR002": "a", "USR003": "b"}, {}, {"USR004": "c"}]},
        [
            "delete_message('USR004')",
            "delete_message('USR003')",
            "view_messages_sent()",
            "get_message_stats()",
            "search_messages('a')",
        ],
    ),
}


@pytest.mark.parametrize("sequence", QUIRK_SEQUENCES)
def test_scripted_quirks_match_bfcl(sequence: str) -> None:
    bfcl.run_script(DOMAIN, *QUIRK_SEQUENCES[sequence])


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker(bfcl.RandomCalls):
    """Random, well-typed calls over the names and ids a scenario has, plus wrong and tricky ones."""

    specs = DOMAIN.specs
    weights = dict.fromkeys(("send_message", "delete_message", "message_login", "add_contact"), 4)

    NAMES = ["Alice", "alice", "Nobody", "", "Zed", "New Person", "Bob "]
    IDS = ["USR001", "USR002", "USR005", "USR009", "USR999", "usr002", "", "37e232f7"]
    MESSAGES = ["hi", "", "Could you upload the file?", "Meeting at 3 PM", "ÜBER ✓", "the FILE is up"]
    KEYWORDS = ["", "file", "FILE", "meeting", "the", "zzz", "ü", "3 pm"]

    def name(self) -> str:
        known = list(self.reference.user_map)
        return self.rng.choice(known + self.NAMES if known and self.rng.random() < 0.7 else self.NAMES)

    def user_id(self) -> str:
        known = list(self.reference.user_map.values())
        receivers = [next(iter(entry), "") for entry in self.reference.inbox]
        pool = self.rng.choice([known or self.IDS, known or self.IDS, receivers or self.IDS, self.IDS])
        return self.rng.choice(pool)

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        makers = {
            "list_users": dict,
            "get_user_id": lambda: {"user": self.name()},
            "message_login": lambda: {"user_id": self.user_id()},
            "message_get_login_status": dict,
            "send_message": lambda: {"receiver_id": self.user_id(), "message": rng.choice(self.MESSAGES)},
            "delete_message": lambda: {"receiver_id": self.user_id()},
            "view_messages_sent": dict,
            "add_contact": lambda: {"user_name": self.name()},
            "search_messages": lambda: {"keyword": rng.choice(self.KEYWORDS)},
            "get_message_stats": dict,
        }
        return makers[tool]()


SEQUENCES, CALLS_PER_SEQUENCE = 40, 40

SYNTHETIC = {
    "twins_and_preset_ids": QUIRK_CONFIG,
    "empty_entry": {"current_user": "USR001", "inbox": [{"USR002": "a"}, {}, {"USR003": "b"}]},
}
SCENARIOS = bfcl.scenarios(
    "MessageAPI",
    {
        "base": {
            "multi_turn_base_17",  # list messages, current user set
            "multi_turn_base_62",  # current user 'Jack', not a known id
            "multi_turn_base_72",  # add_contact collides with existing ids
            "multi_turn_base_103",  # dict messages, a uuid user id
            "multi_turn_base_131",  # plain texts
            "multi_turn_base_149",  # an entry with three keys
            "multi_turn_base_172",
        }
    },
    extra=[("defaults", {}), *SYNTHETIC.items()],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE)
    assert counts["agree_ok"] > 300 and counts["agree_error"] > 50, counts
    if scenario.label == "multi_turn_base_72":
        assert counts["counter_moved"] > 0, counts


def test_failures_raise_tool_error_with_own_text() -> None:
    reference, ours = DOMAIN.pair({})
    expected, failed = bfcl.run_reference(reference, "send_message", ["USR002", "x"], {})
    assert failed and "No user is currently logged in." in expected
    with pytest.raises(ToolError) as info:
        ours.send_message("USR002", "x")
    assert "message_login" in str(info.value) and str(info.value) not in expected
