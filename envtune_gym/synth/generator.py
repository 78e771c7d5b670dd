"""The generator interface, the difficulty knobs and the registry of generators by name.

A generator draws a :class:`~envtune_gym.synth.draft.Draft` from a ``random.Random`` it is handed: everything it
draws comes from that generator, so a task depends only on (seed, index). It also says how the state reads to an
agent (for the grounded gate) and which entities a descriptive phrase could pick (for the unambiguity gate).
Generators register themselves at the bottom of their module with :func:`register_generator`; the built-in ones
live next to their domains and are imported on first lookup.

Example:
    >>> Knobs(min_turns=2, max_turns=3).validate()
    >>> Knobs(max_turns=9).validate()
    Traceback (most recent call last):
    ...
    ValueError: max_turns must be an integer in 1..6, got 9
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from envtune_gym.domains.base import Domain
from envtune_gym.synth.draft import Draft

#: Modules of the built-in generators (each registers its generators when imported).
BUILTIN_MODULES: tuple[str, ...] = (
    "envtune_gym.domains.filesystem_synth",
    "envtune_gym.domains.trading_synth",
    "envtune_gym.domains.travel_synth",
    "envtune_gym.domains.messaging_synth",
    "envtune_gym.synth.combined",
)

_RANGES: dict[str, tuple[int, int]] = {
    "min_turns": (1, 6),
    "max_turns": (1, 6),
    "max_calls_per_turn": (1, 6),
    "max_depth": (0, 4),
    "state_size": (1, 200),
    "distractors": (0, 50),
}


@dataclass(frozen=True)
class Knobs:
    """How hard a synthesized set is. Each task records the values it was drawn with, and what it got.

    Attributes:
        min_turns: fewest user turns (miss_param and miss_func tasks count their extra turn).
        max_turns: most user turns, at most 6.
        max_calls_per_turn: most ground-truth calls in one turn.
        max_depth: longest chain of calls that use an earlier call's result (read an id, then use it).
        state_size: entities in the initial state (files, holdings, bookings, messages), before padding.
        distractors: near misses of the entities the turns refer to (``report_draft.txt`` next to
            ``report.txt``); long_context tasks add the domain's long-context padding on top.
    """

    min_turns: int = 1
    max_turns: int = 4
    max_calls_per_turn: int = 3
    max_depth: int = 2
    state_size: int = 8
    distractors: int = 2

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first knob out of range."""
        for name, (low, high) in _RANGES.items():
            value = getattr(self, name)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{name} must be an integer in {low}..{high}, got {value!r}")
        if self.min_turns > self.max_turns:
            raise ValueError(f"min_turns ({self.min_turns}) must not exceed max_turns ({self.max_turns})")

    def to_dict(self) -> dict[str, int]:
        """The knobs by name."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Knobs:
        """Knobs from a mapping; unknown names are an error naming the known ones.

        Example:
            >>> Knobs.from_dict({"max_turns": 2}).max_turns
            2
        """
        unknown = sorted(set(values) - set(_RANGES))
        if unknown:
            raise ValueError(f"unknown knob(s) {', '.join(unknown)}; known: {', '.join(_RANGES)}")
        knobs = cls(**dict(values))
        knobs.validate()
        return knobs


class Generator(ABC):
    """Draws tasks over one domain or several (a multi-domain generator in BFCL's style).

    Subclasses set ``name`` (what ``envtune synth`` takes) and ``domains`` (BFCL class names) and implement
    :meth:`draft` and :meth:`entities`.
    """

    name: ClassVar[str] = ""
    domains: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        """A base task of exactly ``turns`` user turns, drawn from ``rng`` only."""

    @abstractmethod
    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        """The names of every entity of ``kind`` (as the generator's references use it) in the live domains."""

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        """The initial state as an agent can read it through the domains' read tools, as texts.

        The grounded gate accepts an argument value found here. The default is every domain's compared state
        as JSON, fine where the read tools show all of it; a domain with state no tool reveals overrides this.
        """
        return [json.dumps(domain.state(), default=str) for domain in domains.values()]


_GENERATORS: dict[str, type[Generator]] = {}
_builtins_loaded = False


def register_generator(generator: type[Generator]) -> type[Generator]:
    """Make a generator available by its name (``envtune synth NAME``); usable as a class decorator.

    Raises:
        ValueError: the name is empty or taken by another class.
    """
    if not generator.name or not generator.domains:
        raise ValueError(f"{generator.__name__} must set name and domains")
    known = _GENERATORS.get(generator.name)
    if known is not None and known is not generator:
        raise ValueError(f"a generator named {generator.name!r} is already registered ({known.__name__})")
    _GENERATORS[generator.name] = generator
    return generator


def unregister_generator(name: str) -> None:
    """Forget a generator (tests that register their own clean up with this)."""
    _GENERATORS.pop(name, None)


def generator_names() -> list[str]:
    """The registered generators' names, built-in ones first."""
    _load_builtins()
    return list(_GENERATORS)


def get_generator(name: str) -> Generator:
    """A new instance of the generator registered as ``name``.

    Example:
        >>> get_generator("nope")
        Traceback (most recent call last):
        ...
        ValueError: no task generator 'nope'; known: filesystem, trading, travel, messaging, ...
    """
    _load_builtins()
    if name not in _GENERATORS:
        known = ", ".join(_GENERATORS)
        raise ValueError(f"no task generator {name!r}; known: {known}")
    return _GENERATORS[name]()


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
