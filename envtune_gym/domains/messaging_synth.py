"""Procedural tasks for the messaging domain (BFCL's ``MessageAPI``): ``envtune synth messaging``.

Over 600 lines on purpose: one short drawing function per operation (23 of them), and a domain's operations read
best side by side.

The initial state is a workspace of users (``USR001`` ...) and an inbox of messages, drawn from
:mod:`.messaging_synth_vocab`, with near misses of the users and messages the turns pick: ``Hannah Sato`` next
to ``Hana Sato``, a second message about the same theme sent to the same person. Half the tasks start logged
in; the others log in the way BFCL's users do ("I'm USR003, log me in first.").

The operations a request can be (three or more phrasings each; a turn holds one, or two joined), with their
ground truth; brackets mark a lookup made only when no earlier result holds the id:

- reads: list_users, lookup_id (``get_user_id``), login_status, view_sent, stats, search (a keyword);
- logins: login_id (the id given), login_name (``get_user_id`` -> ``message_login``: switch accounts);
- sending: send_name ([``get_user_id``] -> ``send_message``), send_id (the id given), send_first (a first
  name only: [``list_users``] -> ``get_user_id`` -> ``send_message``), broadcast (one text to two people);
- contacts: add_contact, add_and_message (``add_contact`` -> ``send_message`` to the new id);
- earlier turns: message_new ("the contact you just added"), message_looked_up ("that user"),
  retract_last / correct_last ("the message you just sent": ``delete_message`` [+ ``send_message``]),
  same_to_other (an earlier text to someone else), delete_searched (the one hit of the last search);
- by description: delete_name ([``get_user_id``] -> ``delete_message``), delete_topic ("the message about
  'vault'": ``search_messages`` -> ``delete_message`` of the receiver found), forward_topic
  (``search_messages``, [``get_user_id``] -> ``send_message`` of the text found).

While drafting, the generator runs every
call on a live :class:`~envtune_gym.domains.messaging.MessageAPI`, so each call is valid, every state-changing
call changes the state, and a read is drawn only when its result is new to the task (BFCL's response check
counts a result from any earlier turn, so a repeated read would be idle). MessageAPI has no long-context
padding: a long_context task is its base task with the flag set, as in BFCL.

Example:
    >>> from envtune_gym.synth import Synthesizer
    >>> task = Synthesizer("messaging", seed=0).task(0)
    >>> task.domains, task.category
    (['MessageAPI'], 'base')
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from envtune_gym.domains import messaging_synth_vocab as vocab
from envtune_gym.domains.base import Domain
from envtune_gym.domains.messaging import MessageAPI
from envtune_gym.domains.messaging_synth_vocab import (
    DOMAIN,
    Workspace,
    draw_workspace,
    pick,
    quote,
    say,
    tidy,
)
from envtune_gym.results import serialize_result
from envtune_gym.synth.draft import Call, Draft, Reference, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs, register_generator

#: Operations that pick an entity by description: only first in a turn, so the entities the unambiguity gate
#: lists at the turn's start are the ones the phrase was checked against.
_DESCRIBING = frozenset({"send_first", "delete_topic", "forward_topic"})
_TRIES = 12  # draws of an operation per request before falling back to adding a contact


@dataclass
class _Plan:
    """One request of a turn: its text, its calls with their chain levels, and what the gates need.

    A call's level is 0 when every argument is given in the text, else one more than the level of the call
    whose result gave an argument (``list_users`` 0 -> ``get_user_id`` 1 -> ``send_message`` 2).
    """

    op: str
    text: str
    calls: list[tuple[Call, int]]
    withheld: tuple[str, str, tuple[str, ...]] | None = None  # (vague request, supply, the values held back)
    references: list[Reference] = field(default_factory=list)


class _Drafting:
    """A task's turns drawn against a live workspace: what exists, what the agent knows, what was produced."""

    def __init__(self, rng: random.Random, knobs: Knobs, workspace: Workspace, seen: list[str]) -> None:
        self.rng = rng
        self.knobs = knobs
        self.api = MessageAPI.from_scenario(workspace.config[DOMAIN])
        self.me: str = workspace.config[DOMAIN]["user_map"][workspace.me]  # the id the user logs in with
        self.focus_users = workspace.focus_users
        self.focus_keywords = workspace.focus_keywords
        self.produced: set[str] = set()  # results of earlier turns: reading one again would be idle
        self.results: list[str] = []  # results of this turn so far
        self.touched: list[Call] = []  # calls of this turn so far
        self.seen = seen  # every text the agent has seen: the state it can read, turns, results
        self.ids: dict[str, tuple[str, int]] = {}  # user name -> (id, level of the call that showed it)
        self.recent: dict[str, Any] = {}  # what earlier turns did: "added", "sent", "lookup", "search"
        self.turn = 0
        self.depth = 0

    # ---- turns ---------------------------------------------------------------------------------------------

    def draw_turn(self) -> Turn:
        """The next user turn: one request, or two joined, with a login first when one is needed."""
        self.results, self.touched = [], []
        budget = self.knobs.max_calls_per_turn
        plans: list[_Plan] = []
        if self.api.current_user is None and budget > 1 and self.rng.random() < 0.7:
            plans.append(self._login_prefix())
            self._commit(plans)
        first = self._draw(budget - self._calls(plans), describing=True) or self._op_add_contact()
        plans.append(first)
        self._commit([first])
        left = budget - self._calls(plans)
        if left > 0 and self.rng.random() < 0.25:
            second = self._draw(left, describing=False)
            if second is not None:
                plans.append(second)
                self._commit([second])
        self.produced.update(self.results)
        self.turn += 1
        return self._turn_of(plans)

    def _turn_of(self, plans: list[_Plan]) -> Turn:
        texts = [plan.text for plan in plans]
        request = self._joined(texts)
        withheld = None
        options = [index for index, plan in enumerate(plans) if plan.withheld is not None]
        if options:
            index = pick(self.rng, options)
            vague, supply, values = plans[index].withheld  # type: ignore[misc]
            texts[index] = vague
            vague_request = self._joined(texts)
            if not all(self._known(value, vague_request) for value in values):
                withheld = Withheld(vague_request, supply)
        self.seen.append(request)
        self.seen.extend(self.results)
        calls = [call for plan in plans for call, _ in plan.calls]
        references = [reference for plan in plans for reference in plan.references]
        return Turn(request, calls, withheld=withheld, references=references)

    def _joined(self, texts: list[str]) -> str:
        parts = texts[:1] + [
            pick(self.rng, vocab.CONNECTORS).format(vocab.lowered(text)) for text in texts[1:]
        ]
        return " ".join(parts)

    def _known(self, value: str, extra: str) -> bool:
        return value in extra or any(value in text for text in self.seen)

    @staticmethod
    def _calls(plans: list[_Plan]) -> int:
        return sum(len(plan.calls) for plan in plans)

    def _draw(self, budget: int, describing: bool) -> _Plan | None:
        """A request of at most ``budget`` calls and the depth knob's chain length, or ``None``."""
        logged_in = self.api.current_user is not None
        ops = [
            (name, weight)
            for name, weight in vocab.OP_WEIGHTS.items()
            if (logged_in or name not in vocab.LOGGED_IN_OPS) and (describing or name not in _DESCRIBING)
        ]
        names = [name for name, _ in ops]
        weights = [weight for _, weight in ops]
        for _ in range(_TRIES):
            name = self.rng.choices(names, weights)[0]
            plan = getattr(self, f"_op_{name}")()
            if plan is None or not 0 < len(plan.calls) <= budget:
                continue
            if max(level for _, level in plan.calls) <= self.knobs.max_depth:
                return plan
        return None

    def _commit(self, plans: list[_Plan]) -> None:
        """Run the plans' calls on the live workspace and note what they showed."""
        for plan in plans:
            for call, level in plan.calls:
                result = getattr(self.api, call.name)(**call.arguments)
                self.results.append(serialize_result(result))
                self.touched.append(call)
                self.depth = max(self.depth, level)
                self._note(call, level, result)

    def _note(self, call: Call, level: int, result: dict[str, Any]) -> None:
        args = call.arguments
        if call.name == "get_user_id":
            self.ids[args["user"]] = (result["user_id"], level)
            self._remember("lookup", args["user"])
        elif call.name == "add_contact":
            self.ids[args["user_name"]] = (result["user_id"], level)
            self._remember("added", args["user_name"])
        elif call.name == "send_message":
            self._remember("sent", args["receiver_id"], args["message"], level)
        elif call.name == "message_login":
            self.me = args["user_id"]
        elif call.name == "search_messages":
            hits = result["results"]
            one = hits[0] if len(hits) == 1 else {"receiver_id": None, "message": None}
            self._remember("search", one["receiver_id"], one["message"], level)
        elif call.name == "delete_message" and (self.recent.get("sent") or ("", ""))[1:2] == (
            args["receiver_id"],
        ):
            self.recent.pop("sent")

    def _remember(self, what: str, *values: Any) -> None:
        """Note what this turn did, for later requests about it ("the message you just sent"); a second one in
        the same turn would make such a request ambiguous, so the turn's note is then left empty."""
        earlier = self.recent.get(what)
        again = earlier is not None and earlier[0] == self.turn
        self.recent[what] = (self.turn,) if again else (self.turn, *values)

    def _recall(self, what: str, previous_only: bool) -> tuple[Any, ...] | None:
        """What one call of an earlier turn (of the previous turn, if asked) noted, or ``None``."""
        noted = self.recent.get(what)
        if noted is None or len(noted) == 1 or noted[0] == self.turn:
            return None
        return None if previous_only and noted[0] != self.turn - 1 else noted[1:]

    # ---- helpers -------------------------------------------------------------------------------------------

    def _fresh(self, name: str, **arguments: str) -> Call | None:
        """A read whose result no earlier turn and no earlier call of this turn produced, else ``None``."""
        result = serialize_result(getattr(self.api, name)(**arguments))
        if result in self.produced or result in self.results:
            return None
        return Call(name, arguments)

    def _resolve(self, name: str, level: int = 0) -> tuple[list[tuple[Call, int]], str, int]:
        """The calls that show ``name``'s id (none if an earlier result did), the id, and the id's level."""
        if name in self.ids:
            user_id, known_at = self.ids[name]
            return [], user_id, known_at
        return [(Call("get_user_id", {"user": name}), level)], self.api.user_map[name], level

    def _someone(self, avoid: tuple[str, ...] = ()) -> str | None:
        """A user to act on, not the one logged in: a focus user mostly, else anyone."""
        me = self.api.current_user or self.me
        # Nobody this turn already wrote to or looked up: a second request about them would read oddly.
        busy = {value for call in self.touched for value in call.arguments.values()}
        busy.update(avoid, [me])
        users = [name for name, uid in self.api.user_map.items() if not busy & {name, uid}]
        focus = [name for name in self.focus_users if name in users]
        if not users:
            return None
        return pick(self.rng, focus if focus and self.rng.random() < 0.7 else users)

    def _message(self) -> str:
        return vocab.new_message(self.rng, self.api.inbox)

    def _new_name(self) -> str:
        return vocab.new_name(self.rng, self.api.user_map)

    def _latest_to(self, receiver: str) -> str | None:
        for entry in reversed(self.api.inbox):
            for key, text in entry.items():
                if key == receiver:
                    return text if isinstance(text, str) else None
                break
        return None

    def _about(self, keyword: str) -> list[str]:
        """The inbox texts a search for ``keyword`` finds."""
        needle = keyword.lower()
        return [
            text
            for entry in self.api.inbox
            for text in list(entry.values())[:1]
            if isinstance(text, str) and needle in text.lower()
        ]

    def _keyword(self) -> str | None:
        """A keyword of a message in the inbox: a focus one mostly."""
        known = [k for theme in vocab.INBOX_THEMES for k, _ in theme if self._about(k)]
        focus = [k for k in self.focus_keywords if k in known]
        if not known:
            return None
        return pick(self.rng, focus if focus and self.rng.random() < 0.7 else known)

    def _send(self, name: str, text: str, op: str) -> _Plan | None:
        """``get_user_id`` (unless known) then ``send_message``, phrased by ``op``."""
        lookup, user_id, level = self._resolve(name)
        calls = [*lookup, (Call("send_message", {"receiver_id": user_id, "message": text}), level + 1)]
        msg = quote(self.rng, text)
        withheld = self._withhold("send", (text,), who=name, msg=msg)
        return _Plan(op, say(self.rng, op, name=name, msg=msg), calls, withheld)

    def _withhold(self, key: str, values: tuple[str, ...], **fields: str) -> tuple[str, str, tuple[str, ...]]:
        """How operation ``key`` reads with ``values`` held back, and the follow-up that gives them."""
        vague = pick(self.rng, vocab.VAGUE[key]).format(**fields)
        return vague, tidy(pick(self.rng, vocab.SUPPLY[key]).format(**fields)), values

    # ---- operations ----------------------------------------------------------------------------------------
    # Each returns a plan valid on the live workspace, or None when the workspace does not allow it now.

    def _login_prefix(self) -> _Plan:
        uid = self.me
        return _Plan(
            "login_id",
            pick(self.rng, vocab.LOGIN_PREFIX).format(uid=uid),
            [(Call("message_login", {"user_id": uid}), 0)],
        )

    def _op_list_users(self) -> _Plan | None:
        call = self._fresh("list_users")
        return call and _Plan("list_users", say(self.rng, "list_users"), [(call, 0)])

    def _op_lookup_id(self) -> _Plan | None:
        name = self._someone()
        if name is None or name in self.ids:
            return None
        return _Plan(
            "lookup_id", say(self.rng, "lookup_id", name=name), [(Call("get_user_id", {"user": name}), 0)]
        )

    def _op_login_id(self) -> _Plan | None:
        if self.api.current_user == self.me:
            return None
        plan = self._login_prefix()
        plan.text = say(self.rng, "login_id", uid=self.me)
        plan.withheld = self._withhold("login_id", (self.me,), uid=self.me)
        return plan

    def _logged_in_this_turn(self) -> bool:
        return any(call.name == "message_login" for call in self.touched)

    def _op_login_name(self) -> _Plan | None:
        name = None if self._logged_in_this_turn() else self._someone()
        if name is None:
            return None
        lookup, user_id, level = self._resolve(name)
        calls = [*lookup, (Call("message_login", {"user_id": user_id}), level + 1)]
        withheld = self._withhold("login_name", (name, user_id), name=name)
        return _Plan("login_name", say(self.rng, "login_name", name=name), calls, withheld)

    def _op_login_status(self) -> _Plan | None:
        call = None if self._logged_in_this_turn() else self._fresh("message_get_login_status")
        return call and _Plan("login_status", say(self.rng, "login_status"), [(call, 0)])

    def _op_send_name(self) -> _Plan | None:
        name = self._someone()
        return name and self._send(name, self._message(), "send_name")

    def _op_send_id(self) -> _Plan | None:
        name = self._someone()
        if name is None:
            return None
        uid, text = self.api.user_map[name], self._message()
        msg = quote(self.rng, text)
        withheld = self._withhold("send", (text,), who=uid, msg=msg)
        calls = [(Call("send_message", {"receiver_id": uid, "message": text}), 0)]
        return _Plan("send_id", say(self.rng, "send_id", uid=uid, msg=msg), calls, withheld)

    def _op_send_first(self) -> _Plan | None:
        name = self._someone()
        if name is None:
            return None
        first = name.split(" ", 1)[0]
        if [n.split(" ", 1)[0] for n in self.api.user_map].count(first) != 1:
            return None
        listing = self._fresh("list_users")
        text = self._message()
        plan = self._send(name, text, "send_name")
        assert plan is not None
        if name not in self.ids:  # the full name comes from the user list, now or from an earlier turn
            plan.calls = [(call, level + 1) for call, level in plan.calls]
            if listing is not None:
                plan.calls.insert(0, (listing, 0))
        plan.op, plan.text = "send_first", say(self.rng, "send_first", first=first, msg=quote(self.rng, text))
        assert plan.withheld is not None  # a send withholds its text
        plan.withheld = (pick(self.rng, vocab.VAGUE["send"]).format(who=first), *plan.withheld[1:])
        plan.references = [Reference("user", first, name, lambda n, f=first: n.split(" ", 1)[0] == f)]
        return plan

    def _op_add_contact(self) -> _Plan:
        new = self._new_name()
        shown = quote(self.rng, new) if self.rng.random() < 0.5 else new
        withheld = self._withhold("add_contact", (new,), new=shown)
        return _Plan(
            "add_contact",
            say(self.rng, "add_contact", new=shown),
            [(Call("add_contact", {"user_name": new}), 0)],
            withheld,
        )

    def _op_add_and_message(self) -> _Plan | None:
        new, text = self._new_name(), self._message()
        uid = f"USR{self.api.user_count + 1:03d}"
        if uid in self.api.user_map.values():
            return None
        msg = quote(self.rng, text)
        calls = [
            (Call("add_contact", {"user_name": new}), 0),
            (Call("send_message", {"receiver_id": uid, "message": text}), 1),
        ]
        withheld = self._withhold("add_and_message", (text,), new=new, msg=msg)
        return _Plan(
            "add_and_message",
            say(self.rng, "add_and_message", new=new, msg=msg),
            calls,
            withheld,
        )

    def _op_message_new(self) -> _Plan | None:
        return self._to_recent("added", "message_new")

    def _op_message_looked_up(self) -> _Plan | None:
        return self._to_recent("lookup", "message_looked_up")

    def _to_recent(self, what: str, op: str) -> _Plan | None:
        """A message to the user an earlier turn added or looked up ("the new contact", "that user")."""
        noted = self._recall(what, previous_only=True)
        if noted is None or self.ids[noted[0]][0] == (self.api.current_user or self.me):
            return None
        name = noted[0]
        user_id, level = self.ids[name]
        text = self._message()
        msg = quote(self.rng, text)
        who = "the new contact" if what == "added" else "that user"
        withheld = self._withhold("send", (text,), who=who, msg=msg)
        calls = [(Call("send_message", {"receiver_id": user_id, "message": text}), level + 1)]
        return _Plan(op, say(self.rng, op, msg=msg), calls, withheld)

    def _op_view_sent(self) -> _Plan | None:
        call = self._fresh("view_messages_sent")
        return call and _Plan("view_sent", say(self.rng, "view_sent"), [(call, 0)])

    def _op_stats(self) -> _Plan | None:
        call = self._fresh("get_message_stats")
        return call and _Plan("stats", say(self.rng, "stats"), [(call, 0)])

    def _op_search(self) -> _Plan | None:
        keyword = self._keyword()
        call = keyword and self._fresh("search_messages", keyword=keyword)
        if not call:
            return None
        kw = quote(self.rng, keyword)
        return _Plan(
            "search", say(self.rng, "search", kw=kw), [(call, 0)], self._withhold("search", (keyword,), kw=kw)
        )

    def _op_delete_name(self) -> _Plan | None:
        name = self._someone()
        if name is None or self._latest_to(self.api.user_map[name]) is None:
            return None
        lookup, user_id, level = self._resolve(name)
        calls = [*lookup, (Call("delete_message", {"receiver_id": user_id}), level + 1)]
        withheld = self._withhold("delete_name", (name, user_id), name=name)
        return _Plan("delete_name", say(self.rng, "delete_name", name=name), calls, withheld)

    def _topic(self) -> tuple[str, str, str, Call | None] | None:
        """A keyword that picks one message: (keyword, its text, its receiver, the search to run or None)."""
        keyword = self._keyword()
        if keyword is None or len(self._about(keyword)) != 1:
            return None
        text = self._about(keyword)[0]
        receiver = next(
            key for entry in self.api.inbox for key, value in list(entry.items())[:1] if value == text
        )
        return keyword, text, receiver, self._fresh("search_messages", keyword=keyword)

    def _op_delete_topic(self) -> _Plan | None:
        topic = self._topic()
        if topic is None or topic[3] is None or self._latest_to(topic[2]) != topic[1]:
            return None
        keyword, text, receiver, search = topic
        calls = [(search, 0), (Call("delete_message", {"receiver_id": receiver}), 1)]
        kw = quote(self.rng, keyword)
        withheld = self._withhold("delete_topic", (keyword, receiver), kw=kw)
        plan = _Plan("delete_topic", say(self.rng, "delete_topic", kw=kw), calls, withheld)
        plan.references = [_about_reference(keyword, text)]
        return plan

    def _op_delete_searched(self) -> _Plan | None:
        noted = self._recall("search", previous_only=True)
        if noted is None or noted[0] is None:
            return None
        receiver, text, level = noted
        if self._latest_to(receiver) != text or len(self._about(text)) != 1:
            return None
        calls = [(Call("delete_message", {"receiver_id": receiver}), level + 1)]
        return _Plan("delete_searched", say(self.rng, "delete_searched"), calls)

    def _op_forward_topic(self) -> _Plan | None:
        topic = self._topic()
        if topic is None or topic[3] is None:
            return None
        keyword, text, receiver, search = topic
        target = self._someone()
        if target is None or self.api.user_map[target] == receiver:
            return None
        lookup, user_id, level = self._resolve(target)
        calls = [
            (search, 0),
            *lookup,
            (Call("send_message", {"receiver_id": user_id, "message": text}), max(level + 1, 1)),
        ]
        kw = quote(self.rng, keyword)
        withheld = self._withhold("forward_topic", (keyword, text), kw=kw, name=target)
        plan = _Plan("forward_topic", say(self.rng, "forward_topic", kw=kw, name=target), calls, withheld)
        plan.references = [_about_reference(keyword, text)]
        return plan

    def _last_sent(self) -> tuple[str, str, int] | None:
        noted = self._recall("sent", previous_only=False)
        if noted is None or self._latest_to(noted[0]) != noted[1]:
            return None
        return noted[0], noted[1], noted[2]

    def _op_retract_last(self) -> _Plan | None:
        sent = self._last_sent()
        if sent is None:
            return None
        calls = [(Call("delete_message", {"receiver_id": sent[0]}), sent[2])]
        return _Plan("retract_last", say(self.rng, "retract_last"), calls)

    def _op_correct_last(self) -> _Plan | None:
        sent = self._last_sent()
        if sent is None:
            return None
        receiver, _, level = sent
        text = self._message()
        msg = quote(self.rng, text)
        calls = [
            (Call("delete_message", {"receiver_id": receiver}), level),
            (Call("send_message", {"receiver_id": receiver, "message": text}), level),
        ]
        withheld = self._withhold("correct_last", (text,), msg=msg)
        return _Plan("correct_last", say(self.rng, "correct_last", msg=msg), calls, withheld)

    def _op_same_to_other(self) -> _Plan | None:
        noted = self._recall("sent", previous_only=False)
        if noted is None:
            return None
        receiver, text, _ = noted
        target = self._someone()
        if target is None or self.api.user_map[target] == receiver:
            return None
        plan = self._send(target, text, "send_name")
        assert plan is not None
        plan.op, plan.withheld = "same_to_other", None
        plan.text = say(self.rng, "same_to_other", name=target)
        return plan

    def _op_broadcast(self) -> _Plan | None:
        first = self._someone()
        second = first and self._someone(avoid=(first,))
        if not first or not second:
            return None
        text = self._message()
        one, two = self._send(first, text, "send_name"), self._send(second, text, "send_name")
        assert one is not None and two is not None
        msg = quote(self.rng, text)
        withheld = self._withhold("send", (text,), who=f"{first} and {second}", msg=msg)
        return _Plan(
            "broadcast",
            say(self.rng, "broadcast", name=first, other=second, msg=msg),
            one.calls + two.calls,
            withheld,
        )


