"""What a domain generator draws: a task before its category is applied and before the quality gates run.

A generator writes a :class:`Draft`: the initial state, then per user turn the request text and the ground-truth
calls that fulfil it, with what the gates and the category transforms need to know about the turn (how it reads
with a value withheld, which phrases pick an entity by description). The calls are plain data: names and keyword
arguments, rendered to BFCL's python-call syntax only when the task is built.

Example:
    >>> turn = Turn("Make a folder called 'notes'.", [Call("mkdir", {"dir_name": "notes"})])
    >>> turn.calls[0].source()
    "mkdir(dir_name='notes')"
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envtune_gym.actions import ToolCall, format_call


@dataclass(frozen=True)
class Call:
    """One ground-truth call: the tool and its keyword arguments (literals only)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def source(self) -> str:
        """The call in BFCL's python-call syntax, as a task's ``ground_truth`` holds it."""
        return format_call(ToolCall(self.name, (), dict(self.arguments)))


@dataclass(frozen=True)
class Withheld:
    """A turn as it reads with one needed value left out (miss_param), and the user's follow-up that gives it.

    Example:
        >>> Withheld(vague="Make a new folder for me.", supply="Call it 'notes'.").supply
        "Call it 'notes'."
    """

    vague: str
    supply: str


@dataclass(frozen=True)
class Reference:
    """A phrase that picks one entity by description ("the report"), not by its name.

    The unambiguity gate lists the entities of ``kind`` at the start of the turn (the generator's
    :meth:`~envtune_gym.synth.generator.Generator.entities`) and requires that ``matches`` accepts exactly one,
    ``chosen``: a long-context padding file called ``report_7.txt`` would make "the report" ambiguous.
    """

    kind: str
    phrase: str
    chosen: str
    matches: Callable[[str], bool]


@dataclass
class Turn:
    """One user turn: the request, the calls that fulfil it, and what the gates and categories need.

    Attributes:
        request: the user's message.
        calls: the ground truth, in order (later calls may use earlier results: read an id, then use it).
        withheld: how the request reads without one value it needs, for the miss_param category (``None``: the
            turn cannot be the under-specified one).
        references: the phrases in ``request`` that pick an entity by description.
    """

    request: str
    calls: list[Call]
    withheld: Withheld | None = None
    references: list[Reference] = field(default_factory=list)


@dataclass
class Draft:
    """A drawn task before its category: the involved domains, their initial state and the turns.

    Attributes:
        domains: BFCL class names, in order.
        initial_config: per domain, the scenario its ``load_scenario`` takes.
        turns: the user turns of the base task.
        depth: the longest chain of calls whose argument comes from an earlier call's result (0: none).
        state_size: how many entities the initial state holds (files, holdings, bookings, messages).
        distractors: how many of them are near misses of an entity a turn refers to.
    """

    domains: list[str]
    initial_config: dict[str, dict[str, Any]]
    turns: list[Turn]
    depth: int = 0
    state_size: int = 0
    distractors: int = 0
