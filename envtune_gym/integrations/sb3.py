"""Stable-Baselines3 integration: discrete actions over a catalogue of candidate calls, hashed text observations.

SB3 cannot act in text spaces. :class:`CatalogueActions` turns an EnvTune env's text actions into ``Discrete(n)``
and :class:`HashedObservations` its text observations into a float32 ``Box``; :func:`make_sb3_env` composes
them (with :class:`~envtune_gym.wrappers.ProgressReward` for a dense reward), so PPO, A2C or DQN run unchanged.
This module imports neither torch nor stable-baselines3: the wrappers need only gymnasium and numpy.

**The catalogue.** Index 0 is always *end turn* (the reply ``"Done."``, which ends the user turn). The other
entries are single tool calls, built generically from the tool schemas (``info["tools"]``) and the values
visible so far in the episode, never from the ground truth:

- *values*: from user messages, quoted spans (``'figures'``), name-like tokens (``notes.txt``, ``project_x``,
  ``IMG_001.raw``: a letter plus ``.``, ``_`` or a digit; dates), names of two or more capitalised words
  (``Mei Lin``), integers and decimals, and plain words that name something in the agent-side domain state (``logs`` when a ``logs`` directory exists; the state only confirms
  words the user wrote, it adds none); from call results (``info["calls"]``, parsed as JSON), every short
  whitespace-free string leaf (names in ``ls`` output, ids, symbols, paths and their components), quoted
  whitespace-free spans inside result strings, and numbers. The text observed most recently ranks first; within
  one text, order of appearance.
- *arguments*: per parameter, candidates of its JSON type: strings (interleaved with the quoted examples of the
  parameter's description, e.g. ``'..'`` for ``cd``), integers, numbers (as floats, as the schemas expect),
  ``True``/``False``, the schema's ``enum``, one-element arrays of item candidates. A value equal to the
  parameter's default is dropped; an optional parameter may also be omitted (ranked first). The string values of
  one call are distinct (``mv(a, a)`` is never useful).
- *combinations*: per tool, the ``per_tool_cap`` best combinations (best-first over the product of the
  per-parameter candidate lists, ranked by the worst then the summed rank of their values), then all tools
  merged by that rank. A tool with a required parameter that has no candidate (an ``object`` argument, say) is
  left out.
- *lifetime*: rebuilt at each reset and, with ``rebuild="turn"`` (default), at each new user turn, filling at
  most ``n - 1 - reserve`` entries; after each call step, combinations of newly seen values are appended (indices
  already given keep their call) until ``n`` entries. ``rebuild="episode"`` builds at reset only and grows after.
- *padding*: indices past the catalogue's end are a **no-op**: the env gets an unparseable call
  (``[catalogue_padding(``), so the step costs one step of the turn's budget, observes a ``format`` error and
  makes no call (BFCL's "at least one call per turn" is unaffected). ``padding="end_turn"`` maps them to end turn.
  :meth:`CatalogueActions.action_masks` marks the real entries (sb3-contrib's ``MaskablePPO`` reads it).

``oracle_catalogue=True`` pins the task's ground-truth calls (every turn's, in order) at indices ``1..g``. It
**leaks the ground truth into the action set**: a diagnostic upper bound for the learning machinery, not a fair
agent; ``info["catalogue"]["oracle_catalogue"]`` says so on every step.

Limits: one call per action (a turn needing k calls takes k steps, fine for BFCL's checker); values the episode
never showed cannot be called (a file the user describes without naming it); plain words are candidates only if
the state names them; long free text (``echo`` content) must be quoted in a message; ``object`` arguments and
arrays of more than one element are never generated; the catalogue's ranking is a heuristic and its indices mean
different calls in different tasks, so a policy must read the task from the observation.

**The observation** (:class:`HashedObservations`), float32 of shape ``(2 * dim + 5,)``: ``log1p`` counts of the
lower-cased ``\\w+`` tokens of the current turn's user message hashed (CRC-32, stable across processes) into
``dim`` buckets; the same for the last step's tool results (zeros at a turn's start); then ``turn / num_turns``,
``min(step_in_turn / max_steps_per_turn, 1)``, a call or the action failed on the last step, the last step
started a new turn, a call was made in this turn. The hashed values are clipped at 8.

**The reward** is the wrapped env's (:func:`make_sb3_env` adds ``ProgressReward``), and
:class:`ForceQuitTerminates` reports BFCL's force-quit (the env's truncation) as termination, so that SB3 does
not bootstrap a value for an episode that is over.

Example:
    >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=64, dim=64, category="base")
    >>> obs, info = env.reset(seed=0, options={"task_id": "filesystem_base_0"})
    >>> obs.shape, obs.dtype, env.action_space
    ((133,), dtype('float32'), Discrete(64))
    >>> catalogue = env.get_wrapper_attr("catalogue")
    >>> [entry.text for entry in catalogue[:3]]
    ['Done.', '[pwd()]', '[ls()]']
"""

from __future__ import annotations

import functools
import heapq
import json
import re
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from envtune_gym.actions import ToolCall, format_call, parse_python_calls
from envtune_gym.agents.oracle import TURN_DONE
from envtune_gym.domains import domain_class
from envtune_gym.envs.tool_env import REVEAL_MESSAGE
from envtune_gym.tasks import Task
from envtune_gym.tools import tool_specs
from envtune_gym.wrappers import ProgressReward