def _about_reference(keyword: str, text: str) -> Reference:
    needle = keyword.lower()
    return Reference("message", f"the message about {keyword}", text, lambda t: needle in t.lower())


def _observable(api: MessageAPI) -> list[str]:
    """What the read tools that need no argument show: the user list and login status, and, when logged in,
    the sent messages and the stats."""
    reads: list[Callable[[], Any]] = [api.list_users, api.message_get_login_status]
    if api.current_user:
        reads += [api.view_messages_sent, api.get_message_stats]
    return [serialize_result(read()) for read in reads]


class MessagingGenerator(Generator):
    """Tasks over BFCL's MessageAPI: users, logins, sending, searching and deleting messages."""

    name = "messaging"
    domains = (DOMAIN,)

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        workspace = draw_workspace(rng, knobs)
        start = MessageAPI.from_scenario(workspace.config[DOMAIN])
        drafting = _Drafting(rng, knobs, workspace, _observable(start))
        drawn = [drafting.draw_turn() for _ in range(turns)]
        return Draft(
            domains=[DOMAIN],
            initial_config=workspace.config,
            turns=drawn,
            depth=drafting.depth,
            state_size=workspace.size,
            distractors=workspace.distractors,
        )

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        """``user``: every user name; ``message``: every inbox text."""
        api = domains[DOMAIN]
        assert isinstance(api, MessageAPI)
        if kind == "user":
            return list(api.user_map)
        if kind == "message":
            return [text for entry in api.inbox for text in list(entry.values())[:1] if isinstance(text, str)]
        return []

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        api = domains[DOMAIN]
        assert isinstance(api, MessageAPI)
        return _observable(api)


register_generator(MessagingGenerator)
