"""The quality gates every synthesized task passes before it is handed out.

One replay of the ground truth through the env decides four gates; a task that fails one is redrawn:

1. executable: every ground-truth call runs without an error and every checked turn passes BFCL's check (the
   oracle's ProgressReward is 1.0);
2. necessary: with any single ground-truth call dropped, its turn fails the check (nothing in the ground truth is
   a no-op or already produced);
3. grounded: every argument value appears in the user's turns so far, in the initial state as the domains' read
   tools show it, or in an earlier call's result (nothing the agent could not know), and a miss_param turn really
   withholds a value its calls need;
4. unambiguous: every phrase that picks an entity by description ("the report") matches exactly one entity when
   its turn starts, padding and distractors included.

Distinctness (gate 5) is a property of a whole set; tests/synth checks it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth.categories import Shaped
from envtune_gym.synth.draft import Call, Draft
from envtune_gym.synth.generator import Generator
from envtune_gym.tasks.model import Task

#: What the replay says to end a turn (the oracle's words).
TURN_DONE = "Done."
GATES: tuple[str, ...] = ("executable", "necessary", "grounded", "unambiguous")
_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")  # 1,234.5 and 850 (not the comma after it)
_SEPARATOR = "\x00"  # between corpus pieces: no value contains it, so a match never spans two pieces


class GateFailure(Exception):
    """A task failed a gate: which one, and why (for the redraw statistics and debugging)."""

    def __init__(self, gate: str, reason: str) -> None:
        super().__init__(f"{gate}: {reason}")
        self.gate = gate
        self.reason = reason


class _Corpus:
    """What the agent can know at some point: texts (user turns, results, the readable state) and their numbers.

    It only grows during a replay; each text is scanned for numbers once, and the joined text that containment
    checks search is rebuilt only when something was added since the last check.
    """

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._numbers: set[float] = set()
        self._joined: str | None = ""

    def add_texts(self, texts: Sequence[str]) -> None:
        """Add texts an agent reads as they are (user turns, the state as read tools show it)."""
        for text in texts:
            self._pieces.append(text)
            self._numbers.update(_numbers_in(text))
        self._joined = None

    def add_result(self, result: str) -> None:
        """Add a call's result: the raw string, and when it is JSON every string and number inside it."""
        try:
            value = json.loads(result)
        except ValueError:
            self.add_texts([result])
            return
        self._pieces.append(result)
        strings = []
        for leaf in _leaves(value):
            if isinstance(leaf, str):
                strings.append(leaf)
            elif isinstance(leaf, int | float) and not isinstance(leaf, bool):
                self._numbers.add(float(leaf))
        self.add_texts(strings)

    def copy(self) -> _Corpus:
        """An independent copy (to ask what was known before a later text)."""
        copied = _Corpus()
        copied._pieces, copied._numbers, copied._joined = list(self._pieces), set(self._numbers), self._joined
        return copied

    def knows(self, value: Any) -> bool:
        """Whether every leaf of ``value`` (a literal, or lists and dicts of them) appears here."""
        return all(self._knows_leaf(leaf) for leaf in _leaves(value))

    def _knows_leaf(self, leaf: Any) -> bool:
        if leaf is None or isinstance(leaf, bool) or leaf == "":
            return True  # flags and empties are choices the request states, not values to copy
        if isinstance(leaf, int | float):
            return float(leaf) in self._numbers
        if self._joined is None:
            self._joined = _SEPARATOR.join(self._pieces)
        return str(leaf) in self._joined


def check_task(task: Task, draft: Draft, shaped: Shaped, generator: Generator, env: ToolUseEnv) -> None:
    """Replay ``task``'s ground truth in ``env`` and raise :class:`GateFailure` at the first gate it fails."""
    env.reset(options={"task": task})
    corpus = _Corpus()
    corpus.add_texts(generator.observable(env.domains))
    starts: list[tuple[int, Any]] = []  # (turn, snapshot at its start) of every checked turn
    for turn, calls in enumerate(task.ground_truth):
        before = corpus.copy() if shaped.vague_turn is not None and turn == shaped.vague_turn + 1 else None
        corpus.add_texts([task.turns[turn]])
        origin = shaped.origin[turn]
        if not calls or origin is None:
            _end_turn(env, turn, checked=False)
            continue
        drawn = draft.turns[origin]
        _check_references(drawn.references, generator, env, turn)
        if before is not None:
            _check_withheld(drawn.calls, before, turn)
        if len(calls) > 1:  # a one-call turn is necessary by BFCL's rule: a checked turn with no call fails
            starts.append((turn, env.snapshot()))
        _run_calls(env, drawn.calls, calls, corpus, turn)
        _end_turn(env, turn, checked=True)
    for turn, start in starts:
        _check_necessary(env, start, task.ground_truth[turn], turn)


def _run_calls(
    env: ToolUseEnv, drawn: Sequence[Call], sources: Sequence[str], corpus: _Corpus, turn: int
) -> None:
    """Run the turn's calls in one step; each call's values must be known from what came before it."""
    _, _, _, _, info = env.step("[" + ", ".join(sources) + "]")
    if len(info["calls"]) != len(sources):
        raise GateFailure("executable", f"turn {turn}: {len(sources)} calls sent, {len(info['calls'])} ran")
    for call, record in zip(drawn, info["calls"], strict=True):
        unknown = [leaf for leaf in _leaves(list(call.arguments.values())) if not corpus.knows(leaf)]
        if unknown:
            raise GateFailure(
                "grounded", f"turn {turn}: {call.source()} uses {unknown!r}, which nothing shows"
            )
        if record["error"] is not None:
            raise GateFailure("executable", f"turn {turn}: {record['name']} failed: {record['result'][:200]}")
        corpus.add_result(record["result"])


def _end_turn(env: ToolUseEnv, turn: int, checked: bool) -> None:
    _, _, _, _, info = env.step(TURN_DONE)
    result = info.get("turn_result")
    if checked and (result is None or not result["passed"]):
        why = None if result is None else result["error_type"]
        raise GateFailure("executable", f"turn {turn}: the ground truth fails the check ({why})")


def _check_necessary(env: ToolUseEnv, start: Any, sources: Sequence[str], turn: int) -> None:
    for dropped in range(len(sources)):
        env.restore(start)
        kept = [source for index, source in enumerate(sources) if index != dropped]
        if kept:
            env.step("[" + ", ".join(kept) + "]")
        _, _, _, _, info = env.step(TURN_DONE)
        if info["turn_result"]["passed"]:
            raise GateFailure("necessary", f"turn {turn} passes without {sources[dropped]}")


def _check_references(references: Sequence[Any], generator: Generator, env: ToolUseEnv, turn: int) -> None:
    for reference in references:
        matching = [
            name for name in generator.entities(reference.kind, env.domains) if reference.matches(name)
        ]
        if matching != [reference.chosen]:
            raise GateFailure(
                "unambiguous",
                f"turn {turn}: {reference.phrase!r} matches {matching[:5]!r}, not just {reference.chosen!r}",
            )


def _check_withheld(drawn: Sequence[Call], before: _Corpus, turn: int) -> None:
    """Turn ``turn - 1`` asked without a value; ``before`` is what was known before turn ``turn`` supplied it."""
    if all(before.knows(list(call.arguments.values())) for call in drawn):
        raise GateFailure("grounded", f"turn {turn - 1} withholds nothing: every value was already given")


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _numbers_in(text: str) -> set[float]:
    return {float(match.replace(",", "")) for match in _NUMBER.findall(text)}
