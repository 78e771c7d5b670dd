"""Unit tests of the MessageAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import pickle
import random
from typing import Any

import pytest

from envtune_gym.domains import domain_class
from envtune_gym.domains import messaging as msgmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.messaging import DEFAULT_STATE, MessageAPI
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
BFCL_ORDER = [
    "list_users", "get_user_id", "message_login", "message_get_login_status", "send_message", "delete_message",
    "view_messages_sent", "add_contact", "search_messages", "get_message_stats",
]  # fmt: skip
#: The first ids BFCL's seed gives: random.Random(200191).randint(10000, 99999), drawn in turn.
FIRST_IDS = [67410, 41772, 24547, 24421, 60424]
STATE_KEYS = {"generated_ids", "user_count", "user_map", "inbox", "message_count", "current_user"}

CONFIG = {
    "user_count": 4,
    "user_map": {"Ann": "USR001", "Ben": "USR002", "Cy": "USR005"},
    "inbox": [{"USR002": "hello Ben"}, {"USR005": "Upload the FILE"}, {"USR002": "hello Ben"}],
    "message_count": 3,
    "current_user": "USR001",
}


@pytest.fixture
def api() -> MessageAPI:
    messenger = MessageAPI()
    messenger.load_scenario(copy.deepcopy(CONFIG))
    return messenger


def observe(messenger: MessageAPI) -> tuple:
    """Everything a failing call must leave alone: the public state (strictly) and the RNG."""
    return repr(sorted(messenger.state().items(), key=str)), messenger._random.getstate()


def fails(messenger: MessageAPI, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(messenger)
    with pytest.raises(ToolError) as info:
        getattr(messenger, tool)(*args, **kwargs)
    assert observe(messenger) == before, f"{tool} failed but changed the state"
    return str(info.value)


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata() -> None:
    assert MessageAPI.name == "MessageAPI" and not MessageAPI.stateless
    assert MessageAPI.description == (
        "This tool belongs to the Message API, which is used to manage user interactions in a workspace."
    )
    assert domain_class("MessageAPI") is MessageAPI  # the module registers it


def test_defaults() -> None:
    for messenger in (MessageAPI(), _loaded({})):
        assert messenger.state() == dict(DEFAULT_STATE)
        assert set(messenger.state()) == STATE_KEYS
        assert messenger.list_users() == {"user_list": ["Alice", "Bob", "Catherine", "Daniel"]}
        assert messenger.message_get_login_status() == {"login_status": False}


def _loaded(config: dict, long_context: bool = False) -> MessageAPI:
    messenger = MessageAPI()
    messenger.load_scenario(config, long_context=long_context)
    return messenger


def test_partial_config_keeps_other_defaults_and_odd_values() -> None:
    inbox = [{"USR002": ["a list"]}, {"USR003": {"USR001": ["nested"]}}, {"USR002": "x", "USR004": "y"}]
    messenger = _loaded({"user_count": 7, "inbox": inbox, "current_user": "Jack"})
    assert messenger.user_count == 7 and messenger.inbox == inbox  # values kept as given
    assert messenger.user_map == DEFAULT_STATE["user_map"] and messenger.message_count == 3
    assert messenger.message_get_login_status() == {"login_status": True}  # any non-empty id counts
    assert _loaded({"current_user": None}).current_user is None


def test_generated_ids_from_a_config_become_a_set() -> None:
    messenger = _loaded({"generated_ids": [1, 2, 2]})
    assert messenger.generated_ids == {1, 2}


def test_long_context_flag_is_ignored() -> None:
    assert _loaded(copy.deepcopy(CONFIG), long_context=True).state() == _loaded(copy.deepcopy(CONFIG)).state()
    assert not hasattr(_loaded({}, long_context=True), "long_context")


def test_isolation_between_instances_config_and_defaults() -> None:
    defaults_before = copy.deepcopy(dict(DEFAULT_STATE))
    config = copy.deepcopy(CONFIG)
    first, second = (
        MessageAPI.from_scenario(config),
        MessageAPI.from_scenario(config),
    )  # the same object twice
    first.send_message("USR002", "new")
    with pytest.raises(ToolError):
        first.add_contact("Dee")  # USR005 is taken: the counter moves on
    first.add_contact("Dee")
    first.inbox[0]["USR002"] = "changed"
    first.user_map["Ann"] = "USR999"
    assert second.state() == _loaded(copy.deepcopy(CONFIG)).state()
    assert config == CONFIG
    plain, other = MessageAPI(), MessageAPI()
    plain.message_login("USR001")
    plain.send_message("USR003", "x")
    plain.inbox[0]["USR002"] = "changed"
    plain.user_map["Eve"] = "USR010"
    assert other.state() == MessageAPI().state() == defaults_before == dict(DEFAULT_STATE)
    assert plain.generated_ids is not other.generated_ids


def test_results_are_copies(api: MessageAPI) -> None:
    api.load_scenario({"current_user": "USR001", "inbox": [{"USR002": ["a"]}]})
    api.view_messages_sent()["messages"]["USR002"][0].append("b")
    api.list_users()["user_list"].append("Zed")
    assert api.inbox == [{"USR002": ["a"]}] and "Zed" not in api.user_map


# ------------------------------------------------------------------------------------------------------------
# Users and login


def test_list_users_and_get_user_id(api: MessageAPI) -> None:
    assert api.list_users() == {"user_list": ["Ann", "Ben", "Cy"]}
    assert api.get_user_id("Cy") == {"user_id": "USR005"}
    message = fails(api, "get_user_id", "cy")
    assert "case-sensitive" in message and "Ann, Ben, Cy" in message and "add_contact" in message


def test_message_login(api: MessageAPI) -> None:
    assert api.message_login("USR005") == {
        "login_status": True,
        "message": "User 'USR005' logged in successfully.",
    }
    assert api.current_user == "USR005"
    before = observe(api)  # BFCL reports a bad id as a failed status, not an error
    assert api.message_login("Ann") == {"login_status": False, "message": "User ID 'Ann' not found."}
    assert observe(api) == before


def test_calls_before_login_explain_how_to_log_in() -> None:
    messenger = MessageAPI()
    for tool, args in [
        ("send_message", ("USR002", "x")),
        ("delete_message", ("USR002",)),
        ("view_messages_sent", ()),
        ("search_messages", ("file",)),
        ("get_message_stats", ()),
    ]:
        message = fails(messenger, tool, *args)
        assert message.startswith(f"{tool}: no user is logged in") and "message_login(user_id)" in message


# ------------------------------------------------------------------------------------------------------------
# Messages


def test_send_message_draws_bfcls_ids() -> None:
    messenger = MessageAPI()
    messenger.message_login("USR001")
    results = [messenger.send_message("USR002", f"m{i}") for i in range(3)]
    assert [r["message_id"] for r in results] == [{"new_id": n} for n in FIRST_IDS[:3]]
    assert serialize_result(results[0]) == (
        '{"sent_status": true, "message_id": {"new_id": 67410}, "message": "Message sent to \'USR002\' successfully."}'
    )
    assert messenger.generated_ids == set(FIRST_IDS[:3]) and messenger.message_count == 6
    assert messenger.inbox[-3:] == [{"USR002": "m0"}, {"USR002": "m1"}, {"USR002": "m2"}]
    rng = random.Random(200191)
    assert FIRST_IDS == [rng.randint(10000, 99999) for _ in FIRST_IDS]


def test_send_message_draws_again_on_a_taken_id() -> None:
    messenger = _loaded({"current_user": "USR001", "generated_ids": [FIRST_IDS[0], FIRST_IDS[2]]})
    assert messenger.send_message("USR002", "a")["message_id"] == {"new_id": FIRST_IDS[1]}
    assert messenger.send_message("USR002", "b")["message_id"] == {"new_id": FIRST_IDS[3]}  # 2 draws
    assert _loaded({"random_seed": 7, "current_user": "x"}).send_message("USR001", "c")["message_id"] == {
        "new_id": random.Random(7).randint(10000, 99999)
    }


def test_send_message_failures_draw_nothing(api: MessageAPI) -> None:
    message = fails(api, "send_message", "USR404", "x")
    assert "USR001 (Ann), USR002 (Ben), USR005 (Cy)" in message and "get_user_id" in message
    assert api.send_message("USR005", "x")["message_id"] == {"new_id": FIRST_IDS[0]}


def test_delete_message_removes_the_first_twin(api: MessageAPI) -> None:
    api.inbox.insert(1, {"USR001": "between"})
    result = api.delete_message("USR002")
    assert result == {
        "deleted_status": True,
        "receiver_id": "USR002",
        "message": "Receiver USR002's latest message deleted successfully.",
    }
    # BFCL quirk: the latest match is found, then the first entry equal to it goes (here the earlier twin)
    assert api.inbox == [{"USR001": "between"}, {"USR005": "Upload the FILE"}, {"USR002": "hello Ben"}]
    assert api.message_count == 3  # not decreased
    api.delete_message("USR002")
    message = fails(api, "delete_message", "USR002")
    assert "Receivers with messages: USR001, USR005" in message and "view_messages_sent" in message
    api.inbox.clear()
    assert "The inbox is empty." in fails(api, "delete_message", "USR002")


def test_delete_message_reads_only_the_first_key() -> None:
    messenger = _loaded({"current_user": "x", "inbox": [{"USR002": "a", "USR003": "b"}]})
    fails(messenger, "delete_message", "USR003")
    assert messenger.delete_message("USR002")["deleted_status"] is True and messenger.inbox == []


def test_view_messages_sent_groups_the_whole_inbox(api: MessageAPI) -> None:
    api.inbox.append({"USR001": ["a list"]})
    assert api.view_messages_sent() == {
        "messages": {
            "USR002": ["hello Ben", "hello Ben"],
            "USR005": ["Upload the FILE"],
            "USR001": [["a list"]],
        }
    }


def test_add_contact(api: MessageAPI) -> None:
    message = fails(api, "add_contact", "Ann")
    assert "already exists" in message and "'USR001'" in message
    # BFCL quirk: the counter goes to 5, USR005 is Cy's, the call fails but the counter stays at 5
    before = api.state()
    with pytest.raises(ToolError) as info:
        api.add_contact("Dee")
    assert "'USR005'" in str(info.value) and "'Cy'" in str(info.value) and "'USR006'" in str(info.value)
    assert api.user_count == 5 and api.state() == {**before, "user_count": 5}
    assert api.add_contact("Dee") == {
        "added_status": True,
        "user_id": "USR006",
        "message": "Contact 'Dee' added successfully.",
    }
    assert api.user_map["Dee"] == "USR006" and list(api.user_map)[-1] == "Dee"
    assert _loaded({"user_count": 999, "user_map": {}}).add_contact("Z")["user_id"] == "USR1000"


def test_search_messages(api: MessageAPI) -> None:
    assert api.search_messages("file") == {
        "results": [{"receiver_id": "USR005", "message": "Upload the FILE"}]
    }
    assert len(api.search_messages("")["results"]) == 3
    assert api.search_messages("zzz") == {"results": []}
    api.inbox.append({"USR001": ["not text"]})
    message = fails(api, "search_messages", "zzz")
    assert "entry #3" in message and "list" in message and "view_messages_sent" in message


def test_get_message_stats(api: MessageAPI) -> None:
    assert api.get_message_stats() == {"stats": {"received_count": 3, "total_contacts": 2}}
    api.inbox.append({"USR009": ["anything"], "USR001": "second key ignored"})
    assert api.get_message_stats() == {"stats": {"received_count": 4, "total_contacts": 3}}


def test_an_empty_inbox_entry_cannot_be_read() -> None:
    messenger = _loaded({"current_user": "x", "inbox": [{"USR002": "a"}, {}]})
    for tool, args in [("view_messages_sent", ()), ("search_messages", ("a",)), ("get_message_stats", ())]:
        assert "entry #1 is empty" in fails(messenger, tool, *args)
    assert "entry #1 is empty" in fails(messenger, "delete_message", "USR002")  # met on the way back


# ------------------------------------------------------------------------------------------------------------
# Bounded work


def test_texts_are_bounded(api: MessageAPI) -> None:
    huge = "x" * (msgmod.MAX_TEXT_CHARS + 1)
    assert "at most" in fails(api, "send_message", "USR002", huge)
    assert "at most" in fails(api, "add_contact", huge)
    assert "at most" in fails(api, "search_messages", huge)
    api.send_message("USR002", "x" * msgmod.MAX_TEXT_CHARS)


def test_message_ids_are_bounded(api: MessageAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msgmod, "MAX_MESSAGE_IDS", 2)
    api.send_message("USR002", "a")
    api.send_message("USR002", "b")
    assert "no more can be sent" in fails(api, "send_message", "USR002", "c")


# ------------------------------------------------------------------------------------------------------------
# Copies, schemas, registry


def test_clone_and_pickle_keep_the_rng(api: MessageAPI) -> None:
    api.send_message("USR002", "a")
    for twin in (api.clone(), pickle.loads(pickle.dumps(api))):
        assert twin.state() == api.state() and twin.inbox is not api.inbox
        assert twin.send_message("USR002", "b") == api.clone().send_message("USR002", "b")
    assert api.send_message("USR002", "b")["message_id"] == {"new_id": FIRST_IDS[1]}


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(MessageAPI)}
    assert list(specs) == BFCL_ORDER
    required = {
        "list_users": [], "get_user_id": ["user"], "message_login": ["user_id"], "message_get_login_status": [],
        "send_message": ["receiver_id", "message"], "delete_message": ["receiver_id"], "view_messages_sent": [],
        "add_contact": ["user_name"], "search_messages": ["keyword"], "get_message_stats": [],
    }  # fmt: skip
    for name, params in required.items():
        parameters = specs[name].parameters
        assert parameters["required"] == params and specs[name].param_order == tuple(params), name
        assert all(
            prop["type"] == "string" and prop["description"] for prop in parameters["properties"].values()
        )
        assert not any("default" in prop for prop in parameters["properties"].values()), name
        assert specs[name].description.startswith(MessageAPI.description + " Tool description: ")


def test_defaults_match_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.message_api", reason=NO_BFCL)
    assert reference.DEFAULT_STATE == dict(DEFAULT_STATE)
    assert list(reference.DEFAULT_STATE) == list(DEFAULT_STATE)


def test_registry_dispatch(api: MessageAPI) -> None:
    tools = ToolRegistry([api])
    outcome = tools.execute("send_message", tools.bind("send_message", ("USR002", "hi"), {}))
    assert outcome.error is None and json.loads(outcome.result)["message_id"] == {"new_id": FIRST_IDS[0]}
    outcome = tools.execute("get_user_id", {"user": "Nobody"})
    assert outcome.error == "tool_error" and json.loads(outcome.result)["error"].startswith(
        "get_user_id: no user"
    )
    assert tools.execute("send_message", {"receiver_id": "USR002"}).error == "invalid_arguments"
    assert tools.execute("list_users", {}).result == '{"user_list": ["Ann", "Ben", "Cy"]}'
