"""The catalogue's contents: values seen in an episode, tool calls built from the schemas, ground-truth calls.

Pure Python over text, JSON results and task data; :class:`~envtune_gym.integrations.sb3.CatalogueActions`
turns it into an action space. The package docstring (:mod:`envtune_gym.integrations.sb3`) says how values
are found and calls ranked.
"""

from __future__ import annotations

import heapq
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from envtune_gym.actions import ToolCall, format_call
from envtune_gym.tasks import Task
from envtune_gym.tasks.ground_truth import ground_truth_plan, task_tool_specs
from envtune_gym.tasks.oracle import TURN_DONE
from envtune_gym.tools import ToolSpec

#: The text a padding index sends (``padding="noop"``): an unparseable call, so a ``format`` error and no call.
PADDING_ACTION = "[catalogue_padding("

_MAX_QUOTED = 120  # quoted spans longer than this are prose, not values
_MAX_LEAF = 64  # result strings longer than this (or with whitespace) are content, not names
_MAX_STATE_NODES = 50_000  # bound the state walk (long-context file systems are large)
_QUOTED = re.compile(
    rf"""(?<![\w'"])'([^'\n]{{1,{_MAX_QUOTED}}})'(?![\w'])|(?<![\w'"])"([^"\n]{{1,{_MAX_QUOTED}}})"(?![\w"])"""
)
_WORD = re.compile(r"(?<![\w.\-/])[A-Za-z0-9][\w\-]*(?:\.[\w\-]+)*")
_NUMBER = re.compile(r"(?<![\w.:\-/,])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\w|[:/]|[.,\-]\d)")
# Two or more capitalised words: "Mei Lin", "Quasar Ltd." (single ones and acronyms measured as more noise than help)
_PROPER = re.compile(r"\b[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)+\.?")
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
    compares equal (by ``text``) to the generic entry of the same call. The calls are the task's
    :func:`~envtune_gym.tasks.ground_truth.ground_truth_plan` (bound and validated once per task).

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> task = next(t for t in load_bundled("filesystem") if t.id == "filesystem_base_9")
        >>> [entry.text for entry in ground_truth_entries(task, turns=[0, 1])]
        ['[du()]', "[find(path='podcasts', name='notes')]"]
    """
    plan = ground_truth_plan(task)
    specs = task_tool_specs(task)
    chosen = range(task.num_turns) if turns is None else turns
    return [
        _canonical(name, arguments, specs[name]) for turn in chosen for name, arguments in plan.calls[turn]
    ]


def _canonical(name: str, bound: Mapping[str, Any], spec: ToolSpec) -> CatalogueEntry:
    """The entry of one bound ground-truth call in canonical form (see :func:`ground_truth_entries`)."""
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
    return _entry(name, arguments, "oracle")
