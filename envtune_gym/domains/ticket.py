"""A support-ticket system: a re-implementation of BFCL's ``TicketAPI``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`). BFCL's quirks that show
in results or state are kept on purpose, and marked ``BFCL quirk`` where they are. Failures raise
:class:`ToolError` with a message that says what to do next, and leave the state as it was.

Deliberate differences: BFCL's error dicts, its error *list* from ``get_user_tickets`` when nobody is logged in,
and its crashes on malformed tickets (no ``id``, ``created_by`` or ``status``) become our own ToolError messages;
``edit_ticket`` names invalid fields in the order given (BFCL prints a set, whose order varies between
processes); texts and the queue are bounded (see the constants below).

Example:
    >>> tickets = TicketAPI()
    >>> tickets.load_scenario({"current_user": "ana"})
    >>> tickets.create_ticket("Printer jam", priority=3)["id"], tickets.close_ticket(1)
    (1, {'status': 'Ticket 1 has been closed successfully.'})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.tools import tool

#: Longest text (title, description, resolution, credentials, status filter, edited value) a call may pass.
MAX_TEXT_CHARS = 10_000
#: Most tickets the queue may hold; create_ticket refuses beyond it.
MAX_TICKETS = 10_000
#: The ticket fields edit_ticket may change (BFCL's rule).
EDITABLE_FIELDS = ("title", "description", "status", "priority")
#: How many ticket IDs an error message lists before it says "and N more".
_LISTED_IDS = 20
_LOGIN_HINT = "Log in first with ticket_login(username, password)"


def _show(value: Any, limit: int = 60) -> str:
    """A value for a message: its repr, cut short if long."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TicketAPI(Domain):
    """BFCL's TicketAPI. Compared state: ``ticket_queue``, ``ticket_counter`` and ``current_user``."""

    name = "TicketAPI"
    description = (
        "This tool belongs to the ticketing system that is part of a company, which allows users to create, "
        "view, and manage support business tickets."
    )

    def __init__(self) -> None:
        self.ticket_queue: list[dict[str, Any]] = []
        self.ticket_counter = 1
        self.current_user: Any = None

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the queue, counter and user from ``{"ticket_queue": [...], "ticket_counter": n, "current_user": u}``.

        Missing keys take BFCL's defaults (``[]``, ``1``, ``None``); ``long_context`` is ignored, as in BFCL.
        BFCL quirk: tickets are kept exactly as given, so some lack ``created_by``, ``status`` or even ``id``
        (the data wraps a few in an extra ``{"ticket_001": {...}}`` level), and statuses vary in case.
        """
        queue = config.get("ticket_queue", [])
        counter = config.get("ticket_counter", 1)
        if not isinstance(queue, list) or not all(isinstance(ticket, dict) for ticket in queue):
            raise ValueError("TicketAPI config: 'ticket_queue' must be a list of ticket objects")
        if not isinstance(counter, int) or isinstance(counter, bool):
            raise ValueError("TicketAPI config: 'ticket_counter' must be an integer")
        self.ticket_queue = queue
        self.ticket_counter = counter
        self.current_user = config.get("current_user", None)

    # --------------------------------------------------------------------------------------------------------
    # Lookups and checks

    def _find(self, tool: str, ticket_id: Any) -> dict[str, Any]:
        """The first ticket whose id equals ``ticket_id`` (Python ``==``, so 2 == 2.0), else a ToolError.

        BFCL quirk: the search walks the queue in order and stops (BFCL crashes) at a ticket without an id.
        """
        for position, ticket in enumerate(self.ticket_queue, start=1):
            if "id" not in ticket:
                raise ToolError(
                    f"{tool}: ticket {_show(ticket_id)} cannot be looked up: entry {position} of the ticket "
                    f"queue is malformed (it has no 'id' field) and the search cannot get past it. Only tickets "
                    f"before it can be reached by ID; tell the user the ticket data needs fixing."
                )
            if ticket["id"] == ticket_id:
                return ticket
        raise ToolError(f"{tool}: there is no ticket with ID {_show(ticket_id)}. {self._known_ids()}")

    def _known_ids(self) -> str:
        ids = [ticket["id"] for ticket in self.ticket_queue if "id" in ticket]
        if not ids:
            return "The queue holds no tickets with an ID; create one with create_ticket (after logging in)."
        more = f" and {len(ids) - _LISTED_IDS} more" if len(ids) > _LISTED_IDS else ""
        shown = ", ".join(_show(ticket_id, 30) for ticket_id in ids[:_LISTED_IDS])
        return f"Existing ticket IDs: {shown}{more}. get_user_tickets() lists your own tickets."

    def _require_login(self, tool: str, action: str) -> None:
        if not self.current_user:
            raise ToolError(f"{tool}: no user is logged in. {_LOGIN_HINT}, then {action}.")

    @staticmethod
    def _check_text(tool: str, **texts: Any) -> None:
        for field, text in texts.items():
            if isinstance(text, str) and len(text) > MAX_TEXT_CHARS:
                raise ToolError(
                    f"{tool}: {field} is {len(text)} characters long; use at most {MAX_TEXT_CHARS}."
                )

    @staticmethod
    def _status(tool: str, ticket: dict[str, Any], fix: str) -> Any:
        """The ticket's status, or a ToolError when it has none (BFCL crashes with a KeyError)."""
        if "status" not in ticket:
            ticket_id = ticket["id"]
            raise ToolError(
                f"{tool}: ticket {_show(ticket_id)} has no status, so it cannot be {fix}. Give it one first, "
                f"e.g. edit_ticket({_show(ticket_id)}, {{'status': 'Open'}}), then try again."
            )
        return ticket["status"]

    # --------------------------------------------------------------------------------------------------------
    # Tickets

    @tool
    def create_ticket(self, title: str, description: str = "", priority: int = 1) -> dict[str, Any]:
        """Create a ticket in the system and put it in the queue. Needs a logged-in user.

        Args:
            title: The title of the ticket.
            description: The description of the ticket. Defaults to an empty string.
            priority: The priority of the ticket, from 1 to 5, where 5 is the highest. Defaults to 1.

        Returns:
            id: The unique ID of the new ticket.
            title: The title of the ticket.
            description: The description of the ticket.
            status: The status of the ticket ('Open').
            priority: The priority of the ticket.
            created_by: The username of the logged-in user who created it.
        """
        self._require_login("create_ticket", "create the ticket")
        if not isinstance(priority, (int, float)) or priority < 1 or priority > 5:
            raise ToolError(
                f"create_ticket: priority must be from 1 (lowest) to 5 (highest), got {_show(priority)}."
            )
        self._check_text("create_ticket", title=title, description=description)
        if len(self.ticket_queue) >= MAX_TICKETS:
            raise ToolError(
                f"create_ticket: the queue is full ({MAX_TICKETS} tickets); update an existing ticket with "
                f"edit_ticket instead."
            )
        ticket = {
            "id": self.ticket_counter,
            "title": title,
            "description": description,
            "status": "Open",
            "priority": priority,
            "created_by": self.current_user,
        }
        self.ticket_queue.append(ticket)
        self.ticket_counter += 1  # BFCL quirk: the counter may repeat an ID already in the config's queue
        return dict(ticket)

    @tool
    def get_ticket(self, ticket_id: Any) -> dict[str, Any]:
        """Get a specific ticket by its ID. No login needed.

        Args:
            ticket_id: The ID of the ticket to retrieve: an integer for tickets made with create_ticket (some
                preloaded tickets use a string ID).

        Returns:
            id: The unique ID of the ticket.
            title: The title of the ticket.
            description: The description of the ticket.
            status: The status of the ticket.
            priority: The priority of the ticket.
            created_by: The username of the ticket's creator.
        """
        return fresh(self._find("get_ticket", ticket_id))  # every field, as stored

    @tool
    def close_ticket(self, ticket_id: Any) -> dict[str, str]:
        """Close a ticket. No login needed.

        Args:
            ticket_id: The ID of the ticket to close.

        Returns:
            status: A message confirming the ticket was closed.
        """
        ticket = self._find("close_ticket", ticket_id)
        if self._status("close_ticket", ticket, "closed") == "Closed":
            raise ToolError(
                f"close_ticket: ticket {_show(ticket_id)} is already closed; nothing to do. "
                f"get_ticket({_show(ticket_id)}) shows it."
            )
        ticket["status"] = "Closed"
        return {"status": f"Ticket {ticket_id} has been closed successfully."}

    @tool
    def resolve_ticket(self, ticket_id: Any, resolution: str) -> dict[str, str]:
        """Resolve a ticket, recording how it was resolved. No login needed.

        Args:
            ticket_id: The ID of the ticket to resolve.
            resolution: The details of the resolution.

        Returns:
            status: A message confirming the ticket was resolved.
        """
        ticket = self._find("resolve_ticket", ticket_id)
        if self._status("resolve_ticket", ticket, "resolved") == "Resolved":
            raise ToolError(
                f"resolve_ticket: ticket {_show(ticket_id)} is already resolved; nothing to do. "
                f"get_ticket({_show(ticket_id)}) shows its resolution."
            )
        self._check_text("resolve_ticket", resolution=resolution)
        ticket["status"] = "Resolved"
        ticket["resolution"] = resolution
        return {"status": f"Ticket {ticket_id} has been resolved successfully."}

    @tool
    def edit_ticket(self, ticket_id: Any, updates: dict) -> dict[str, str]:
        """Change the details of an existing ticket. No login needed.

        Args:
            ticket_id: The ID of the ticket to change.
            updates: The fields to change and their new values; any of 'title' (string), 'description'
                (string), 'status' (string) and 'priority' (integer). A field set to None is left unchanged.

        Returns:
            status: A message confirming the ticket was updated.
        """
        ticket = self._find("edit_ticket", ticket_id)
        if not isinstance(updates, dict):
            raise ToolError(
                f"edit_ticket: updates must be an object of field -> new value, got {_show(updates)}."
            )
        invalid = [key for key in updates if key not in EDITABLE_FIELDS]
        if invalid:
            raise ToolError(
                f"edit_ticket: cannot update {', '.join(_show(key, 30) for key in invalid)}; the fields you can "
                f"update are {', '.join(EDITABLE_FIELDS)}."
            )
        self._check_text("edit_ticket", **{str(key): value for key, value in updates.items()})
        for key, value in updates.items():
            if value is not None:  # BFCL quirk: no type or range checks (a priority of 9 or 'High' is kept)
                ticket[key] = fresh(value)
        return {"status": f"Ticket {ticket_id} has been updated successfully."}

    # --------------------------------------------------------------------------------------------------------
    # Users

    @tool
    def ticket_login(self, username: str, password: str) -> dict[str, bool]:
        """Log a user in to the ticket system. Any non-empty username and password are accepted.

        Args:
            username: The username of the user.
            password: The password of the user.

        Returns:
            success: True if the login succeeded; False if the username or password was empty.
        """
        self._check_text("ticket_login", username=username, password=password)
        if username and password:
            self.current_user = username
            return {"success": True}
        return {"success": False}  # BFCL quirk: a plain result, not an error; the user is unchanged

    @tool
    def ticket_get_login_status(self) -> dict[str, bool]:
        """Get whether a user is logged in to the ticket system.

        Returns:
            login_status: True if a user is logged in, False otherwise.
        """
        return {"login_status": bool(self.current_user)}

    @tool
    def logout(self) -> dict[str, bool]:
        """Log out the current user of the ticket system.

        Returns:
            success: True if a user was logged out; False if nobody was logged in.
        """
        if self.current_user:
            self.current_user = None
            return {"success": True}
        return {"success": False}  # BFCL quirk: a plain result, not an error

    @tool
    def get_user_tickets(self, status: str | None = None) -> list[dict[str, Any]]:
        """Get all tickets created by the logged-in user, optionally only those with a given status.

        Args:
            status: The status to filter tickets by (case-insensitive, e.g. 'open'). If None or empty, every
                ticket of the user is returned.

        Returns:
            tickets: The user's tickets, in queue order, each with its id, title, description, status, priority
                and created_by.
        """
        self._require_login("get_user_tickets", "list your tickets")
        if status is not None and not isinstance(status, str):
            raise ToolError(f"get_user_tickets: status must be text such as 'open', got {_show(status)}.")
        self._check_text("get_user_tickets", status=status)
        for position, ticket in enumerate(self.ticket_queue, start=1):
            if "created_by" not in ticket:  # BFCL crashes with a KeyError here
                raise ToolError(
                    f"get_user_tickets: entry {position} of the ticket queue has no 'created_by' field, so "
                    f"tickets cannot be listed by user. Look tickets up by ID with get_ticket instead."
                )
        mine = [ticket for ticket in self.ticket_queue if ticket["created_by"] == self.current_user]
        if status:
            for ticket in mine:
                if not isinstance(ticket.get("status"), str):  # BFCL crashes here too
                    raise ToolError(
                        f"get_user_tickets: ticket {_show(ticket.get('id'))} has no text status, so tickets "
                        f"cannot be filtered by status. Call get_user_tickets() without a status instead."
                    )
            mine = [ticket for ticket in mine if ticket["status"].lower() == status.lower()]
        return fresh(mine)  # BFCL quirk: a list, shown as its Python repr


register_domain(TicketAPI, order=70)
