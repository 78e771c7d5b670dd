"""BFCL's four categories, applied to a drawn base task.

- base: the turns as drawn.
- miss_param: one turn is asked without a value its calls need; its ground truth is empty (the agent should
  ask), and the user's next turn supplies the value, with the original calls as its ground truth.
- miss_func: a tool the task needs is held out; the turn that first needs it has empty ground truth (the agent
  cannot do it yet), and the next turn, with an empty user message as in BFCL's data, reveals the tool and holds
  the original calls.
- long_context: the domains load with their long-context padding (BFCL's distracting state).

Each transform returns ``None`` when the draft cannot take the category (no turn with a withheld phrasing, no
tool first needed after the start), and the generator draws again.

Example:
    >>> from envtune_gym.synth.draft import Call, Draft, Turn, Withheld
    >>> draft = Draft(["GorillaFileSystem"], {}, [
    ...     Turn("Make 'a'.", [Call("mkdir", {"dir_name": "a"})], Withheld("Make a folder.", "Call it 'a'."))])
    >>> shaped = apply_category(draft, "miss_param", random.Random(0))
    >>> shaped.turns, shaped.ground_truth
    (['Make a folder.', "Call it 'a'."], [[], ["mkdir(dir_name='a')"]])
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from envtune_gym.synth.draft import Draft, Turn
from envtune_gym.tasks.model import Category


@dataclass
class Shaped:
    """A draft in its category: the task's turns, ground truth, held-out tools and long-context flag.

    ``origin[i]`` is the draft turn whose calls (and references) task turn ``i`` holds, or ``None`` for a turn
    with empty ground truth.
    """

    turns: list[str]
    ground_truth: list[list[str]]
    origin: list[int | None]
    held_out: dict[int, list[str]] = field(default_factory=dict)
    long_context: bool = False
    #: miss_param: the turn asked without a value (the next turn supplies it).
    vague_turn: int | None = None


def apply_category(draft: Draft, category: Category, rng: random.Random) -> Shaped | None:
    """The draft shaped as ``category``, or ``None`` when it cannot take that category."""
    if category == "miss_param":
        return _miss_param(draft, rng)
    if category == "miss_func":
        return _miss_func(draft, rng)
    return _as_drawn(draft.turns, long_context=category == "long_context")


def _as_drawn(turns: list[Turn], long_context: bool = False) -> Shaped:
    return Shaped(
        turns=[turn.request for turn in turns],
        ground_truth=[[call.source() for call in turn.calls] for turn in turns],
        origin=list(range(len(turns))),
        long_context=long_context,
    )


def _miss_param(draft: Draft, rng: random.Random) -> Shaped | None:
    candidates = [index for index, turn in enumerate(draft.turns) if turn.withheld is not None and turn.calls]
    if not candidates:
        return None
    chosen = rng.choice(candidates)
    withheld = draft.turns[chosen].withheld
    assert withheld is not None  # chosen among turns that have one
    shaped = _as_drawn(draft.turns)
    shaped.turns[chosen : chosen + 1] = [withheld.vague, withheld.supply]
    shaped.ground_truth.insert(chosen, [])
    shaped.origin.insert(chosen, None)
    shaped.vague_turn = chosen
    return shaped


def _miss_func(draft: Draft, rng: random.Random) -> Shaped | None:
    first_use: dict[str, int] = {}
    for index, turn in enumerate(draft.turns):
        for call in turn.calls:
            first_use.setdefault(call.name, index)
    # The held-out tool must not be needed before its reveal: hold out a tool the chosen turn is the first to use.
    candidates = sorted({(index, name) for name, index in first_use.items()})
    if not candidates:
        return None
    chosen, tool = rng.choice(candidates)
    shaped = _as_drawn(draft.turns)
    shaped.turns.insert(chosen + 1, "")
    shaped.ground_truth.insert(chosen, [])
    shaped.origin.insert(chosen, None)
    shaped.held_out = {chosen + 1: [tool]}
    return shaped
