"""Multi-domain generators in BFCL's style: a first-class domain's turns with turns on a second domain mixed in.

BFCL's tasks mostly pair two classes (135 of its 200 scenarios). These generators draw the first-class domain's
turns with its own generator and add turns on a second domain, in order, at random positions:

- ``filesystem_posting``: file-system turns, and posts on the user's feed (TwitterAPI): a file's text posted
  (``cat`` then ``post_tweet`` with the text the file holds), a post with a tag and a mention, a comment on a
  followed user's latest tweet (its id read from ``get_user_tweets``), following someone new;
- ``trading_messaging``: trading turns and messaging turns, each from its own generator, interleaved;
- ``travel_ticket``: travel turns, and support tickets (TicketAPI): a new ticket, closing, resolving or
  re-prioritising an existing one.

The domains' states are independent, so each domain's turns keep their order and stay valid when interleaved; a
turn that reads the first domain's starting state (posting a file's text) comes first.
References are namespaced by the generator that made them (``filesystem:file``), so each generator keeps
answering for its own entities.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, ClassVar

from envtune_gym.domains.base import Domain
from envtune_gym.synth.draft import Call, Draft, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs, get_generator, register_generator
from envtune_gym.synth.phrasing import LAST_NAMES, SENTENCES, TOPICS, phrase, pick, quoted, sample

_SEPARATOR = ":"
#: Draws of a second-domain request that must fit in one turn beside the first domain's.
_SECONDARY_TRIES = 8


class _Combined(Generator):
    """A primary generator's turns, with ``secondary`` turns (at least one) mixed in at random positions."""

    primary: ClassVar[str] = ""

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        if turns == 1:
            return self._one_turn(rng, knobs)
        extra = 1 if turns < 3 else rng.randint(1, turns // 2)
        first = _namespaced(get_generator(self.primary).draft(rng, knobs, turns - extra), self.primary)
        second = self.secondary(rng, knobs, extra, first)
        leading = [turn for turn in second.turns if self.leads(turn)]
        mixed = [turn for turn in second.turns if not self.leads(turn)]
        return _merged(self, first, second, leading + _interleave(rng, first.turns, mixed))

    def _one_turn(self, rng: random.Random, knobs: Knobs) -> Draft:
        """One turn that asks for work on both domains, within the calls a turn may hold."""
        lighter = replace(knobs, max_calls_per_turn=max(1, knobs.max_calls_per_turn - 1))
        first = _namespaced(get_generator(self.primary).draft(rng, lighter, 1), self.primary)
        room = knobs.max_calls_per_turn - len(first.turns[0].calls)
        for _ in range(_SECONDARY_TRIES):
            second = self.secondary(rng, knobs, 1, first)
            if len(second.turns[0].calls) <= room:
                leads = self.leads(second.turns[0])
                order = [second.turns[0], first.turns[0]] if leads else [first.turns[0], second.turns[0]]
                return _merged(self, first, second, [_joined(rng, order)])
        return _merged(self, first, second, first.turns)  # no second-domain request fits: the first's alone

    def secondary(self, rng: random.Random, knobs: Knobs, turns: int, base: Draft) -> Draft:
        """The second domain's turns (its ``initial_config`` holds only that domain)."""
        raise NotImplementedError

    def leads(self, turn: Turn) -> bool:
        """Whether a secondary turn reads the primary domain's initial state, so it must come first."""
        return False

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        owner, _, own_kind = kind.partition(_SEPARATOR)
        return get_generator(owner).entities(own_kind, domains)

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        return [*get_generator(self.primary).observable(domains), *super().observable(_others(self, domains))]


def _merged(generator: _Combined, first: Draft, second: Draft, turns: list[Turn]) -> Draft:
    return Draft(
        domains=list(generator.domains),
        initial_config={**first.initial_config, **second.initial_config},
        turns=turns,
        depth=max(first.depth, second.depth),
        state_size=first.state_size + second.state_size,
        distractors=first.distractors + second.distractors,
    )


def _others(generator: _Combined, domains: Mapping[str, Domain]) -> dict[str, Domain]:
    primary = set(get_generator(generator.primary).domains)
    return {name: domain for name, domain in domains.items() if name not in primary}


def _namespaced(draft: Draft, owner: str) -> Draft:
    def rename(turn: Turn) -> Turn:
        references = [replace(ref, kind=f"{owner}{_SEPARATOR}{ref.kind}") for ref in turn.references]
        return replace(turn, references=references)

    return replace(draft, turns=[rename(turn) for turn in draft.turns])


def _joined(rng: random.Random, turns: list[Turn]) -> Turn:
    """Several requests asked in one turn, their calls in order; withheld as its first part with a vague form."""
    link = pick(rng, (" Also: ", " After that: ", " One more thing: "))
    request = link.join(turn.request for turn in turns)
    calls = [call for turn in turns for call in turn.calls]
    vague = next((index for index, turn in enumerate(turns) if turn.withheld is not None), None)
    withheld = None
    if vague is not None:
        parts = [turn.withheld.vague if index == vague else turn.request for index, turn in enumerate(turns)]
        withheld = Withheld(link.join(parts), turns[vague].withheld.supply)  # type: ignore[union-attr]
    references = [ref for turn in turns for ref in turn.references]
    return Turn(request, calls, withheld=withheld, references=references)


def _interleave(rng: random.Random, first: list[Turn], second: list[Turn]) -> list[Turn]:
    """Both lists' turns, each list in its own order, merged at random positions."""
    slots = sorted(rng.sample(range(len(first) + len(second)), len(second)))
    merged, rest, extra = [], iter(first), iter(second)
    for index in range(len(first) + len(second)):
        merged.append(next(extra) if slots and index == slots[0] else next(rest))
        if slots and index == slots[0]:
            slots.pop(0)
    return merged


# ----------------------------------------------------------------------------------------------------------------
# File system + posting


_HANDLES = tuple(f"{name.lower()}_{suffix}" for name in LAST_NAMES for suffix in ("dev", "writes", "io"))
_TAGS = ("#update", "#weekly", "#launch", "#team", "#notes", "#reading", "#travel", "#data")


@register_generator
class FileSystemPosting(_Combined):
    """File-system turns with turns that post, comment and follow on the user's feed."""

    name = "filesystem_posting"
    domains = ("GorillaFileSystem", "TwitterAPI")
    primary = "filesystem"

    def secondary(self, rng: random.Random, knobs: Knobs, turns: int, base: Draft) -> Draft:
        followed = sample(rng, _HANDLES, 3)
        tweets = {
            str(index): {
                "id": index,
                "username": user,
                "content": pick(rng, SENTENCES),
                "tags": [],
                "mentions": [],
            }
            for index, user in enumerate(followed + sample(rng, followed, 2))
        }
        state = {"handles": list(_HANDLES), "followed": list(followed), "tweets": tweets}
        files = _top_files(base)
        made = [self._turn(rng, state, files) for _ in range(turns)]
        config = {
            "username": pick(rng, _HANDLES), "password": f"pw{rng.randint(1000, 9999)}", "authenticated": True,
            "tweets": tweets, "comments": {}, "retweets": {}, "following_list": followed,
            "tweet_counter": len(tweets),
        }  # fmt: skip
        return Draft(["TwitterAPI"], {"TwitterAPI": config}, made, depth=1, state_size=len(tweets))

    def leads(self, turn: Turn) -> bool:
        # Posting a file's text reads the starting folder as drawn: before any file-system turn moves or edits.
        return turn.calls[0].name == "cat"

    def _turn(self, rng: random.Random, state: dict[str, Any], files: dict[str, str]) -> Turn:
        ops: list[Callable[[random.Random, dict[str, Any], dict[str, str]], Turn]] = [
            _tagged_post,
            _comment,
            _follow,
        ]
        if files:
            ops.append(_post_file)
        return pick(rng, ops)(rng, state, files)


def _top_files(draft: Draft) -> dict[str, str]:
    """The files of the working directory a task starts in (name -> text), from the file-system config."""
    root = draft.initial_config.get("GorillaFileSystem", {}).get("root", {})
    top = next(iter(root.values()), {}).get("contents", {})
    return {name: entry.get("content", "") for name, entry in top.items() if entry.get("type") == "file"}


def _post_file(rng: random.Random, state: dict[str, Any], files: dict[str, str]) -> Turn:
    name = pick(rng, sorted(files))
    text = files[name]
    request = phrase(
        rng,
        ["Post the text of {f} on my feed, word for word.", "Share what {f} says as a new post.",
         "Read {f} and tweet its contents exactly."],
        f=quoted(rng, name),
    )  # fmt: skip
    return Turn(request, [Call("cat", {"file_name": name}), Call("post_tweet", {"content": text})])


def _tagged_post(rng: random.Random, state: dict[str, Any], files: dict[str, str]) -> Turn:
    text, tag, user = pick(rng, SENTENCES), pick(rng, _TAGS), pick(rng, state["followed"])
    call = Call("post_tweet", {"content": text, "tags": [tag], "mentions": [f"@{user}"]})
    request = phrase(
        rng,
        ["Post {t} with the tag {g} and mention @{u}.", "Tweet {t}, tagged {g}, mentioning @{u}.",
         "Put up a post saying {t}; tag it {g} and mention @{u}."],
        t=quoted(rng, text), g=tag, u=user,
    )  # fmt: skip
    vague = phrase(
        rng,
        ["Post something for me, tagged {g} and mentioning @{u}.", "I want to tweet, with {g} and @{u}."],
        g=tag,
        u=user,
    )
    return Turn(request, [call], withheld=Withheld(vague, f"The post should say {quoted(rng, text)}."))


def _comment(rng: random.Random, state: dict[str, Any], files: dict[str, str]) -> Turn:
    user = pick(rng, state["followed"])
    ids = [tweet["id"] for tweet in state["tweets"].values() if tweet["username"] == user]
    if not ids:
        return _follow(rng, state, files)
    latest = max(ids)
    text = (
        f"{pick(rng, ('Great point', 'Agreed', 'Thanks for sharing', 'Good to know'))}, {user.split('_')[0]}!"
    )
    request = phrase(
        rng,
        ["Look up @{u}'s tweets and comment {c} on the newest one.", "Find the latest tweet by {u} and reply {c}.",
         "Comment {c} on the most recent post from @{u}."],
        u=user, c=quoted(rng, text),
    )  # fmt: skip
    calls = [
        Call("get_user_tweets", {"username": user}),
        Call("comment", {"tweet_id": latest, "comment_content": text}),
    ]
    return Turn(request, calls)


def _follow(rng: random.Random, state: dict[str, Any], files: dict[str, str]) -> Turn:
    user = pick(rng, [handle for handle in state["handles"] if handle not in state["followed"]])
    state["followed"].append(user)
    request = phrase(
        rng, ["Follow @{u} for me.", "Start following {u}.", "Add {u} to the people I follow."], u=user
    )
    return Turn(request, [Call("follow_user", {"username_to_follow": user})],
                withheld=Withheld("Follow someone new for me.", f"The account is @{user}."))  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# Trading + messaging


@register_generator
class TradingMessaging(_Combined):
    """Trading turns and messaging turns, each drawn by its own generator, interleaved."""

    name = "trading_messaging"
    domains = ("TradingBot", "MessageAPI")
    primary = "trading"

    def secondary(self, rng: random.Random, knobs: Knobs, turns: int, base: Draft) -> Draft:
        return _namespaced(get_generator("messaging").draft(rng, knobs, turns), "messaging")

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        return [
            *get_generator("trading").observable(domains),
            *get_generator("messaging").observable(domains),
        ]


# ----------------------------------------------------------------------------------------------------------------
# Travel + tickets


@register_generator
class TravelTicket(_Combined):
    """Travel turns with turns that open, close, resolve and re-prioritise support tickets."""

    name = "travel_ticket"
    domains = ("TravelAPI", "TicketAPI")
    primary = "travel"

    def secondary(self, rng: random.Random, knobs: Knobs, turns: int, base: Draft) -> Draft:
        user = pick(rng, LAST_NAMES).lower()
        queue = [
            {"id": index, "title": f"{topic.title()} issue", "description": pick(rng, SENTENCES), "status": "Open",
             "priority": rng.randint(1, 5), "created_by": user}
            for index, topic in enumerate(sample(rng, TOPICS, 3), start=1)
        ]  # fmt: skip
        state = {"open": [ticket["id"] for ticket in queue], "next": len(queue) + 1}
        made = [_ticket_turn(rng, state, queue) for _ in range(turns)]
        config = {"ticket_queue": queue, "ticket_counter": len(queue) + 1, "current_user": user}
        return Draft(["TicketAPI"], {"TicketAPI": config}, made, state_size=len(queue))


def _ticket_turn(rng: random.Random, state: dict[str, Any], queue: list[dict[str, Any]]) -> Turn:
    kind = pick(rng, ["create", "close", "resolve", "priority"] if state["open"] else ["create"])
    if kind == "create":
        title, text, priority = (
            f"{pick(rng, TOPICS).title()} request",
            pick(rng, SENTENCES),
            rng.randint(1, 5),
        )
        state["next"] += 1
        request = phrase(
            rng,
            ["Open a support ticket titled {t}, priority {p}, saying {d}", "File a ticket {t} with priority {p}: {d}",
             "Create a priority {p} ticket called {t}; the description is {d}"],
            t=quoted(rng, title), p=priority, d=quoted(rng, text),
        )  # fmt: skip
        call = Call("create_ticket", {"title": title, "description": text, "priority": priority})
        return Turn(request, [call], withheld=Withheld(
            f"Open a support ticket, priority {priority}, saying {quoted(rng, text)}.", f"Title it {quoted(rng, title)}."))  # fmt: skip
    ticket = pick(rng, state["open"])
    if kind == "close":
        state["open"].remove(ticket)
        request = phrase(
            rng,
            ["Close ticket {i}.", "Please close support ticket number {i}.", "Ticket {i} can be closed now."],
            i=ticket,
        )
        return Turn(request, [Call("close_ticket", {"ticket_id": ticket})])
    if kind == "resolve":
        state["open"].remove(ticket)
        note = pick(
            rng,
            (
                "Fixed after a restart.",
                "Refund issued.",
                "Duplicate of an older ticket.",
                "Booking corrected.",
            ),
        )
        request = phrase(
            rng,
            ["Mark ticket {i} resolved with the note {n}", "Resolve ticket {i}: {n}"],
            i=ticket,
            n=quoted(rng, note),
        )
        return Turn(request, [Call("resolve_ticket", {"ticket_id": ticket, "resolution": note})])
    current = next(item["priority"] for item in queue if item["id"] == ticket)
    priority = pick(rng, [value for value in range(1, 6) if value != current])
    request = phrase(
        rng,
        ["Change the priority of ticket {i} to {p}.", "Set ticket {i}'s priority to {p}."],
        i=ticket,
        p=priority,
    )
    return Turn(request, [Call("edit_ticket", {"ticket_id": ticket, "updates": {"priority": priority}})])


__all__ = ["FileSystemPosting", "TradingMessaging", "TravelTicket"]