__all__ = [
    "NUM_SCALARS",
    "PADDING_ACTION",
    "CatalogueActions",
    "CatalogueEntry",
    "CoverageReport",
    "END_TURN",
    "EvalResult",
    "ForceQuitTerminates",
    "HashedObservations",
    "catalogue_coverage",
    "evaluate_success",
    "ground_truth_entries",
    "hash_text",
    "make_sb3_env",
    "message_values",
    "random_policy",
    "result_values",
    "state_strings",
]

#: The text a padding index sends (``padding="noop"``): an unparseable call, so a ``format`` error and no call.
PADDING_ACTION = "[catalogue_padding("
#: Scalar features after the two hashed blocks of :class:`HashedObservations`.
NUM_SCALARS = 5

_MAX_QUOTED = 120  # quoted spans longer than this are prose, not values
_MAX_LEAF = 64  # result strings longer than this (or with whitespace) are content, not names
_MAX_STATE_NODES = 50_000  # bound the state walk (long-context file systems are large)
_MAX_CLIP = 8.0
_QUOTED = re.compile(
    rf"""(?<![\w'"])'([^'\n]{{1,{_MAX_QUOTED}}})'(?![\w'])|(?<![\w'"])"([^"\n]{{1,{_MAX_QUOTED}}})"(?![\w"])"""
)
_WORD = re.compile(r"(?<![\w.\-/])[A-Za-z0-9][\w\-]*(?:\.[\w\-]+)*")
_NUMBER = re.compile(r"(?<![\w.:\-/,])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w|[:/]|[.,\-]\d)")
# Two or more capitalised words: "Mei Lin", "Quasar Ltd." (single ones and acronyms measured as more noise than help)
_PROPER = re.compile(r"\b[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)+\.?")
_TOKEN = re.compile(r"\w+")
_NO_RESULT = frozenset({"None", "null", ""})  # BFCL prints None for tools that return nothing: not a value
_OMIT = object()  # an optional parameter left out (its default applies)
_NO_DEFAULT = object()

Kind = Literal["end_turn", "call", "padding"]


@dataclass(frozen=True)
class CatalogueEntry:
    """One action of the catalogue: the text sent to the env and, for a call, its tool and named arguments.

    ``source`` is ``"generic"`` (built from schemas and visible values), ``"oracle"`` (a ground-truth call pinned
    by ``oracle_catalogue=True``) or ``""`` (end turn, padding).
    """

    kind: Kind
    text: str
    name: str = ""
    arguments: Mapping[str, Any] = field(
        default_factory=dict, hash=False
    )  # hash by text: arguments are dicts
    source: str = ""


#: Index 0 of every catalogue: a reply, which ends the user turn.
END_TURN = CatalogueEntry("end_turn", TURN_DONE)
_PADDING = CatalogueEntry("padding", PADDING_ACTION)


# ----------------------------------------------------------------------------------------------------------------
# Values seen in the episode


@dataclass
class _Values:
    """Candidate values of one observed text, in order of appearance."""

    strings: list[str] = field(default_factory=list)
    numbers: list[int | float] = field(default_factory=list)


def message_values(text: str, known: set[str] | frozenset[str]) -> _Values:
    """Candidate values of a user message: quoted spans, name-like tokens, proper names, numbers, ``known`` words.

    Example:
        >>> text = "Go into logs and copy 'a b' to notes.txt for Mei Lin in USD, 3 times, $2,500."
        >>> values = message_values(text, {"logs"})
        >>> values.strings, values.numbers
        (['logs', 'a b', 'notes.txt', 'Mei Lin'], [3, 2500])
    """
    found: list[tuple[int, str]] = []
    for match in _QUOTED.finditer(text):
        found.append((match.start(), match.group(1) if match.group(1) is not None else match.group(2)))
    for match in _WORD.finditer(text):
        word = match.group()
        if word in known or _name_like(word):
            found.append((match.start(), word))
    for match in _PROPER.finditer(text):
        name = match.group()  # a sentence's full stop may end it: offer the name without it first
        found.extend((match.start(), variant) for variant in _unique([name.rstrip("."), name]))
    numbers = [_number(match.group()) for match in _NUMBER.finditer(text)]
    return _Values(
        strings=_unique(value for _, value in sorted(found, key=lambda item: item[0])), numbers=numbers
    )


def result_values(result: str) -> _Values:
    """Candidate values of a call's result string: short whitespace-free string leaves, path parts, numbers.

    Example:
        >>> values = result_values('{"matches": ["podcasts/show_notes", "a b"], "size": 12, "ok": true}')
        >>> values.strings, values.numbers
        (['podcasts/show_notes', 'podcasts', 'show_notes'], [12])
    """
    if result in _NO_RESULT:
        return _Values()
    try:
        data = json.loads(result)
    except (ValueError, RecursionError):
        data = result
    values = _Values()
    for leaf in _leaves(data):
        if isinstance(leaf, bool) or leaf is None:
            continue
        if isinstance(leaf, (int, float)):
            values.numbers.append(leaf)
        elif isinstance(leaf, str):
            values.strings.extend(_string_leaf_values(leaf))
    values.strings = _unique(values.strings)
    return values


