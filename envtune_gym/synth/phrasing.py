"""Shared vocabularies and phrasing helpers for generators: values written as users write them.

Generators keep their domain's own vocabularies; what several share (people, words for file contents, the ways
to quote a name or write an amount) lives here. Every helper draws from the ``random.Random`` it is given.

Example:
    >>> rng = random.Random(0)
    >>> money(rng, 1234.5) in ("$1,234.50", "1234.50 dollars", "USD 1,234.50", "$1234.50")
    True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

FIRST_NAMES: tuple[str, ...] = (
    "Amara", "Bilal", "Chen", "Dalia", "Emeka", "Farah", "Goran", "Hana", "Iker", "Jonas", "Keiko", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Vera", "Wen", "Yusuf", "Zara",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Adeyemi", "Bauer", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quintero", "Rossi", "Sato", "Tanaka",
)  # fmt: skip
TOPICS: tuple[str, ...] = (
    "budget", "roadmap", "invoice", "minutes", "survey", "inventory", "schedule", "proposal", "summary",
    "checklist", "contacts", "timeline", "feedback", "glossary", "backlog", "itinerary", "receipts", "notes",
)  # fmt: skip
SENTENCES: tuple[str, ...] = (
    "Revenue grew in the third quarter.", "Ship the beta by Friday.", "Call the supplier about late parts.",
    "The venue holds eighty guests.", "Renew the domain before it lapses.", "Draft the grant summary first.",
    "Backups run every night at two.", "Order more printer toner.", "The audit found no major issues.",
    "Review pull requests each morning.", "Book the van for the field trip.", "Update the onboarding guide.",
    "Interview slots are on Tuesday.", "Water the lab plants weekly.", "Send the minutes to the board.",
)  # fmt: skip


def pick(rng: random.Random, options: Sequence[T]) -> T:
    """One of ``options``."""
    return options[rng.randrange(len(options))]


def phrase(rng: random.Random, templates: Sequence[str], **values: object) -> str:
    """One of ``templates`` with ``values`` filled in (``str.format`` fields).

    Example:
        >>> phrase(random.Random(1), ["Open {name}.", "Show me {name}."], name="'a.txt'") in ("Open 'a.txt'.",
        ...                                                                                  "Show me 'a.txt'.")
        True
    """
    return pick(rng, templates).format(**values)


def quoted(rng: random.Random, text: str) -> str:
    """``text`` as a user might set a name apart: in single, double or back quotes, or bare if it has no space."""
    styles = ["'{}'", '"{}"', "`{}`"] + (["{}"] if " " not in text else [])
    return pick(rng, styles).format(text)


def money(rng: random.Random, amount: float) -> str:
    """An amount as users write it: ``$1,234.50``, ``1234.50 dollars``, ``USD 1,234.50`` or ``$1234.50``."""
    styles = (f"${amount:,.2f}", f"{amount:.2f} dollars", f"USD {amount:,.2f}", f"${amount:.2f}")
    return pick(rng, styles)


def person(rng: random.Random) -> str:
    """A first and last name."""
    return f"{pick(rng, FIRST_NAMES)} {pick(rng, LAST_NAMES)}"


def sample(rng: random.Random, options: Sequence[T], count: int) -> list[T]:
    """``count`` distinct items of ``options`` (all of them when it has fewer)."""
    return rng.sample(list(options), min(count, len(options)))
