"""Conformance of :class:`envtune_gym.domains.messaging.MessageAPI` with BFCL's ``MessageAPI``.

Against the reference package (skipped when it is not installed):

* every ground-truth MessageAPI call of BFCL's four multi-turn categories is replayed on both implementations:
  the result strings (message ids included) must be identical and the states equal after every turn;
* scripted sequences for each quirk, and random call sequences (known and unknown names and ids, calls before
  login, repeated deletes and contacts) on several scenarios: when the reference succeeds ours returns the same
  string, when it fails ours raises ToolError, and the states stay equal after every call.
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

from envtune_gym.domains.base import ToolError  # noqa: E402
from envtune_gym.domains.messaging import MessageAPI  # noqa: E402
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

SPECS = {spec.name: spec for spec in tool_specs(MessageAPI)}
#: Ground-truth MessageAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 63, "long_context": 63, "miss_func": 63, "miss_param": 63}
PINNED = importlib.metadata.version("bfcl-eval") == "2026.3.23"


def snapshot(api: Any) -> dict[str, Any]:
    """Public state, strictly: the repr of each value (so order and key types count), sets sorted."""
    return {
        key: sorted(value) if isinstance(value, set) else repr(value)
        for key, value in public_state(api).items()
    }


def assert_same_state(ours: MessageAPI, reference: Any, where: str) -> None:
    assert public_state(ours) == public_state(reference), where  # BFCL's own rule: == on every attribute
    assert snapshot(ours) == snapshot(reference), where


def build_pair(config: dict, long_context: bool = False) -> tuple[Any, MessageAPI]:
    reference = reference_class("MessageAPI")()
    reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = MessageAPI()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = 0
    for entry, turns in load_category(category, "MessageAPI"):
        config = entry["initial_config"].get("MessageAPI", {})
        reference, ours = build_pair(config, long_context=category == "long_context")
        assert_same_state(ours, reference, entry["id"])
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
            assert_same_state(ours, reference, f"{entry['id']} after turn {number}")
    if PINNED:
        assert compared == EXPECTED_CALLS[category], f"compared {compared} GT calls in {category}"
    assert compared > 50, f"compared only {compared} GT calls in {category}"


def test_ground_truth_call_count() -> None:
    total = sum(
        parse_call(call)[0] in SPECS
        for category in CATEGORIES
        for _, turns in load_category(category, "MessageAPI")
        for turn in turns
        for call in turn
    )
    assert total == (sum(EXPECTED_CALLS.values()) if PINNED else total) and total >= 200, total


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
    config, calls = QUIRK_SEQUENCES[sequence]
    reference, ours = build_pair(config)
    for call in calls:
        name, args, kwargs = parse_call(call)
        before = snapshot(ours)
        expected, failed = run_reference(reference, name, args, kwargs)
        got, our_failed = run_ours(ours, name, args, kwargs)
        assert our_failed == failed, f"{call}: reference {expected!r}, ours {got!r}"
        if not failed:
            assert got == expected, call
        elif name != "add_contact":
            assert snapshot(ours) == before, f"{call} failed but changed the state"
        assert_same_state(ours, reference, call)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


class CallMaker:
    """Random, well-typed calls over the names and ids a scenario has, plus wrong and tricky ones."""

    NAMES = ["Alice", "alice", "Nobody", "", "Zed", "New Person", "Bob "]
    IDS = ["USR001", "USR002", "USR005", "USR009", "USR999", "usr002", "", "37e232f7"]
    MESSAGES = ["hi", "", "Could you upload the file?", "Meeting at 3 PM", "ÜBER ✓", "the FILE is up"]
    KEYWORDS = ["", "file", "FILE", "meeting", "the", "zzz", "ü", "3 pm"]

    def __init__(self, rng: random.Random, reference: Any) -> None:
        self.rng = rng
        self.reference = reference

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

    def call(self) -> tuple[str, list, dict]:
        tools = list(SPECS)
        weights = [
            4 if t in ("send_message", "delete_message", "message_login", "add_contact") else 1 for t in tools
        ]
        tool = self.rng.choices(tools, weights)[0]
        kwargs = self.arguments(tool)
        cut = self.rng.randint(0, len(kwargs))  # some arguments by position, in the tool's order
        return tool, [kwargs.pop(p) for p in SPECS[tool].param_order[:cut]], kwargs


SEQUENCES, CALLS_PER_SEQUENCE = 40, 40

SYNTHETIC = {
    "twins_and_preset_ids": QUIRK_CONFIG,
    "empty_entry": {"current_user": "USR001", "inbox": [{"USR002": "a"}, {}, {"USR003": "b"}]},
}


def _scenarios() -> list[tuple[str, dict]]:
    wanted = {
        "multi_turn_base_17",  # list messages, current user set
        "multi_turn_base_62",  # current user 'Jack', not a known id
        "multi_turn_base_72",  # add_contact collides with existing ids
        "multi_turn_base_103",  # dict messages, a uuid user id
        "multi_turn_base_131",  # plain texts
        "multi_turn_base_149",  # an entry with three keys
        "multi_turn_base_172",
    }
    found = [("defaults", {})] + list(SYNTHETIC.items())
    found += [
        (entry["id"], entry["initial_config"]["MessageAPI"])
        for entry, _ in load_category("base", "MessageAPI")
        if entry["id"] in wanted
    ]
    assert len(found) == 3 + len(wanted)
    return found


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s[0])
def test_random_call_sequences_agree_with_bfcl(scenario: tuple[str, dict]) -> None:
    label, config = scenario
    counts = {"agree_ok": 0, "agree_error": 0, "counter_moved": 0}
    for seed in range(SEQUENCES):
        rng = random.Random(f"{label}-{seed}")
        reference, ours = build_pair(config)
        maker = CallMaker(rng, reference)
        for _ in range(CALLS_PER_SEQUENCE):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            before = snapshot(ours)
            expected, failed = run_reference(reference, tool, args, kwargs)
            got, our_failed = run_ours(ours, tool, args, kwargs)
            assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
            if not failed:
                assert got == expected, where
                counts["agree_ok"] += 1
            else:
                after = snapshot(ours)
                changed = {key for key in after if after[key] != before[key]}
                # The one failure that changes state, in BFCL too: add_contact's counter when the id is taken.
                assert changed <= ({"user_count"} if tool == "add_contact" else set()), where
                counts["counter_moved" if changed else "agree_error"] += 1
            assert_same_state(ours, reference, where)
            assert ours._random.getstate() == reference._random.getstate(), where
    assert counts["agree_ok"] > 300 and counts["agree_error"] > 50, counts
    if label == "multi_turn_base_72":
        assert counts["counter_moved"] > 0, counts


def test_failures_raise_tool_error_with_own_text() -> None:
    reference, ours = build_pair({})
    expected, failed = run_reference(reference, "send_message", ["USR002", "x"], {})
    assert failed and "No user is currently logged in." in expected
    with pytest.raises(ToolError) as info:
        ours.send_message("USR002", "x")
    assert "message_login" in str(info.value) and str(info.value) not in expected