def _string_leaf_values(leaf: str) -> list[str]:
    out = []
    if _is_name(leaf):
        out.append(leaf)
        if "/" in leaf.strip("/"):
            out.extend(part for part in leaf.split("/") if part and part not in (".", ".."))
    for match in _QUOTED.finditer(leaf):
        quoted = match.group(1) if match.group(1) is not None else match.group(2)
        if _is_name(quoted):
            out.append(quoted)
    return out


def _leaves(data: Any) -> Iterator[Any]:
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
        else:
            yield item


def _is_name(text: str) -> bool:
    return 0 < len(text) <= _MAX_LEAF and not any(char.isspace() for char in text)


def _name_like(word: str) -> bool:
    """A token that looks like a file name, an id or a symbol (a letter plus a ``.``, ``_`` or digit), or a date
    (digits and ``-``)."""
    has_letter = any(char.isalpha() for char in word)
    has_digit = any(char.isdigit() for char in word)
    return (has_letter and (has_digit or "." in word or "_" in word)) or (has_digit and "-" in word)


def _number(text: str) -> int | float:
    text = text.replace(",", "")  # thousands separators: $2,500
    return float(text) if "." in text else int(text)


def _unique(values: Any) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for value in values:
        key = (type(value), value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


def state_strings(domains: Mapping[str, Any], max_nodes: int = _MAX_STATE_NODES) -> frozenset[str]:
    """Short whitespace-free strings in the domains' public state (names, ids), to confirm words of a message.

    Walks dicts, sequences and public object attributes (cycles and parent links are visited once).
    """
    found: set[str] = set()
    stack: list[Any] = [domain.state() for domain in domains.values() if hasattr(domain, "state")]
    seen: set[int] = set()
    while stack and len(seen) < max_nodes:
        item = stack.pop()
        if isinstance(item, str):
            if _is_name(item):
                found.add(item)
        elif not isinstance(item, (int, float, bool, type(None))) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(_children(item))
    return frozenset(found)


def _children(item: Any) -> list[Any]:
    if isinstance(item, Mapping):
        return [*item.keys(), *item.values()]
    if isinstance(item, (list, tuple, set, frozenset)):
        return list(item)
    if hasattr(item, "__dict__"):
        return [value for key, value in vars(item).items() if not key.startswith("_")]
    return []


class _Context:
    """The values observed in an episode, newest text first: the source of every generic catalogue entry."""

    def __init__(self) -> None:
        self._texts: list[_Values] = []  # oldest first
        self.seen_strings: set[str] = set()

    def add(self, values: _Values) -> None:
        self._texts.append(values)
        self.seen_strings.update(values.strings)

    def strings(self, limit: int) -> list[str]:
        return _unique(value for values in reversed(self._texts) for value in values.strings)[:limit]

    def numbers(self, limit: int) -> list[int | float]:
        return _unique(value for values in reversed(self._texts) for value in values.numbers)[:limit]


# ----------------------------------------------------------------------------------------------------------------
# Building calls from schemas


def _description_strings(schema: Mapping[str, Any]) -> list[str]:
    """Quoted examples in a parameter's description (``'..'``, ``'/'``): values the schema itself suggests."""
    found = (m.group(1) or m.group(2) for m in _QUOTED.finditer(str(schema.get("description", ""))))
    return _unique(value for value in found if value and _is_name(value))


def _types(schema: Mapping[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else [item for item in kind if item != "null"]


def _interleave(first: list[Any], second: list[Any]) -> list[Any]:
    out: list[Any] = []
    for index in range(max(len(first), len(second))):
        out.extend(part[index] for part in (first, second) if index < len(part))
    return _unique(out)


def _typed_candidates(schema: Mapping[str, Any], context: _Context, max_values: int) -> list[Any]:
    """Values of the parameter's JSON type, best first."""
    if "enum" in schema:
        return list(schema["enum"])
    values: list[Any] = []
    for kind in _types(schema):
        if kind == "boolean":
            values += [True, False]
        elif kind == "integer":
            values += [value for value in context.numbers(max_values) if isinstance(value, int)]
        elif kind == "number":
            values += _unique(float(value) for value in context.numbers(max_values))  # 3 and 3.0 are one
        elif kind == "string":
            values += _interleave(context.strings(max_values), _description_strings(schema))
        elif kind == "array":
            items = _typed_candidates(schema.get("items", {}), context, max_values)
            values += [[item] for item in items if not isinstance(item, list)]
    return values[:max_values]


def _param_options(
    schema: Mapping[str, Any], required: bool, context: _Context, max_values: int
) -> list[Any] | None:
    """The options of one parameter, best first (``_OMIT`` first when optional); ``None``: no option at all."""
    default = schema.get("default", _NO_DEFAULT)
    candidates = [
        value
        for value in _typed_candidates(schema, context, max_values)
        if not (type(value) is type(default) and value == default)
    ]
    if required:
        return candidates or None
    return [_OMIT, *candidates]


def _best_combinations(
    options: list[list[Any]], cap: int
) -> Iterator[tuple[tuple[int, int], tuple[Any, ...]]]:
    """Up to ``cap`` valid combinations (distinct strings) of one option per list, best first, with their rank.

    The rank of a combination is ``(max, sum)`` of its options' ranks: every combination of the top ``k`` values
    comes before any that needs a worse one (a two-file ``mv`` between the 4th and 5th names of a message is
    reached before the 1st name with the 9th). Best-first search over the product: the rank never decreases
    when one option gets worse, so popping the heap yields combinations in rank order.
    """
    start = (0,) * len(options)
    heap = [((0, 0), start)]
    visited = {start}
    produced = pops = 0
    while heap and produced < cap and pops < cap * 8:  # bounded even when most combinations are invalid
        rank, ranks = heapq.heappop(heap)
        pops += 1
        combo = tuple(option[index] for option, index in zip(options, ranks, strict=True))
        if _distinct_strings(combo):
            produced += 1
            yield rank, combo
        for position in range(len(options)):
            if ranks[position] + 1 < len(options[position]):
                neighbour = ranks[:position] + (ranks[position] + 1,) + ranks[position + 1 :]
                if neighbour not in visited:
                    visited.add(neighbour)
                    heapq.heappush(heap, ((max(neighbour), sum(neighbour)), neighbour))


def _distinct_strings(combo: tuple[Any, ...]) -> bool:
    strings = [value for value in combo if isinstance(value, str)]
    return len(strings) == len(set(strings))


def _tool_calls(
    schema: Mapping[str, Any], context: _Context, cap: int, max_values: int
) -> list[tuple[tuple[int, int], str, dict[str, Any]]]:
    """``(rank, name, arguments)`` of one tool's best calls (see :func:`_best_combinations` for the rank)."""
    function = schema.get("function", schema)
    parameters = function.get("parameters", {})
    properties: Mapping[str, Any] = parameters.get("properties", {})
    required = set(parameters.get("required", ()))
    names, options = list(properties), []
    for param in names:
        param_options = _param_options(properties[param], param in required, context, max_values)
        if param_options is None:
            return []
        options.append(param_options)
    calls = []
    for rank, combo in _best_combinations(options, cap):
        arguments = {param: value for param, value in zip(names, combo, strict=True) if value is not _OMIT}
        calls.append((rank, function["name"], arguments))
    return calls


def _build_calls(
    tools: Sequence[Mapping[str, Any]], context: _Context, *, per_tool_cap: int, max_values: int
) -> list[CatalogueEntry]:
    """Every tool's best calls given the context, merged by rank (ties: tool order, then order in the tool)."""
    ranked = []
    for tool_index, schema in enumerate(tools):
        for order, (rank, name, arguments) in enumerate(
            _tool_calls(schema, context, per_tool_cap, max_values)
        ):
            ranked.append(((rank, tool_index, order), _entry(name, arguments, "generic")))
    return [entry for _, entry in sorted(ranked, key=lambda item: item[0])]


def _entry(name: str, arguments: Mapping[str, Any], source: str) -> CatalogueEntry:
    text = "[" + format_call(ToolCall(name, (), dict(arguments))) + "]"
    return CatalogueEntry("call", text, name, dict(arguments), source)


# ----------------------------------------------------------------------------------------------------------------
# Ground-truth calls, for the oracle catalogue and the coverage measurement


def ground_truth_entries(task: Task, turns: Sequence[int] | None = None) -> list[CatalogueEntry]:
    """The task's ground-truth calls (of ``turns``, default all) as canonical catalogue entries, in order.

    Canonical: arguments named, in schema order, defaults dropped, ``number`` values as floats, so an entry
    compares equal (by ``text``) to the generic entry of the same call.

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> task = next(t for t in load_bundled("filesystem") if t.id == "filesystem_base_9")
        >>> [entry.text for entry in ground_truth_entries(task, turns=[0, 1])]
        ['[du()]', "[find(path='podcasts', name='notes')]"]
    """
    specs = {spec.name: spec for domain in task.domains for spec in tool_specs(domain_class(domain))}
    chosen = range(task.num_turns) if turns is None else turns
    entries = []
    for turn in chosen:
        for source in task.ground_truth[turn]:
            for call in parse_python_calls(source):
                entries.append(_canonical(call, specs, task.id))
    return entries


def _canonical(call: ToolCall, specs: Mapping[str, Any], task_id: str) -> CatalogueEntry:
    spec = specs.get(call.name)
    if spec is None:
        raise ValueError(f"task {task_id}: ground-truth tool {call.name!r} is not in the task's domains")
    if len(call.args) > len(spec.param_order):
        raise ValueError(
            f"task {task_id}: {call.name} takes {len(spec.param_order)} arguments, got {len(call.args)}"
        )
    bound = {**dict(zip(spec.param_order, call.args, strict=False)), **call.kwargs}
    properties = spec.parameters.get("properties", {})
    arguments = {}
    for param in properties:
        if param not in bound:
            continue
        value, schema = bound[param], properties[param]
        if "number" in _types(schema) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        default = schema.get("default", _NO_DEFAULT)
        if not (type(value) is type(default) and value == default):
            arguments[param] = value
    return _entry(call.name, arguments, "oracle")


# ----------------------------------------------------------------------------------------------------------------
# The wrappers


class CatalogueActions(gym.Wrapper[str, np.int64, str, str], gym.utils.RecordConstructorArgs):
    """``Discrete(max_actions)`` actions over a per-task catalogue of candidate calls (see the module docstring).

    Index 0 ends the user turn; indices ``1..`` are single tool calls built from the tool schemas and the values
    the episode has shown; indices past the catalogue are padding (a no-op ``format`` error by default).

    Args:
        env: an EnvTune env with text actions (``gym.make("EnvTune/...")``, possibly reward-wrapped).
        max_actions: ``n``, the size of the action space (the catalogue is padded to it).
        per_tool_cap: the most calls one tool contributes per build (and per growth step).
        max_values: the most candidate values per parameter (the newest values first).
        oracle_catalogue: pin the task's ground-truth calls at indices ``1..g``. It leaks the ground truth:
            a diagnostic upper bound, not a fair agent (``info["catalogue"]["oracle_catalogue"]`` says so).
        rebuild: ``"turn"`` rebuilds the generic entries at each new user turn; ``"episode"`` only at reset.
        reserve: the share of ``max_actions`` a (re)build leaves free for values seen later in the turn.
        padding: what padding indices do: ``"noop"`` (an unparseable call: a step of the turn's budget, a
            ``format`` error, no call) or ``"end_turn"``.

    ``info["catalogue"]``: ``index`` and ``action`` (the index taken and the text sent; -1 and "" on reset),
    ``kind`` (``end_turn``, ``call``, ``padding``), ``size`` (real entries now), ``max_actions`` and
    ``oracle_catalogue``.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = CatalogueActions(gym.make("EnvTune/FileSystem-v0"), max_actions=64)
        >>> obs, info = env.reset(options={"task_id": "filesystem_base_1"})
        >>> obs
        'My editor wants to know how long my notes are. How many words are in notes.txt?'
        >>> index = env.index_of("[wc(file_name='notes.txt', mode='w')]")
        >>> obs, reward, terminated, truncated, info = env.step(index)
        >>> obs
        '<tool_response>\\n{"count": 14, "type": "words"}\\n</tool_response>'
        >>> env.step(0)[4]["turn_result"]["passed"]
        True
    """

    def __init__(
        self,
        env: gym.Env[str, str],
        max_actions: int = 128,
        *,
        per_tool_cap: int = 12,
        max_values: int = 12,
        oracle_catalogue: bool = False,
        rebuild: Literal["turn", "episode"] = "turn",
        reserve: float = 0.25,
        padding: Literal["noop", "end_turn"] = "noop",
    ) -> None:
        _check_catalogue_args(max_actions, per_tool_cap, max_values, rebuild, reserve, padding)
        gym.utils.RecordConstructorArgs.__init__(
            self, max_actions=max_actions, per_tool_cap=per_tool_cap, max_values=max_values,
            oracle_catalogue=oracle_catalogue, rebuild=rebuild, reserve=reserve, padding=padding,
        )  # fmt: skip
        gym.Wrapper.__init__(self, env)
        self.max_actions = max_actions
        self.per_tool_cap = per_tool_cap
        self.max_values = max_values
        self.oracle_catalogue = oracle_catalogue
        self.rebuild = rebuild
        self.reserve = reserve
        self.padding = padding
        self.action_space = gym.spaces.Discrete(max_actions)
        self._entries: list[CatalogueEntry] = []
        self._texts: set[str] = set()
        self._pinned = 1
        self._tools: list[dict[str, Any]] = []
        self._context = _Context()

    @property
    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        """The real entries now (index ``i`` is ``catalogue[i]``; padding excluded)."""
        return tuple(self._entries)

    def entry(self, index: int) -> CatalogueEntry:
        """What index ``index`` does now: a catalogue entry, or the padding / end-turn action past its end."""
        index = self._index(index)
        if index < len(self._entries):
            return self._entries[index]
        return END_TURN if self.padding == "end_turn" else _PADDING

    def index_of(self, text: str) -> int | None:
        """The index of a call's canonical text (``"[ls(a=True)]"``) or ``"Done."``; ``None`` if absent."""
        return next((index for index, entry in enumerate(self._entries) if entry.text == text), None)

    def action_masks(self) -> np.ndarray:
        """``True`` for the real entries, ``False`` for padding (sb3-contrib's ``MaskablePPO`` reads this)."""
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(self._entries)] = True
        return mask

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        if "tools" not in info or not isinstance(observation, str):
            raise TypeError("CatalogueActions wraps an EnvTune env: text observations and info['tools']")
        self._context = _Context()
        self._tools = info["tools"]
        self._observe_message(observation)
        self._entries, self._texts = [END_TURN], {END_TURN.text}
        if self.oracle_catalogue:
            self._pin_ground_truth()
        self._pinned = len(self._entries)
        self._fill(self._build_limit())
        info["catalogue"] = self._info(-1, None)
        return observation, info

    def step(self, action: Any) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        index = self._index(action)
        entry = self.entry(index)
        observation, reward, terminated, truncated, info = self._step_text(entry.text)
        info["catalogue"] = self._info(index, entry)
        return observation, reward, terminated, truncated, info

    # --------------------------------------------------------------------------------------------------------

    def _step_text(self, text: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Send ``text`` to the env and update the catalogue from what it shows."""
        observation, reward, terminated, truncated, info = self.env.step(text)
        if not (terminated or truncated):
            self._update(observation, info)
        return observation, reward, terminated, truncated, info

    def _update(self, observation: str, info: Mapping[str, Any]) -> None:
        self._tools = info["tools"]
        if info["step_in_turn"] == 0:  # the step ended a turn: the observation is the next user message
            self._observe_message(observation)
            if self.rebuild == "turn":
                for entry in self._entries[self._pinned :]:
                    self._texts.discard(entry.text)
                del self._entries[self._pinned :]
                self._fill(self._build_limit())
                return
        else:
            for call in info["calls"]:
                self._context.add(result_values(call["result"]))
        self._fill(self.max_actions)

    def _observe_message(self, message: str) -> None:
        # A reveal message starts with the new tools' JSON schemas: their keys are not values of the task.
        message = message.split(REVEAL_MESSAGE, 1)[-1]
        domains = getattr(self.env.unwrapped, "domains", {})
        known = state_strings(domains) | self._context.seen_strings
        self._context.add(message_values(message, known))

    def _pin_ground_truth(self) -> None:
        task = getattr(self.env.unwrapped, "task", None)
        if not isinstance(task, Task):
            raise TypeError("oracle_catalogue=True needs env.unwrapped.task (an EnvTune env)")
        for entry in ground_truth_entries(task):
            if entry.text not in self._texts:
                self._entries.append(entry)
                self._texts.add(entry.text)
        if len(self._entries) > self.max_actions:
            raise ValueError(
                f"task {task.id} has {len(self._entries) - 1} distinct ground-truth calls, more than "
                f"max_actions - 1 = {self.max_actions - 1}: raise max_actions or drop the task"
            )

    def _build_limit(self) -> int:
        return max(self._pinned, self.max_actions - int(self.reserve * self.max_actions))

    def _fill(self, limit: int) -> None:
        if len(self._entries) >= limit:
            return
        calls = _build_calls(
            self._tools, self._context, per_tool_cap=self.per_tool_cap, max_values=self.max_values
        )
        for entry in calls:
            if len(self._entries) >= limit:
                break
            if entry.text not in self._texts:
                self._entries.append(entry)
                self._texts.add(entry.text)

    def _index(self, action: Any) -> int:
        value = np.asarray(action)
        if value.size != 1 or value.dtype.kind not in "iu":
            raise TypeError(f"a CatalogueActions action is one integer index, got {action!r}")
        index = int(value.reshape(()))
        if not 0 <= index < self.max_actions:
            raise ValueError(f"action index {index} is outside Discrete({self.max_actions})")
        return index

    def _info(self, index: int, entry: CatalogueEntry | None) -> dict[str, Any]:
        return {
            "index": index,
            "action": entry.text if entry else "",
            "kind": entry.kind if entry else "",
            "size": len(self._entries),
            "max_actions": self.max_actions,
            "oracle_catalogue": self.oracle_catalogue,
        }


def _check_catalogue_args(
    max_actions: int, per_tool_cap: int, max_values: int, rebuild: str, reserve: float, padding: str
) -> None:
    if max_actions < 2:
        raise ValueError(f"max_actions must be >= 2 (end turn and at least one call), got {max_actions}")
    if per_tool_cap < 1 or max_values < 1:
        raise ValueError(f"per_tool_cap and max_values must be >= 1, got {per_tool_cap} and {max_values}")
    if rebuild not in ("turn", "episode"):
        raise ValueError(f"rebuild must be 'turn' or 'episode', got {rebuild!r}")
    if not 0.0 <= reserve < 1.0:
        raise ValueError(f"reserve must be in [0, 1), got {reserve}")
    if padding not in ("noop", "end_turn"):
        raise ValueError(f"padding must be 'noop' or 'end_turn', got {padding!r}")


class HashedObservations(gym.Wrapper[np.ndarray, Any, str, Any], gym.utils.RecordConstructorArgs):
    """A float32 ``Box`` of shape ``(2 * dim + NUM_SCALARS,)`` encoding the text observations.

    Layout: ``[0, dim)`` hashed ``log1p`` token counts of the current turn's user message; ``[dim, 2 * dim)``
    the same for the last step's results (or error; zeros at a turn's start); then ``turn / num_turns``,
    ``min(step_in_turn / max_steps_per_turn, 1)``, *the last step had a failed call or a rejected action*,
    *the last step started a new turn*, *a call was made in this turn*. Tokens are the lower-cased ``\\w+``
    runs, hashed with CRC-32 (deterministic across processes, unlike ``hash``); counts are clipped at 8.

    Args:
        env: an env with text observations and EnvTune's ``info`` (``turn``, ``num_turns``, ``step_in_turn``,
            ``calls``), e.g. a :class:`CatalogueActions`.
        dim: hash buckets per text block.
        max_steps_per_turn: scales the step feature; default ``env.unwrapped.max_steps_per_turn`` (or 20).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = HashedObservations(gym.make("EnvTune/FileSystem-v0"), dim=32)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs.dtype, bool(obs[:32].any()), bool(obs[32:64].any())
        ((69,), dtype('float32'), True, False)
    """

    def __init__(
        self, env: gym.Env[str, Any], dim: int = 512, *, max_steps_per_turn: int | None = None
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        gym.utils.RecordConstructorArgs.__init__(self, dim=dim, max_steps_per_turn=max_steps_per_turn)
        gym.Wrapper.__init__(self, env)
        self.dim = dim
        self.max_steps_per_turn = max_steps_per_turn or getattr(env.unwrapped, "max_steps_per_turn", 20)
        high = np.full(2 * dim + NUM_SCALARS, _MAX_CLIP, dtype=np.float32)
        high[2 * dim :] = 1.0
        self.observation_space = gym.spaces.Box(0.0, high, dtype=np.float32)
        self._message = np.zeros(dim, dtype=np.float32)
        self._made_call = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        self._message = hash_text(observation, self.dim)
        self._made_call = False
        return self._encode(None, info, error=False, new_turn=True), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        new_turn = info["step_in_turn"] == 0
        if new_turn:
            self._message, self._made_call, results = hash_text(observation, self.dim), False, None
        else:
            self._made_call = self._made_call or bool(info["calls"])
            results = observation
        error = "action_error" in info or any(call["error"] for call in info["calls"])
        return (
            self._encode(results, info, error=error, new_turn=new_turn),
            reward,
            terminated,
            truncated,
            info,
        )

    def _encode(
        self, results: str | None, info: Mapping[str, Any], *, error: bool, new_turn: bool
    ) -> np.ndarray:
        scalars = np.array(
            [
                info["turn"] / max(info["num_turns"], 1),
                min(info["step_in_turn"] / self.max_steps_per_turn, 1.0),
                error,
                new_turn,
                self._made_call,
            ],
            dtype=np.float32,
        )
        block = np.zeros(self.dim, dtype=np.float32) if results is None else hash_text(results, self.dim)
        return np.concatenate([self._message, block, scalars])


@functools.lru_cache(maxsize=1 << 16)
def _bucket(token: str, dim: int) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass")) % dim


def hash_text(text: str, dim: int) -> np.ndarray:
    """``log1p`` counts (clipped at 8) of the lower-cased ``\\w+`` tokens of ``text`` hashed into ``dim`` buckets.

    Example:
        >>> vector = hash_text("ls ls cd", 8)
        >>> vector.dtype, vector.shape, round(float(np.expm1(vector).sum()), 4)  # three tokens
        (dtype('float32'), (8,), 3.0)
    """
    buckets = [_bucket(token, dim) for token in _TOKEN.findall(text.lower())]
    counts = np.bincount(np.asarray(buckets, dtype=np.int64), minlength=dim)
    return np.minimum(np.log1p(counts), _MAX_CLIP).astype(np.float32)


def make_sb3_env(
    env: str | gym.Env[str, str] = "EnvTune/FileSystem-v0",
    *,
    max_actions: int = 128,
    per_tool_cap: int = 12,
    max_values: int = 12,
    oracle_catalogue: bool = False,
    rebuild: Literal["turn", "episode"] = "turn",
    reserve: float = 0.25,
    padding: Literal["noop", "end_turn"] = "noop",
    dim: int = 512,
    progress_reward: bool = True,
    reward_kwargs: Mapping[str, Any] | None = None,
    force_quit_terminates: bool = True,
    **make_kwargs: Any,
) -> gym.Env[np.ndarray, np.int64]:
    """An SB3-ready EnvTune env: ``ProgressReward`` (optional) -> :class:`CatalogueActions` ->
    :class:`HashedObservations` -> :class:`ForceQuitTerminates` (optional).

    Args:
        env: an env id for ``gym.make`` (with ``make_kwargs``, e.g. ``tasks=``, ``category=``,
            ``max_steps_per_turn=``), or an EnvTune env already made.
        max_actions, per_tool_cap, max_values, oracle_catalogue, rebuild, reserve, padding: see
            :class:`CatalogueActions`.
        dim: see :class:`HashedObservations`.
        progress_reward: wrap in :class:`~envtune_gym.wrappers.ProgressReward` (dense: each checked turn adds its
            share of the episode's mean turn score); ``False`` keeps BFCL's sparse 0/1 reward.
        reward_kwargs: ``ProgressReward`` arguments: ``partial_credit``, ``format_penalty`` (padding no-ops are
            ``format`` errors, so this also discourages padding), ``execution_penalty``.
        force_quit_terminates: report the env's truncation (BFCL's force-quit) as termination; see
            :class:`ForceQuitTerminates` for why SB3 needs it.

    Example:
        >>> from stable_baselines3 import PPO  # doctest: +SKIP
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", category="base", max_steps_per_turn=4)  # doctest: +SKIP
        >>> model = PPO("MlpPolicy", env, seed=0).learn(2048)  # doctest: +SKIP
    """
    base = gym.make(env, **make_kwargs) if isinstance(env, str) else env
    if make_kwargs and not isinstance(env, str):
        raise TypeError(f"make_kwargs {sorted(make_kwargs)} need an env id, not an env instance")
    if progress_reward:
        base = ProgressReward(base, **(reward_kwargs or {}))
    elif reward_kwargs:
        raise ValueError("reward_kwargs need progress_reward=True")
    actions = CatalogueActions(
        base, max_actions, per_tool_cap=per_tool_cap, max_values=max_values,
        oracle_catalogue=oracle_catalogue, rebuild=rebuild, reserve=reserve, padding=padding,
    )  # fmt: skip
    observations = HashedObservations(actions, dim)
    return ForceQuitTerminates(observations) if force_quit_terminates else observations


class ForceQuitTerminates(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Report truncation as termination: an EnvTune truncation is BFCL's force-quit, the end of the task.

    SB3 treats ``truncated`` as a time limit cutting a task that would go on: it adds ``gamma * V(final
    observation)`` to the last reward. Here the episode has no future (the force-quit turn was checked and the
    task is over), so that bootstrap would make running out the step budget look as good as going on, a trap
    measured in practice: PPO learned to repeat a call until the force-quit instead of ending the turn.
    ``info["force_quit"]`` marks the step.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = ForceQuitTerminates(gym.make("EnvTune/FileSystem-v0", max_steps_per_turn=1))
        >>> _ = env.reset(options={"task_id": "filesystem_base_0"})
        >>> _ = env.step("[pwd()]")
        >>> terminated, truncated, info = env.step("[pwd()]")[2:]
        >>> terminated, truncated, info["force_quit"]
        (True, False, True)
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if truncated and not terminated:
            info["force_quit"] = True
            terminated, truncated = True, False
        return observation, reward, terminated, truncated, info


# ----------------------------------------------------------------------------------------------------------------
# Evaluation helpers: success rate of a policy, the random baseline, catalogue coverage

Policy = Callable[[Any, gym.Env], int]


@dataclass(frozen=True)
class EvalResult:
    """Success rate (BFCL's verdict, ``info["success"]``), mean return and mean length over ``episodes``."""

    episodes: int
    success_rate: float
    mean_return: float
    mean_length: float


def evaluate_success(env: gym.Env, policy: Policy, *, episodes: int, seed: int = 0) -> EvalResult:
    """Run ``policy(observation, env) -> index`` for ``episodes`` episodes (episode ``i`` resets with ``seed + i``).

    Example:
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=32, dim=16, category="base")
        >>> evaluate_success(env, lambda obs, env: 0, episodes=2).success_rate  # ending every turn at once fails
        0.0
    """
    successes, total_return, steps = 0, 0.0, 0
    for episode in range(episodes):
        observation, info = env.reset(seed=seed + episode)
        done = False
        while not done:
            observation, reward, terminated, truncated, info = env.step(policy(observation, env))
            total_return += float(reward)
            steps += 1
            done = terminated or truncated
        successes += bool(info.get("success", False))
    return EvalResult(episodes, successes / episodes, total_return / episodes, steps / episodes)


def random_policy(seed: int = 0, *, masked: bool = True) -> Policy:
    """A uniform random policy: over the real catalogue entries (``masked``), or over all of ``Discrete(n)``.

    Example:
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", max_actions=32, dim=16, category="base")
        >>> result = evaluate_success(env, random_policy(0), episodes=2)
        >>> 0.0 <= result.success_rate <= 1.0
        True
    """
    rng = np.random.default_rng(seed)

    def act(observation: Any, env: gym.Env) -> int:
        if not masked:
            return int(rng.integers(env.action_space.n))
        valid = np.flatnonzero(env.get_wrapper_attr("action_masks")())
        return int(rng.choice(valid))

    return act


@dataclass
class CoverageReport:
    """How many ground-truth calls the generic catalogue offered when they were needed.

    ``solvable_tasks`` counts tasks whose every ground-truth call was in the catalogue at its step: a policy over
    the catalogue could solve them. ``misses`` lists ``(task_id, turn, call)`` of the absent calls.
    """

    calls: int = 0
    covered: int = 0
    tasks: int = 0
    solvable_tasks: int = 0
    misses: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def call_coverage(self) -> float:
        return self.covered / self.calls if self.calls else 1.0

    @property
    def task_coverage(self) -> float:
        return self.solvable_tasks / self.tasks if self.tasks else 1.0


def catalogue_coverage(
    env: gym.Env[str, str], task_ids: Sequence[str] | None = None, **catalogue_kwargs: Any
) -> CoverageReport:
    """Replay each task's ground truth (one call per step) and count the calls the generic catalogue held.

    A call absent from the catalogue is sent as text, so the replay (and the values it shows) goes on.

    Args:
        env: an EnvTune text env (``gym.make("EnvTune/...")``).
        task_ids: the tasks to replay (default: all of ``env.unwrapped.tasks``).
        catalogue_kwargs: :class:`CatalogueActions` arguments (``oracle_catalogue`` is refused).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> report = catalogue_coverage(gym.make("EnvTune/FileSystem-v0"), ["filesystem_base_0"], max_actions=64)
        >>> report.covered, report.calls, report.solvable_tasks
        (2, 2, 1)
    """
    if catalogue_kwargs.get("oracle_catalogue"):
        raise ValueError(
            "catalogue_coverage measures the generic catalogue; oracle_catalogue would be trivial"
        )
    wrapper = CatalogueActions(env, **catalogue_kwargs)
    report = CoverageReport()
    ids = [task.id for task in env.unwrapped.tasks] if task_ids is None else list(task_ids)
    for task_id in ids:
        wrapper.reset(options={"task_id": task_id})
        _replay_task(wrapper, wrapper.env.unwrapped.task, report)
    return report


def _replay_task(wrapper: CatalogueActions, task: Task, report: CoverageReport) -> None:
    report.tasks += 1
    solvable = True
    for turn in range(task.num_turns):
        for entry in ground_truth_entries(task, [turn]):
            report.calls += 1
            index = wrapper.index_of(entry.text)
            if index is None:
                solvable = False
                report.misses.append((task.id, turn, entry.text))
                wrapper._step_text(entry.text)
            else:
                report.covered += 1
                wrapper.step(index)
        wrapper.step(0)
    report.solvable_tasks += solvable
