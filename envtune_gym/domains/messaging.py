"""A workspace messenger: a re-implementation of BFCL's ``MessageAPI``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`), message ids included:
they come from a private ``random.Random`` with BFCL's seed and the same draws. BFCL's quirks that show in
results or state are kept on purpose, and marked ``BFCL quirk`` where they are. Failures raise
:class:`ToolError` with a message that says what to do next.

Deliberate differences: BFCL's error texts and its crashes (searching an inbox that holds a non-text message, an
empty inbox entry) become our own ToolError messages; a ``generated_ids`` list in a config becomes a set (JSON
has no sets; no BFCL config sets it); texts and the number of message ids are bounded (see the constants below).
One failure changes state, as in BFCL: ``add_contact`` advances ``user_count`` even when the next id is taken,
so that calling it again tries the following id.

Example:
    >>> api = MessageAPI()
    >>> api.load_scenario({})
    >>> api.message_login("USR001")["login_status"], api.send_message("USR002", "hi")["message_id"]
    (True, {'new_id': 67410})
    >>> api.inbox[-1], api.message_count
    ({'USR002': 'hi'}, 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.tools import tool

#: BFCL's seed for message ids, used when the scenario sets no ``random_seed``.
DEFAULT_SEED = 200191
#: Message ids are drawn with ``randint(*MESSAGE_ID_RANGE)`` until one is new, as in BFCL.
MESSAGE_ID_RANGE = (10000, 99999)
#: Most message ids one instance hands out. Drawing stays quick (BFCL loops forever once the range is full).
MAX_MESSAGE_IDS = 10_000
#: Longest message, user name or search keyword accepted.
MAX_TEXT_CHARS = 100_000
#: How many users or receivers an error message lists before it says "and N more".
_LISTED = 20

#: BFCL's state for keys a scenario leaves out. Never put into state as is: each load takes a deep copy.
DEFAULT_STATE: Mapping[str, Any] = {
    "generated_ids": set(),
    "user_count": 4,
    "user_map": {"Alice": "USR001", "Bob": "USR002", "Catherine": "USR003", "Daniel": "USR004"},
    "inbox": [
        {"USR002": "My name is Alice. I want to connect."},
        {"USR003": "Could you upload the file?"},
        {"USR004": "Could you upload the file?"},
    ],
    "message_count": 3,
    "current_user": None,
}


def _quote(text: str, limit: int = 80) -> str:
    """A value for a message: quoted, and cut short if long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return ", ".join(items[:_LISTED]) + more


def _check_text(tool: str, param: str, value: str) -> None:
    if len(value) > MAX_TEXT_CHARS:
        raise ToolError(f"{tool}: {param} is {len(value)} characters long; use at most {MAX_TEXT_CHARS}.")


