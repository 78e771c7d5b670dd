"""Vocabularies, templates and the initial workspace of the messaging generator (:mod:`.messaging_synth`).

Names are ASCII (results are JSON with ``ensure_ascii``, and the grounded gate looks values up literally) and
free of quote characters; inbox messages each carry one distinctive keyword that no other vocabulary message
contains, so "the message about the vault" picks one message unless a repeat or a sent message says it too.
Templates are ``str.format`` strings whose first word is never a placeholder (a second request in a turn is
joined with its first letter lowered).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, TypeVar

from envtune_gym.synth.generator import Knobs

T = TypeVar("T")
DOMAIN = "MessageAPI"

FIRST_NAMES: tuple[str, ...] = (
    "Amara", "Bilal", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Iker", "Jonas", "Keiko", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Yusuf",
    "Zara", "Aiko", "Bruno", "Celine", "Dmitri", "Esme", "Felix", "Greta", "Hugo", "Ingrid", "Jasper", "Kofi",
    "Lucia", "Milo", "Nia", "Oskar", "Paloma", "Rafael", "Sanne", "Tobias", "Ulla", "Viktor", "Willa",
    "Xavier", "Yara", "Zeno", "Anouk", "Beatriz", "Cyrus", "Dagny", "Elif", "Fintan", "Gael", "Heidi",
    "Idris", "Joelle",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Adeyemi", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Sato", "Tanaka",
    "Abernathy", "Brennan", "Cardoso", "Delgado", "Esposito", "Falk", "Gunawardena", "Holm", "Iqbal",
    "Jovanovic", "Kaur", "Lindqvist", "Mbeki", "Novak", "Oyelaran", "Pereira", "Ramaswamy", "Szabo", "Thorne",
    "Udeh", "Varga", "Whitfield", "Yilmaz", "Zielinski", "Achterberg", "Bianchi", "Cho", "Duarte", "Ekwueme",
    "Ferreira",
)  # fmt: skip
#: Near-miss first names: a user called ``Hannah Holm`` next to ``Hana Holm``.
TWINS: dict[str, str] = {
    "Hana": "Hannah", "Lena": "Lene", "Omar": "Omari", "Rosa": "Rosalie", "Sven": "Svenja", "Uma": "Umar",
    "Vera": "Veronika", "Zara": "Zarah", "Bruno": "Bruna", "Felix": "Felicia", "Hugo": "Hugh", "Milo": "Mila",
    "Nia": "Nina", "Oskar": "Oksana", "Yara": "Yarden", "Elif": "Elise", "Heidi": "Heidrun", "Keiko": "Keiji",
    "Chen": "Cheng", "Dalia": "Dahlia", "Jonas": "Jona", "Quinn": "Quincy", "Wen": "Wendy", "Esme":
    "Esmeralda",
}  # fmt: skip

#: Inbox messages as (keyword, text): the keyword occurs in its own text only (case-insensitively). Messages
#: of one theme (a tuple) are each other's near misses.
INBOX_THEMES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("vault", "The vault code changed this morning, ask me for it in person."),
     ("safe", "The safe in room 12 is stuck again.")),
    (("squash", "Are we still on for squash on Thursday?"),
     ("tennis", "Tennis court booking is confirmed for Saturday.")),
    (("wifi", "The guest wifi password is on the whiteboard."),
     ("router", "IT will replace the router on floor 3 tonight.")),
    (("badge", "Your new badge is ready for pickup at reception."),
     ("lanyard", "Lanyards for the visitors are in the top drawer.")),
    (("parking", "Your parking spot moved to level B2."),
     ("bike rack", "The bike rack by the entrance is full again.")),
    (("fridge", "Please label your food in the fridge before Friday."),
     ("microwave", "Someone left soup in the microwave.")),
    (("keynote", "The keynote slides need one more pass."),
     ("handout", "Printed handouts go out with the welcome packs.")),
    (("visa", "Your visa letter is signed and scanned."),
     ("passport", "Bring your passport for the site visit.")),
    (("plumber", "The plumber comes at 8 to fix the sink."),
     ("leak", "There is a small leak above the copier.")),
    (("raffle", "Raffle tickets are on sale until noon."),
     ("prize", "The grand prize is a weekend in the mountains.")),
    (("catering", "Catering needs the final headcount by Wednesday."),
     ("vegan", "Two guests asked for vegan meals.")),
    (("payroll", "Payroll runs a day early this month."),
     ("bonus", "Bonus letters go out next week.")),
    (("offsite", "See you at the offsite next week."),
     ("shuttle", "The shuttle leaves the lobby at 7:45.")),
    (("firmware", "The firmware update bricked two test units."),
     ("rollback", "We may need a rollback before the demo.")),
    (("dentist", "I have a dentist appointment, back after lunch."),
     ("doctor", "Out this afternoon for a doctor visit.")),
    (("laptop", "Your replacement laptop arrived at the front desk."),
     ("charger", "I borrowed your charger, it is on your chair.")),
    (("podcast", "The podcast episode with our CTO is live."),
     ("webinar", "Webinar registrations passed three hundred.")),
    (("contract", "The signed contract is in the shared drive."),
     ("clause", "Legal flagged the renewal clause again.")),
    (("birthday", "Cake in the kitchen for the team birthday at 3."),
     ("farewell", "The farewell card is at my desk, please sign it.")),
    (("warehouse", "The warehouse count is off by twelve pallets."),
     ("forklift", "The forklift is booked for the morning shift.")),
    (("hackathon", "Hackathon teams are due by Monday."),
     ("mentor", "We still need two mentors for the juniors.")),
    (("sublet", "Is your sublet still available in June?"),
     ("landlord", "The landlord wants the renewal signed by the end of the month.")),
)  # fmt: skip

#: New messages the user sends are one of these, with the fields below filled in.
MESSAGE_BODIES: tuple[str, ...] = (
    "The {topic} review moved to {day} at {time}.",
    "Please approve the {amount} {topic} expense.",
    "Can you send me the {topic} {doc} by {day}?",
    "Thanks for the {topic} {doc}, it looks great.",
    "Reminder: the {topic} sync is in room {room} on {day}.",
    "Lunch at {place} on {day}?",
    "I paid {amount} for the {topic} order, please reimburse.",
    "The {topic} {doc} is ready for your comments.",
    "Running late, start the {topic} call without me.",
    "Can we push the {topic} check-in to {time}?",
    "Heads up: the {topic} budget is capped at {amount}.",
    "Meet me at {place} at {time} to go over the {topic}.",
)
TOPICS: tuple[str, ...] = (
    "budget", "roadmap", "quarterly", "hiring", "launch", "audit", "pricing", "design", "migration",
    "onboarding", "newsletter", "supplier", "training", "retro", "security", "travel", "grant", "inventory",
)  # fmt: skip
DOCS: tuple[str, ...] = ("slides", "notes", "draft", "spreadsheet", "report", "checklist", "summary", "plan")
DAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
TIMES: tuple[str, ...] = ("9:30", "10am", "11:15", "noon", "1:45", "2pm", "3:30", "4pm", "5:15")
PLACES: tuple[str, ...] = ("the cafe downstairs", "Luigi's", "the rooftop", "the food court", "the atrium")
ROOMS: tuple[str, ...] = ("2A", "3C", "4B", "5F", "101", "214", "Orion", "Vega")
AMOUNTS: tuple[float, ...] = (45.0, 120.5, 389.99, 1250.0, 2400.0, 15800.0, 760.25, 99.0, 3120.0)

# ------------------------------------------------------------------------------------------------------------
# Request templates, by operation. Fields: {name} a full user name, {first} a first name, {uid} a user id,
# {msg} a quoted message, {kw} a quoted keyword, {new} a new contact's name, {other} a second full name.

TEMPLATES: dict[str, tuple[str, ...]] = {
    "list_users": (
        "Who is in this workspace? List all the users.",
        "Show me the names of everyone in the workspace.",
        "Can you pull up the full user list for the messenger?",
        "List every user I could message.",
    ),
    "lookup_id": (
        "What is {name}'s user ID?",
        "Look up the user ID of {name} for me.",
        "Find the messenger ID for {name}.",
        "Could you tell me which ID {name} has?",
    ),
    "login_id": (
        "Log me in to the messenger as {uid}.",
        "Please sign me in, my user ID is {uid}.",
        "Sign in to messaging with the ID {uid}.",
        "Use {uid} to log in to the messaging app.",
    ),
    "login_name": (
        "Log me in to the messenger as {name}.",
        "Sign in to messaging under {name}'s account.",
        "Switch the messenger to {name}'s account.",
    ),
    "login_status": (
        "Am I logged in to the messenger right now?",
        "Check whether my messaging session is active.",
        "Tell me if anyone is signed in to messaging at the moment.",
    ),
    "send_name": (
        "Send {name} the message {msg}.",
        "Message {name}: {msg}",
        "Please let {name} know {msg}.",
        "Drop {name} a note saying {msg}.",
    ),
    "send_id": (
        "Send the user {uid} this message: {msg}",
        "Message {uid} with {msg}.",
        "Shoot a message to ID {uid} saying {msg}.",
    ),
    "send_first": (
        "Send {first} the message {msg}.",
        "Text {first} from my team: {msg}",
        "Let {first} know {msg}, you'll find the full name in the user list.",
    ),
    "add_contact": (
        "Add {new} to the workspace as a new contact.",
        "Please create a contact for {new}.",
        "We have a new colleague, {new}. Add them to the messenger.",
        "Register {new} as a contact.",
    ),
    "add_and_message": (
        "Add {new} as a contact and send them {msg}.",
        "Create a contact for {new}, then message them: {msg}",
        "Our new colleague {new} just joined: add the contact and welcome them with {msg}.",
    ),
    "message_new": (
        "Now send the contact you just added the message {msg}.",
        "Message the new contact: {msg}",
        "Welcome our newest contact with {msg}.",
    ),
    "message_looked_up": (
        "Send that user the message {msg}.",
        "Now message them: {msg}",
        "Use that ID to send {msg}.",
    ),
    "view_sent": (
        "Show me all the messages I have sent.",
        "List my sent messages, grouped by who got them.",
        "Pull up everything in my sent messages.",
        "What have I sent so far? Show me the messages.",
    ),
    "stats": (
        "How many messages are there, and to how many people?",
        "Give me my messaging statistics.",
        "Show my message stats: the count and the number of contacts.",
    ),
    "search": (
        "Search my messages for {kw}.",
        "Find every message that mentions {kw}.",
        "Look through my messages for the word {kw}.",
        "Which messages say {kw}?",
    ),
    "delete_name": (
        "Delete my latest message to {name}.",
        "Remove the most recent message I sent {name}.",
        "Take back the last message that went to {name}.",
    ),
    "delete_topic": (
        "Delete the message about {kw}.",
        "Find the message that mentions {kw} and remove it.",
        "That message about {kw} should not have gone out. Delete it.",
    ),
    "delete_searched": (
        "Delete that message.",
        "Remove the message you just found.",
        "Get rid of the message from that search.",
    ),
    "forward_topic": (
        "Forward the message about {kw} to {name}, word for word.",
        "Send {name} the exact text of my message that mentions {kw}.",
        "Find the message about {kw} and pass the same text on to {name}.",
    ),
    "retract_last": (
        "Actually, delete the message you just sent.",
        "Please take back that last message.",
        "Undo that: remove the message you just sent.",
    ),
    "correct_last": (
        "That message was wrong. Delete it and send {msg} instead.",
        "Replace the message you just sent with {msg}.",
        "Oops, retract that last message and send {msg} to the same person.",
    ),
    "same_to_other": (
        "Send the same message to {name} too.",
        "Forward that exact message to {name} as well.",
        "Also give {name} that same message.",
    ),
    "broadcast": (
        "Send {msg} to both {name} and {other}.",
        "Message {name} and then {other}, each with {msg}.",
        "Let {name} and {other} know {msg}.",
    ),
}

#: How often each operation is drawn, where the workspace allows it.
OP_WEIGHTS: dict[str, float] = {
    "list_users": 0.6, "lookup_id": 1.0, "login_id": 0.6, "login_name": 0.4, "login_status": 0.4,
    "send_name": 2.5, "send_id": 1.0, "send_first": 1.2, "add_contact": 1.0, "add_and_message": 1.0,
    "message_new": 2.5, "message_looked_up": 1.5, "view_sent": 0.8, "stats": 0.8, "search": 1.0,
    "delete_name": 1.0, "delete_topic": 1.2, "delete_searched": 2.5, "forward_topic": 1.0,
    "retract_last": 1.0, "correct_last": 1.2, "same_to_other": 2.5, "broadcast": 0.8,
}  # fmt: skip
#: Operations that need someone logged in (a turn that starts logged out may log in first).
LOGGED_IN_OPS = frozenset({
    "send_name", "send_id", "send_first", "add_and_message", "message_new", "message_looked_up", "view_sent",
    "stats", "search", "delete_name", "delete_topic", "delete_searched", "forward_topic", "retract_last",
    "correct_last", "same_to_other", "broadcast",
})  # fmt: skip

#: The request with its value left out (miss_param), and the follow-up that supplies it, by operation.
VAGUE: dict[str, tuple[str, ...]] = {
    "send": (
        "Send {who} a message for me.",
        "I need to message {who}.",
        "Write to {who}, please.",
    ),
    "add_and_message": (
        "Add {new} as a contact and send them a welcome message.",
        "Create a contact for {new} and message them for me.",
    ),
    "add_contact": (
        "Add a new contact to the workspace.",
        "Please create a contact for someone new.",
        "Register a new colleague in the messenger.",
    ),
    "login_id": (
        "Log me in to the messenger.",
        "Please sign me in to messaging.",
        "I need to be logged in to the messaging app.",
    ),
    "correct_last": (
        "That message was wrong. Delete it and send a corrected one.",
        "Replace the message you just sent with a fixed version.",
    ),
    "search": ("Search my messages for a word.", "Find the messages that mention something for me."),
    "delete_topic": ("Delete one of my messages.", "There is a message I want removed."),
    "forward_topic": (
        "Forward one of my messages to {name}.",
        "Pass one of my messages on to {name}, word for word.",
    ),
    "delete_name": (
        "Delete my latest message to someone.",
        "Take back the last message I sent to a colleague.",
    ),
    "login_name": ("Switch the messenger to another account.", "Log me in under a colleague's account."),
}
SUPPLY: dict[str, tuple[str, ...]] = {
    "send": ("The message is {msg}.", "Say {msg}.", "Write {msg}.", "It should read {msg}."),
    "add_contact": ("Their name is {new}.", "The name is {new}.", "It is {new}."),
    "add_and_message": ("The message is {msg}.", "Say {msg}.", "Welcome them with {msg}."),
    "login_id": ("My user ID is {uid}.", "Use {uid}.", "I am {uid}."),
    "correct_last": ("The corrected text is {msg}.", "Send {msg} instead.", "It should say {msg}."),
    "search": ("The word is {kw}.", "Look for {kw}."),
    "delete_topic": ("The one about {kw}.", "It is the message that mentions {kw}."),
    "forward_topic": ("The one about {kw}.", "It is the message that mentions {kw}."),
    "delete_name": ("The one to {name}.", "It went to {name}."),
    "login_name": ("Use {name}'s account.", "The account of {name}."),
}
#: How a turn that must log in first starts (a login by id, given in the turn).
LOGIN_PREFIX: tuple[str, ...] = (
    "I'm {uid}, log me in first.",
    "Log in as {uid}.",
    "My user ID is {uid}; sign in with it.",
    "Sign in to messaging as {uid} first.",
)
#: How a second request in the same turn is joined to the first.
CONNECTORS: tuple[str, ...] = ("Then {}", "After that, {}", "Also, {}", "Once that's done, {}", "And {}")


# ------------------------------------------------------------------------------------------------------------
# The initial workspace


def pick(rng: random.Random, options: tuple[T, ...] | list[T]) -> T:
    """One of ``options``."""
    return options[rng.randrange(len(options))]


def say(rng: random.Random, key: str, **values: str) -> str:
    """A request of operation ``key`` from one of its templates."""
    return tidy(pick(rng, TEMPLATES[key]).format(**values))


def tidy(text: str) -> str:
    """No full stop after a quoted message that ends a sentence already (``'Lunch?'.`` -> ``'Lunch?'``)."""
    for mark in ".?!":
        text = text.replace(f"{mark}'.", f"{mark}'").replace(f'{mark}".', f'{mark}"')
    return text


def quote(rng: random.Random, text: str) -> str:
    """A message or keyword set apart as users do; double quotes where the text has an apostrophe."""
    return f'"{text}"' if "'" in text or rng.random() < 0.4 else f"'{text}'"


def lowered(text: str) -> str:
    """``text`` to follow a connector: first letter lowered unless it starts with "I" or an id."""
    return text if text.startswith(("I ", "I'", "USR")) else text[:1].lower() + text[1:]


def new_message(rng: random.Random, inbox: list[dict[str, Any]]) -> str:
    """A new message text, one ``inbox`` does not hold yet."""
    held = {text for entry in inbox for text in entry.values() if isinstance(text, str)}
    while True:
        amount = pick(rng, AMOUNTS)
        shown = f"${amount:,.0f}" if amount.is_integer() and rng.random() < 0.5 else f"${amount:,.2f}"
        text = pick(rng, MESSAGE_BODIES).format(
            topic=pick(rng, TOPICS), doc=pick(rng, DOCS), day=pick(rng, DAYS), time=pick(rng, TIMES),
            place=pick(rng, PLACES), room=pick(rng, ROOMS), amount=shown,
        )  # fmt: skip
        if text not in held:
            return text


def new_name(rng: random.Random, users: dict[str, str]) -> str:
    """A contact name no user has, with a first name no user has either (so first names stay unique)."""
    firsts = {name.split(" ", 1)[0] for name in users}
    fresh = [first for first in FIRST_NAMES if first not in firsts]
    first = pick(rng, fresh) if fresh else f"{pick(rng, FIRST_NAMES)}-{rng.randint(2, 99)}"
    return f"{first} {pick(rng, LAST_NAMES)}"


@dataclass
class Workspace:
    """The drawn initial state and which of its entities the turns should favour."""

    config: dict[str, Any]
    me: str
    focus_users: list[str]
    focus_keywords: list[str]
    size: int
    distractors: int


def _full_names(rng: random.Random, count: int, avoid_first: set[str]) -> list[str]:
    """``count`` distinct full names; first names distinct too while the vocabulary lasts."""
    firsts = [name for name in FIRST_NAMES if name not in avoid_first]
    rng.shuffle(firsts)
    names: list[str] = []
    while len(names) < count:
        first = firsts[len(names)] if len(names) < len(firsts) else pick(rng, FIRST_NAMES)
        name = f"{first} {pick(rng, LAST_NAMES)}"
        if name not in names:
            names.append(name)
    return names


def _near_miss(rng: random.Random, target: str, taken: set[str], avoid_first: set[str]) -> str | None:
    """A name close to ``target`` that neither its full name nor its first name matches."""
    first, last = target.split(" ", 1)
    twin = TWINS.get(first)
    pool = [name for name in FIRST_NAMES if name not in avoid_first and name != first]
    for candidate in ([twin] if twin else []) + rng.sample(pool, min(6, len(pool))):
        name = f"{candidate} {last}"
        if name not in taken and candidate not in avoid_first:
            return name
    return None


def draw_workspace(rng: random.Random, knobs: Knobs) -> Workspace:
    """Users and inbox sized by ``state_size`` (half users, at least two; half messages), with up to
    ``distractors`` near misses of the focus users and messages (fewer where the state is too small)."""
    n_users = max(2, (knobs.state_size + 1) // 2)
    n_messages = max(0, knobs.state_size - n_users)
    d_messages = min(knobs.distractors // 2, n_messages // 2)
    d_users = min(knobs.distractors - d_messages, max(0, n_users - 2))
    d_messages = min(knobs.distractors - d_users, n_messages // 2)
    plain = _full_names(rng, n_users - d_users, set())
    focus = plain[: max(1, min(3, len(plain) - 1))]
    firsts = {name.split(" ", 1)[0] for name in plain}
    users = list(plain)
    for index in range(d_users):
        twin = _near_miss(rng, focus[index % len(focus)], set(users), firsts)
        if twin is not None:
            users.append(twin)
            firsts.add(twin.split(" ", 1)[0])
    placed = len(users) - len(plain)
    rng.shuffle(users)
    ids = {name: f"USR{index + 1:03d}" for index, name in enumerate(users)}
    me = pick(rng, [name for name in plain if name not in focus])
    inbox, keywords, extra = _draw_inbox(rng, n_messages, d_messages, [ids[name] for name in focus],
                                         [ids[name] for name in users if name != me])  # fmt: skip
    state = {
        "user_count": len(users),
        "user_map": ids,
        "inbox": inbox,
        "message_count": len(inbox),
        "current_user": ids[me] if rng.random() < 0.55 else None,
    }
    return Workspace({DOMAIN: state}, me, focus, keywords, len(users) + len(inbox), placed + extra)


def _draw_inbox(
    rng: random.Random, count: int, near: int, focus_ids: list[str], others: list[str]
) -> tuple[list[dict[str, str]], list[str], int]:
    """The inbox: focus messages to focus users, each near miss (its theme's sibling) to the same person."""
    themes = list(INBOX_THEMES)
    rng.shuffle(themes)
    near = min(near, count // 2, len(themes))
    n_focus = max(near, min(2, count - near))
    entries: list[tuple[str, str]] = []
    keywords: list[str] = []
    for index in range(n_focus):
        (keyword, text), (_, sibling) = themes[index]
        receiver = focus_ids[index % len(focus_ids)]
        entries.append((receiver, text))
        keywords.append(keyword)
        if index < near:
            entries.append((receiver, sibling))
    # Past the vocabulary, messages repeat (their keywords then pick no single message, which the ops check).
    filler = [text for theme in themes[n_focus:] or themes for _, text in theme]
    while len(entries) < count:
        entries.append((pick(rng, others), filler[len(entries) % len(filler)]))
    rng.shuffle(entries)
    return [{receiver: text} for receiver, text in entries[:count]], keywords, near
