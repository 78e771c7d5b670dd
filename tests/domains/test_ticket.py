"""Unit tests of the TicketAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import pickle
from typing import Any

import pytest

from envtune_gym.domains import ticket as ticketmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.ticket import TicketAPI
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

BFCL_ORDER = [
    "create_ticket", "get_ticket", "close_ticket", "resolve_ticket", "edit_ticket", "ticket_login",
    "ticket_get_login_status", "logout", "get_user_tickets",
]  # fmt: skip
CONFIG = {
    "ticket_queue": [
        {"id": 1, "title": "Printer", "description": "Jammed", "status": "Open", "priority": 2, "created_by": "ana"},
        {"id": 2, "title": "VPN", "description": "Slow", "status": "Closed", "priority": 4, "created_by": "bob"},
        {"id": "T-3", "title": "Mail", "description": "Bounces", "status": "open", "priority": 1, "created_by": "ana"},
    ],
    "ticket_counter": 4,
    "current_user": "ana",
}  # fmt: skip


@pytest.fixture
def api() -> TicketAPI:
    tickets = TicketAPI()
    tickets.load_scenario(copy.deepcopy(CONFIG))
    return tickets


def fails(tickets: TicketAPI, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = copy.deepcopy(tickets.state())
    with pytest.raises(ToolError) as info:
        getattr(tickets, tool)(*args, **kwargs)
    assert tickets.state() == before, f"{tool} failed but changed the state"
    return str(info.value)


def loaded(config: dict[str, Any]) -> TicketAPI:
    tickets = TicketAPI()
    tickets.load_scenario(copy.deepcopy(config))
    return tickets


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata() -> None:
    assert TicketAPI.name == "TicketAPI" and not TicketAPI.stateless
    assert TicketAPI.description == (
        "This tool belongs to the ticketing system that is part of a company, which allows users to create, "
        "view, and manage support business tickets."
    )


def test_defaults_and_public_state() -> None:
    tickets = loaded({})
    assert tickets.state() == {"ticket_queue": [], "ticket_counter": 1, "current_user": None}
    assert TicketAPI().state() == tickets.state()
    tickets.load_scenario({"ticket_counter": 0}, long_context=True)  # the long-context flag is ignored
    assert tickets.state() == {"ticket_queue": [], "ticket_counter": 0, "current_user": None}


def test_load_keeps_tickets_as_given(api: TicketAPI) -> None:
    assert (
        api.ticket_queue == CONFIG["ticket_queue"] and api.ticket_counter == 4 and api.current_user == "ana"
    )
    odd = {
        "ticket_queue": [{"ticket_001": {"title": "x", "status": "open"}}, {"id": 7, "status": "unresolved"}]
    }
    assert loaded(odd).ticket_queue == odd["ticket_queue"]


def test_load_rejects_malformed_configs() -> None:
    for bad in (
        {"ticket_queue": None},
        {"ticket_queue": ["x"]},
        {"ticket_counter": "2"},
        {"ticket_counter": True},
    ):
        with pytest.raises(ValueError):
            loaded(bad)


def test_instances_share_nothing() -> None:
    config = copy.deepcopy(CONFIG)
    first = TicketAPI.from_scenario(config)
    second = TicketAPI.from_scenario(config)  # the same config object twice
    config["ticket_queue"][0]["title"] = "changed by the caller"
    first.edit_ticket(1, {"title": "mine"})
    first.create_ticket("new")
    assert second.ticket_queue == CONFIG["ticket_queue"] and second.ticket_counter == 4
    defaults_a, defaults_b = TicketAPI(), TicketAPI()
    defaults_a.load_scenario({})
    defaults_b.load_scenario({})
    defaults_a.ticket_login("u", "p")
    defaults_a.create_ticket("t")
    assert defaults_b.ticket_queue == [] and loaded({}).ticket_queue == []
    assert ticketmod.EDITABLE_FIELDS == ("title", "description", "status", "priority")


def test_results_are_copies(api: TicketAPI) -> None:
    api.create_ticket("t")["title"] = "mutated"
    api.get_ticket(1)["status"] = "mutated"
    api.get_user_tickets()[0]["priority"] = 99
    assert api.ticket_queue[3]["title"] == "t" and api.ticket_queue[0] == CONFIG["ticket_queue"][0]


def test_clone_and_pickle(api: TicketAPI) -> None:
    for twin in (api.clone(), pickle.loads(pickle.dumps(api))):
        assert twin.state() == api.state()
        twin.close_ticket(1)
        assert api.get_ticket(1)["status"] == "Open"


# ------------------------------------------------------------------------------------------------------------
# Tickets


def test_create_ticket(api: TicketAPI) -> None:
    created = api.create_ticket("Laptop", "Broken screen", 5)
    assert created == {"id": 4, "title": "Laptop", "description": "Broken screen", "status": "Open",
                       "priority": 5, "created_by": "ana"}  # fmt: skip
    assert serialize_result(created) == (
        '{"id": 4, "title": "Laptop", "description": "Broken screen", "status": "Open", "priority": 5, '
        '"created_by": "ana"}'
    )
    assert api.create_ticket("Defaults") == {"id": 5, "title": "Defaults", "description": "", "status": "Open",
                                             "priority": 1, "created_by": "ana"}  # fmt: skip
    assert api.ticket_counter == 6 and api.ticket_queue[-1]["id"] == 5


def test_create_ticket_counter_quirks() -> None:
    tickets = loaded({"current_user": "john", "ticket_counter": 0})
    assert tickets.create_ticket("a")["id"] == 0  # BFCL quirk: ids follow the counter, even 0...
    clash = loaded({"current_user": "x", "ticket_queue": [{"id": 1, "status": "Open"}]})
    assert clash.create_ticket("b")["id"] == 1  # ...or an id the queue already has
    assert clash.get_ticket(1) == {"id": 1, "status": "Open"}  # the first match wins


def test_create_ticket_failures(api: TicketAPI) -> None:
    for priority in (0, 6, -1, "5", None):
        assert "from 1 (lowest) to 5 (highest)" in fails(api, "create_ticket", "t", priority=priority)
    api.logout()
    message = fails(api, "create_ticket", "t")
    assert "no user is logged in" in message and "ticket_login(username, password)" in message
    assert "no user is logged in" in fails(api, "create_ticket", "t", priority=9)  # login is checked first


def test_get_ticket(api: TicketAPI) -> None:
    assert api.get_ticket(2) == CONFIG["ticket_queue"][1]
    assert api.get_ticket("T-3")["title"] == "Mail"  # string ids exist in BFCL's data
    assert api.get_ticket(2.0)["id"] == 2 and api.get_ticket(True)["id"] == 1  # Python ==, as in BFCL
    api.logout()
    assert api.get_ticket(1)["id"] == 1  # no login needed
    message = fails(api, "get_ticket", 99)
    assert "no ticket with ID 99" in message and "Existing ticket IDs: 1, 2, 'T-3'." in message
    assert "create one with create_ticket" in fails(loaded({}), "get_ticket", 1)


def test_lookups_stop_at_a_ticket_without_id() -> None:
    tickets = loaded(
        {"ticket_queue": [{"id": 5, "status": "Open"}, {"ticket_001": {"status": "open"}}, {"id": 6}]}
    )
    assert tickets.get_ticket(5) == {"id": 5, "status": "Open"}  # found before the malformed entry
    for tool, args in (("get_ticket", (6,)), ("close_ticket", (7,)), ("resolve_ticket", (6, "r")),
                       ("edit_ticket", (6, {"title": "x"}))):  # fmt: skip
        message = fails(tickets, tool, *args)
        assert "entry 2 of the ticket queue is malformed (it has no 'id' field)" in message, tool


def test_many_ids_are_listed_briefly() -> None:
    tickets = loaded({"ticket_queue": [{"id": number} for number in range(30)]})
    assert "and 10 more" in fails(tickets, "get_ticket", 99)


def test_close_ticket(api: TicketAPI) -> None:
    assert api.close_ticket(1) == {"status": "Ticket 1 has been closed successfully."}
    assert api.ticket_queue[0]["status"] == "Closed"
    assert api.close_ticket("T-3") == {"status": "Ticket T-3 has been closed successfully."}
    assert "already closed" in fails(api, "close_ticket", 2)
    assert "no ticket with ID 9" in fails(api, "close_ticket", 9)


def test_close_ticket_id_is_shown_as_given() -> None:
    tickets = loaded({"ticket_queue": [{"id": 2, "status": "Open"}]})
    # BFCL quirk: the message shows the ID as passed, so 2.0 prints as 2.0
    assert tickets.close_ticket(2.0) == {"status": "Ticket 2.0 has been closed successfully."}


def test_status_is_case_sensitive_for_close_and_resolve() -> None:
    tickets = loaded({"ticket_queue": [{"id": 1, "status": "closed"}, {"id": 2, "status": "resolved"}]})
    assert tickets.close_ticket(1)["status"].startswith("Ticket 1 has been closed")  # 'closed' != 'Closed'
    assert tickets.resolve_ticket(2, "again")["status"].startswith("Ticket 2 has been resolved")


def test_tickets_without_status() -> None:
    tickets = loaded({"ticket_queue": [{"id": 12, "description": "Servers down", "priority": 3}]})
    message = fails(tickets, "close_ticket", 12)
    assert "has no status" in message and "edit_ticket(12, {'status': 'Open'})" in message
    assert "has no status" in fails(tickets, "resolve_ticket", 12, "fixed")
    tickets.edit_ticket(12, {"status": "Open"})  # the fix the message suggests works
    assert tickets.close_ticket(12) == {"status": "Ticket 12 has been closed successfully."}


def test_resolve_ticket(api: TicketAPI) -> None:
    assert api.resolve_ticket(2, "Restarted") == {"status": "Ticket 2 has been resolved successfully."}
    assert api.ticket_queue[1] == {
        **CONFIG["ticket_queue"][1],
        "status": "Resolved",
        "resolution": "Restarted",
    }
    assert list(api.ticket_queue[1])[-1] == "resolution"  # a closed ticket can be resolved; the key goes last
    assert "already resolved" in fails(api, "resolve_ticket", 2, "again")
    assert api.resolve_ticket(1, "") == {
        "status": "Ticket 1 has been resolved successfully."
    }  # empty is fine
    assert "no ticket with ID 0" in fails(api, "resolve_ticket", 0, "x")


def test_resolve_overwrites_an_existing_resolution() -> None:
    tickets = loaded({"ticket_queue": [{"id": 9, "status": "open", "resolution": "", "description": "d"}]})
    tickets.resolve_ticket(9, "done")
    assert tickets.ticket_queue[0] == {
        "id": 9,
        "status": "Resolved",
        "resolution": "done",
        "description": "d",
    }


def test_edit_ticket(api: TicketAPI) -> None:
    updates = {"title": "Printer 2", "priority": 9, "description": None, "status": "Waiting"}
    assert api.edit_ticket(1, updates) == {"status": "Ticket 1 has been updated successfully."}
    # BFCL quirk: None leaves a field alone, and there are no range or type checks (priority 9)
    assert api.ticket_queue[0] == {**CONFIG["ticket_queue"][0], "title": "Printer 2", "priority": 9,
                                   "status": "Waiting"}  # fmt: skip
    assert api.edit_ticket(1, {}) == {"status": "Ticket 1 has been updated successfully."}
    tickets = loaded({"ticket_queue": [{"id": 5, "status": "Open"}]})
    tickets.edit_ticket(5, {"priority": "High", "title": "new"})  # missing fields are added, in order given
    assert list(tickets.ticket_queue[0].items()) == [("id", 5), ("status", "Open"), ("priority", "High"),
                                                      ("title", "new")]  # fmt: skip


def test_edit_ticket_failures(api: TicketAPI) -> None:
    message = fails(api, "edit_ticket", 1, {"title": "x", "owner": "me", "id": 7, "status": "Open"})
    # deterministic (BFCL prints a set, whose order varies by hash seed): the order given
    assert "cannot update 'owner', 'id'; the fields you can update are title, description, status" in message
    assert "no ticket with ID 42" in fails(api, "edit_ticket", 42, {"title": "x"})
    assert "must be an object" in fails(api, "edit_ticket", 1, [("title", "x")])


def test_edit_ticket_copies_values(api: TicketAPI) -> None:
    tags = ["a"]
    api.edit_ticket(1, {"title": tags})
    tags.append("b")
    assert api.ticket_queue[0]["title"] == ["a"]


# ------------------------------------------------------------------------------------------------------------
# Users


def test_login_status_and_logout() -> None:
    tickets = loaded({})
    assert tickets.ticket_get_login_status() == {"login_status": False}
    assert tickets.logout() == {"success": False}  # a plain result, as in BFCL
    assert tickets.ticket_login("", "pw") == {"success": False} and tickets.current_user is None
    assert tickets.ticket_login("ana", "") == {"success": False} and tickets.current_user is None
    assert tickets.ticket_login("ana", "pw") == {"success": True} and tickets.current_user == "ana"
    assert tickets.ticket_login("bob", "x") == {"success": True} and tickets.current_user == "bob"
    assert tickets.ticket_get_login_status() == {"login_status": True}
    assert serialize_result(tickets.logout()) == '{"success": true}' and tickets.current_user is None


def test_falsy_current_user_is_logged_out() -> None:
    tickets = loaded({"current_user": ""})
    assert tickets.ticket_get_login_status() == {"login_status": False}
    assert "no user is logged in" in fails(tickets, "create_ticket", "t")


def test_get_user_tickets(api: TicketAPI) -> None:
    mine = api.get_user_tickets()
    assert [ticket["id"] for ticket in mine] == [1, "T-3"]  # queue order
    assert [ticket["id"] for ticket in api.get_user_tickets("OPEN")] == [1, "T-3"]  # case-insensitive
    assert api.get_user_tickets("") == mine  # an empty status does not filter
    assert api.get_user_tickets("Closed") == []
    assert serialize_result(api.get_user_tickets("closed")) == "[]"
    # BFCL quirk: a list, so the result string is its Python repr
    assert serialize_result(api.get_user_tickets("open")).startswith("[{'id': 1, 'title': 'Printer',")
    api.ticket_login("bob", "pw")
    assert [ticket["id"] for ticket in api.get_user_tickets()] == [2]


def test_get_user_tickets_failures(api: TicketAPI) -> None:
    api.logout()
    message = fails(api, "get_user_tickets")
    assert "no user is logged in" in message and "ticket_login" in message  # BFCL returns an error *list*
    partial = loaded({"current_user": "ana", "ticket_queue": [*CONFIG["ticket_queue"], {"id": 8}]})
    message = fails(partial, "get_user_tickets")
    assert "entry 4 of the ticket queue has no 'created_by' field" in message and "get_ticket" in message
    no_status = loaded({"current_user": "ana", "ticket_queue": [{"id": 1, "created_by": "ana"}]})
    assert no_status.get_user_tickets() == [{"id": 1, "created_by": "ana"}]  # fine without a filter
    assert "cannot be filtered by status" in fails(no_status, "get_user_tickets", "open")
    api.ticket_login("ana", "pw")
    api.edit_ticket(1, {"status": 3})  # BFCL allows it; filtering then crashes there
    assert "ticket 1 has no text status" in fails(api, "get_user_tickets", "open")
    assert len(api.get_user_tickets()) == 2


# ------------------------------------------------------------------------------------------------------------
# Bounded work


def test_texts_are_bounded(api: TicketAPI) -> None:
    long_text = "x" * (ticketmod.MAX_TEXT_CHARS + 1)
    assert f"at most {ticketmod.MAX_TEXT_CHARS}" in fails(api, "create_ticket", long_text)
    assert "description is" in fails(api, "create_ticket", "t", long_text)
    assert "resolution is" in fails(api, "resolve_ticket", 1, long_text)
    assert "title is" in fails(api, "edit_ticket", 1, {"status": "ok", "title": long_text})
    assert "password is" in fails(api, "ticket_login", "ana", long_text)
    assert "status is" in fails(api, "get_user_tickets", long_text)
    assert "status must be text" in fails(api, "get_user_tickets", 3)
    api.create_ticket("x" * ticketmod.MAX_TEXT_CHARS)


def test_queue_is_bounded(api: TicketAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticketmod, "MAX_TICKETS", 4)
    api.create_ticket("fourth")
    assert "the queue is full (4 tickets)" in fails(api, "create_ticket", "fifth")


# ------------------------------------------------------------------------------------------------------------
# Schemas and the registry


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(TicketAPI)}
    assert list(specs) == BFCL_ORDER
    expected = {
        "create_ticket": (["title"], {"description": "", "priority": 1}), "get_ticket": (["ticket_id"], {}),
        "close_ticket": (["ticket_id"], {}), "resolve_ticket": (["ticket_id", "resolution"], {}),
        "edit_ticket": (["ticket_id", "updates"], {}), "ticket_login": (["username", "password"], {}),
        "ticket_get_login_status": ([], {}), "logout": ([], {}), "get_user_tickets": ([], {"status": None}),
    }  # fmt: skip
    for name, (required, defaults) in expected.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert {k: v["default"] for k, v in params["properties"].items() if "default" in v} == defaults, name
        assert specs[name].param_order == tuple(required) + tuple(defaults), name
        assert specs[name].description.startswith(TicketAPI.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    props = {name: spec.parameters["properties"] for name, spec in specs.items()}
    assert props["create_ticket"]["priority"]["type"] == "integer"
    assert props["edit_ticket"]["updates"]["type"] == "object"
    assert props["get_user_tickets"]["status"]["type"] == ["string", "null"]
    assert "type" not in props["close_ticket"]["ticket_id"]  # BFCL's ground truth passes 'ticket_001'


def test_registry_dispatch(api: TicketAPI) -> None:
    tools = ToolRegistry([api])
    assert tools.execute("close_ticket", tools.bind("close_ticket", ("T-3",), {})).result == (
        '{"status": "Ticket T-3 has been closed successfully."}'
    )
    outcome = tools.execute("get_ticket", {"ticket_id": 404})
    assert outcome.error == "tool_error" and json.loads(outcome.result)["error"].startswith(
        "get_ticket: there"
    )
    assert tools.execute("create_ticket", {"title": "t", "priority": "high"}).error == "invalid_arguments"
    assert tools.execute("get_user_tickets", {}).result.startswith("[{'id': 1,")
    # an integral float for an integer parameter is refused before the tool runs (docs/envs.md)
    assert tools.execute("create_ticket", {"title": "t", "priority": 2.0}).error == "invalid_arguments"
    assert tools.execute("create_ticket", {"title": "t", "priority": 2}).result.endswith(
        '"priority": 2, "created_by": "ana"}'
    )