class MessageAPI(Domain):
    """BFCL's MessageAPI. Compared state: ``generated_ids``, ``user_count``, ``user_map``, ``inbox``,
    ``message_count`` and ``current_user``; the RNG is private.

    The inbox is a list of one-key dicts ``{receiver_id: message}``: its order matters, and the sender is not
    recorded (every message counts as the current user's, as in BFCL).
    """

    name = "MessageAPI"
    description = (
        "This tool belongs to the Message API, which is used to manage user interactions in a workspace."
    )

    init_loads_empty_scenario = True

    def __init__(self) -> None:
        self.load_scenario({})

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the state from a config; missing keys take BFCL's defaults. The long-context flag is ignored.

        Values are taken as given (BFCL quirk: inbox messages may be lists or dicts, and an entry may have two
        keys; only its first key and value are read), but copied, so no two instances share anything.
        """
        state = {
            key: config[key] if key in config else fresh(default, constant=True)
            for key, default in DEFAULT_STATE.items()
        }
        self._seed_random(config.get("random_seed", DEFAULT_SEED))
        self.generated_ids: set[int] = set(state["generated_ids"])
        self.user_count: int = state["user_count"]
        self.user_map: dict[str, str] = state["user_map"]
        self.inbox: list[dict[str, Any]] = state["inbox"]
        self.message_count: int = state["message_count"]
        self.current_user: str | None = state["current_user"]

    # --------------------------------------------------------------------------------------------------------
    # Helpers

    def _require_login(self, tool: str) -> None:
        # BFCL checks truthiness only: any non-empty current_user counts as logged in, known id or not.
        if not self.current_user:
            raise ToolError(
                f"{tool}: no user is logged in. Log in first with message_login(user_id); get_user_id(user) "
                f"gives the ID of a user name, and list_users() lists the names."
            )

    def _users(self) -> str:
        pairs = [f"{user_id} ({name})" for name, user_id in self.user_map.items()]
        return f"Known user IDs: {_listed(pairs)}." if pairs else "The workspace has no users yet."

    @staticmethod
    def _first(tool: str, index: int, entry: Mapping[str, Any]) -> tuple[str, Any]:
        """The receiver and message of an inbox entry: its first key and value (BFCL reads no others)."""
        for receiver, message in entry.items():
            return receiver, message
        raise ToolError(
            f"{tool}: inbox entry #{index} is empty (it names no receiver), so the inbox cannot be read."
        )

    def _draw_id(self) -> int:
        """A message id not handed out before: BFCL's draws, ``randint`` until the value is new."""
        new_id = self._random.randint(*MESSAGE_ID_RANGE)
        while new_id in self.generated_ids:
            new_id = self._random.randint(*MESSAGE_ID_RANGE)
        self.generated_ids.add(new_id)
        return new_id

    # --------------------------------------------------------------------------------------------------------
    # Users and login

    @tool(lists=True)
    def list_users(self) -> dict[str, list[str]]:
        """List the names of all users in the workspace.

        Returns:
            user_list: The user names.
        """
        return {"user_list": list(self.user_map)}

    @tool
    def get_user_id(self, user: str) -> dict[str, str]:
        """Get the user ID of a user name.

        Args:
            user: The user name (case-sensitive).

        Returns:
            user_id: The ID of the user.
        """
        if user not in self.user_map:
            names = list(self.user_map)
            known = f"Users: {_listed(names)}." if names else "The workspace has no users yet."
            raise ToolError(
                f"get_user_id: no user named {_quote(user)} in the workspace (names are case-sensitive). {known} "
                f"add_contact(user_name) adds a new user."
            )
        return {"user_id": self.user_map[user]}

    @tool
    def message_login(self, user_id: str) -> dict[str, Any]:
        """Log in to the messaging application as the user with the given user ID.

        Args:
            user_id: The user ID to log in as (get it from a user name with get_user_id).

        Returns:
            login_status: True if the login succeeded, False otherwise.
            message: What happened.
        """
        if user_id not in self.user_map.values():
            # BFCL returns a failed status rather than an error; the string must stay the same.
            return {"login_status": False, "message": f"User ID '{user_id}' not found."}
        self.current_user = user_id
        return {"login_status": True, "message": f"User '{user_id}' logged in successfully."}

    @tool
    def message_get_login_status(self) -> dict[str, bool]:
        """Tell whether a user is logged in.

        Returns:
            login_status: True if a user is logged in, False otherwise.
        """
        return {"login_status": bool(self.current_user)}

    # --------------------------------------------------------------------------------------------------------
    # Messages

    @tool
    def send_message(self, receiver_id: str, message: str) -> dict[str, Any]:
        """Send a message to a user.

        Args:
            receiver_id: The user ID of the receiver (get it from a user name with get_user_id).
            message: The message to send.

        Returns:
            sent_status: True if the message was sent.
            message_id: The ID of the sent message, as {"new_id": ID}.
            message: What happened.
        """
        _check_text("send_message", "the message", message)
        self._require_login("send_message")
        if receiver_id not in self.user_map.values():
            raise ToolError(
                f"send_message: no user has the ID {_quote(receiver_id)}. {self._users()} Use get_user_id(user) "
                f"to look up the ID of a user name."
            )
        if len(self.generated_ids) >= MAX_MESSAGE_IDS:
            raise ToolError(
                f"send_message: the workspace has handed out {MAX_MESSAGE_IDS} message IDs; no more can be sent."
            )
        new_id = self._draw_id()
        self.inbox.append({receiver_id: message})
        self.message_count += 1
        return {
            "sent_status": True,
            "message_id": {"new_id": new_id},  # BFCL quirk: a nested dict, not the bare id
            "message": f"Message sent to '{receiver_id}' successfully.",
        }

    @tool
    def delete_message(self, receiver_id: str) -> dict[str, Any]:
        """Delete the latest message sent to a receiver.

        Args:
            receiver_id: The user ID of the receiver whose latest message is deleted.

        Returns:
            deleted_status: True if a message was deleted.
            receiver_id: The user ID of the receiver of the deleted message.
            message: What happened.
        """
        self._require_login("delete_message")
        for index in range(len(self.inbox) - 1, -1, -1):
            entry = self.inbox[index]
            receiver, _ = self._first("delete_message", index, entry)
            if receiver == receiver_id:
                # BFCL quirk: list.remove drops the FIRST entry equal to the latest match, maybe an earlier twin;
                # and message_count is not decreased.
                self.inbox.remove(entry)
                return {
                    "deleted_status": True,
                    "receiver_id": receiver,
                    "message": f"Receiver {receiver_id}'s latest message deleted successfully.",
                }
        receivers = list(
            dict.fromkeys(self._first("delete_message", i, e)[0] for i, e in enumerate(self.inbox))
        )
        having = f"Receivers with messages: {_listed(receivers)}." if receivers else "The inbox is empty."
        raise ToolError(
            f"delete_message: no message to {_quote(receiver_id)} in the inbox. {having} view_messages_sent() "
            f"shows them all."
        )

    @tool(lists=True)
    def view_messages_sent(self) -> dict[str, dict[str, list[Any]]]:
        """View all messages sent by the current user, grouped by receiver.

        Returns:
            messages: The messages by receiver ID, in the order sent, e.g. {"USR001": ["Hello"], "USR002": ["Hi"]}.
        """
        self._require_login("view_messages_sent")
        grouped: dict[str, list[Any]] = {}
        # BFCL quirk: the whole inbox is shown, whoever was logged in when a message was sent.
        for index, entry in enumerate(self.inbox):
            receiver, message = self._first("view_messages_sent", index, entry)
            grouped.setdefault(receiver, []).append(fresh(message))
        return {"messages": grouped}

    @tool
    def add_contact(self, user_name: str) -> dict[str, Any]:
        """Add a user to the workspace as a contact; the new user ID is made from the user count.

        Args:
            user_name: The user name of the new contact.

        Returns:
            added_status: True if the contact was added.
            user_id: The user ID of the new contact.
            message: What happened.
        """
        _check_text("add_contact", "the user name", user_name)
        if user_name in self.user_map:
            raise ToolError(
                f"add_contact: a user named {_quote(user_name)} already exists, with ID "
                f"{_quote(self.user_map[user_name])}. Use that ID, or pick another name."
            )
        # BFCL quirk: the count goes up before the id is checked, and stays up when the id is taken.
        self.user_count += 1
        user_id = f"USR{str(self.user_count).zfill(3)}"
        if user_id in self.user_map.values():
            owner = next(name for name, known in self.user_map.items() if known == user_id)
            following = f"USR{str(self.user_count + 1).zfill(3)}"
            raise ToolError(
                f"add_contact: the next user ID, {user_id!r}, already belongs to {_quote(owner)}. The ID counter "
                f"has moved on: call add_contact again to try {following!r}."
            )
        self.user_map[user_name] = user_id
        return {
            "added_status": True,
            "user_id": user_id,
            "message": f"Contact '{user_name}' added successfully.",
        }

    @tool
    def search_messages(self, keyword: str) -> dict[str, list[dict[str, Any]]]:
        """Search the messages for a keyword (case-insensitive).

        Args:
            keyword: The text to look for in the messages.

        Returns:
            results: The matching messages, each as {"receiver_id": ..., "message": ...}.
        """
        _check_text("search_messages", "the keyword", keyword)
        self._require_login("search_messages")
        needle = keyword.lower()
        results = []
        for index, entry in enumerate(self.inbox):
            receiver, message = self._first("search_messages", index, entry)
            if not isinstance(message, str):  # BFCL crashes here, whatever the keyword
                raise ToolError(
                    f"search_messages: inbox entry #{index} (to {_quote(receiver)}) holds a "
                    f"{type(message).__name__}, not text, so the inbox cannot be searched by keyword. Read it "
                    f"with view_messages_sent() instead."
                )
            if needle in message.lower():
                results.append({"receiver_id": receiver, "message": message})
        return {"results": results}

    @tool
    def get_message_stats(self) -> dict[str, dict[str, int]]:
        """Get statistics about the current user's messages.

        Returns:
            stats: {"received_count": number of messages in the inbox, "total_contacts": number of distinct
                receivers}.
        """
        self._require_login("get_message_stats")
        receivers = {self._first("get_message_stats", i, entry)[0] for i, entry in enumerate(self.inbox)}
        return {"stats": {"received_count": len(self.inbox), "total_contacts": len(receivers)}}


register_domain(MessageAPI, env_id="EnvTune/Messaging-v0", task_set="messaging", order=20)
