"""BFCL's per-turn check (bfcl-multiturn.md §2.2), on live domain objects and without ``eval``.

A turn with non-empty ground truth passes iff the agent made at least one call in it, every involved domain's
public state equals the shadow copy that ran the ground truth, and the turn's ground-truth result strings are
contained, as a multiset, in all the results the agent produced so far (this turn and earlier ones).
"""

from __future__ import annotations

import hashlib
import reprlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from envtune_gym.domains.base import Domain
from envtune_gym.info import TurnResult

_MAX_DIFF_ENTRIES = 20
_MAX_TEXT = 200


class KeptResults:
    """An episode's call results for the results check: text up to ``budget`` characters, then digests.

    A result only counts when it equals an expected string, so a digest (a fixed 20 bytes) serves the check as
    well as the text; keeping text up to a budget keeps the common case free of hashing, and memory bounded
    whatever the agent makes the tools return.

    Example:
        >>> kept = KeptResults(budget=5)
        >>> kept.append("abc"); kept.append("defgh")
        >>> kept[0], type(kept[1]).__name__, missing_results(["defgh", "abc", "x"], kept)
        ('abc', 'bytes', ['x'])
    """

    __slots__ = ("items", "chars", "budget")

    def __init__(self, budget: int) -> None:
        self.items: list[str | bytes] = []
        self.chars = 0
        self.budget = budget

    def append(self, result: str) -> None:
        if self.chars + len(result) <= self.budget:
            self.items.append(result)
            self.chars += len(result)
        else:
            self.items.append(digest(result))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str | bytes]:
        return iter(self.items)

    def __getitem__(self, index: Any) -> Any:
        return self.items[index]

    def __getstate__(self) -> tuple[list[str | bytes], int, int]:
        return self.items, self.chars, self.budget

    def __setstate__(self, state: tuple[list[str | bytes], int, int]) -> None:
        self.items, self.chars, self.budget = state


def digest(text: str) -> bytes:
    """A fixed-size stand-in for ``text`` that equal texts share (never equal to a ``str``)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=20).digest()


def cut_text(text: str, limit: int, what: str) -> str:
    """``text`` cut to at most ``limit`` characters, ending with a note of how much was cut and why.

    Example:
        >>> cut = cut_text("x" * 100, 60, "result")
        >>> len(cut), cut.splitlines()[-1]
        (60, '[... 86 more characters cut: result limit 60]')
    """
    if len(text) <= limit:
        return text
    note = f"\n[... {len(text) - limit} more characters cut: {what} limit {limit}]"
    keep = max(0, limit - len(note))
    note = f"\n[... {len(text) - keep} more characters cut: {what} limit {limit}]"
    return text[:keep] + note[:limit]


def missing_results(expected: Sequence[str], produced: Iterable[str | bytes]) -> list[str]:
    """Expected strings not covered by ``produced``, counting multiplicity (each produced string covers one).

    ``produced`` may hold :func:`digest` values in place of texts (see :class:`KeptResults`).

    Example:
        >>> missing_results(["None", "None", '{"a": 1}'], ["None", '{"a": 1}', "x"])
        ['None']
    """
    available = Counter(produced)
    has_digests = any(type(item) is bytes for item in available)
    missing = []
    for item in expected:
        if available[item] > 0:
            available[item] -= 1
            continue
        if has_digests and type(item) is str:
            key = digest(item)
            if available[key] > 0:
                available[key] -= 1
                continue
        missing.append(item)
    return missing


def attributes_matched(agent: Mapping[str, Domain], shadow: Mapping[str, Domain] | None) -> tuple[int, int]:
    """How many compared attributes (public attributes of the stateful domains) match, and how many there are.

    ``shadow=None`` means the states are known to be equal: every attribute of the agent's domains matches.
    """
    matched = total = 0
    for name, domain in agent.items():
        if domain.stateless:
            continue
        if shadow is None:
            count = _state_size(domain)
            matched, total = matched + count, total + count
            continue
        actual_state = domain.state()
        for attr, value in shadow[name].state().items():
            total += 1
            matched += actual_state.get(attr, _MISSING) == value
    return matched, total


def _state_size(domain: Domain) -> int:
    """``len(domain.state())``, without building the dict for domains that keep the default ``state``."""
    if type(domain).state is not Domain.state:
        return len(domain.state())
    # A domain's attribute names rarely change: count the public ones once per set of names.
    names = tuple(vars(domain))
    size = _PUBLIC_COUNTS.get(names)
    if size is None:
        if len(_PUBLIC_COUNTS) >= 4096:  # bounded, whatever attributes domains add
            _PUBLIC_COUNTS.clear()
        size = _PUBLIC_COUNTS[names] = sum(1 for key in names if not key.startswith("_"))
    return size


_PUBLIC_COUNTS: dict[tuple[str, ...], int] = {}


def check_turn(
    turn: int,
    *,
    checked: bool,
    made_call: bool,
    agent: Mapping[str, Domain],
    shadow: Mapping[str, Domain] | None,
    agent_results: Sequence[str],
    expected_results: Sequence[str],
) -> TurnResult:
    """The verdict on one turn; the shadow must already have run the turn's ground truth.

    ``shadow=None`` means the states are known to be equal (the agent made exactly the ground-truth calls).
    """
    if not checked:
        return TurnResult(
            turn=turn, checked=False, passed=True, made_call=made_call, state_match=True, results_match=True,
            missing_results=[], state_diff={}, error_type=None, state_attributes=0, state_attributes_matched=0,
            expected_results=0,
        )  # fmt: skip
    matched, total = attributes_matched(agent, shadow)
    state_match = matched == total
    # In sync, the expected results are the agent's own results of this turn: nothing can be missing.
    missing = [] if shadow is None else missing_results(expected_results, agent_results)
    if not made_call:
        error_type: str | None = "empty_turn_model_response"
    elif not state_match:
        error_type = "instance_state_mismatch"
    elif missing:
        error_type = "execution_response_mismatch"
    else:
        error_type = None
    result: TurnResult = {  # a literal: twice as fast as calling the TypedDict, and this runs every turn
        "turn": turn,
        "checked": True,
        "passed": error_type is None,
        "made_call": made_call,
        "state_match": state_match,
        "results_match": not missing,
        "missing_results": [_truncate(item) for item in missing],
        "state_diff": {} if state_match or shadow is None else state_diff(agent, shadow),
        "error_type": error_type,
        "state_attributes": total,
        "state_attributes_matched": matched,
        "expected_results": len(expected_results),
    }
    return result


# ----------------------------------------------------------------------------------------------------------------
# A compact, JSON-able diff for humans and hint generators


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def state_diff(
    agent: Mapping[str, Domain], shadow: Mapping[str, Domain], limit: int = _MAX_DIFF_ENTRIES
) -> dict[str, dict[str, Any]]:
    """Up to ``limit`` differing leaves as ``{"Domain.attr/key/...": {"expected": ..., "actual": ...}}``.

    The walk descends one level at a time and only into values that differ, so shared structure (a file system
    whose copies share subtrees) is never expanded; leaves are summarised to at most 200 characters. When more
    differences exist than ``limit``, a last entry ``"..."`` says so.

    Example:
        >>> class Box(Domain):
        ...     name = "Box"
        ...     def load_scenario(self, config, long_context=False):
        ...         self.items = dict(config)
        >>> a, b = Box(), Box()
        >>> a.load_scenario({"x": 1, "y": [1, 2]}); b.load_scenario({"x": 1, "y": [1, 3]})
        >>> state_diff({"Box": a}, {"Box": b})
        {'Box.items/y/1': {'expected': 3, 'actual': 2}}
    """
    diff: dict[str, dict[str, Any]] = {}
    for name, expected_domain in shadow.items():
        if expected_domain.stateless:
            continue
        actual_state = agent[name].state()
        for attr, expected in expected_domain.state().items():
            actual = actual_state.get(attr, _MISSING)
            if actual != expected:
                _diff_values(f"{name}.{attr}", expected, actual, diff, limit + 1)
    if len(diff) > limit:
        diff.popitem()
        diff["..."] = {"note": f"more differences than the {limit} shown"}
    return diff


def to_view(value: Any, depth: int = 0) -> Any:
    """A JSON-able view of a state value; objects may define ``to_jsonable()`` to control theirs.

    It expands the whole value (depth-bounded): for bounded display of small values, not for diffs.
    """
    if depth > 50:
        return "..."
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "to_jsonable"):
        return to_view(value.to_jsonable(), depth + 1)
    if isinstance(value, Mapping):
        return {str(key): to_view(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_view(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_view(item, depth + 1) for item in value), key=repr)
    return _truncate(repr(value))


def _one_level(value: Any) -> Any:
    """``value`` with its ``to_jsonable()`` applied (one level; children stay as they are)."""
    while hasattr(value, "to_jsonable"):
        value = value.to_jsonable()
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return value


def _diff_values(path: str, expected: Any, actual: Any, out: dict[str, dict[str, Any]], limit: int) -> None:
    # Iterative and depth-bounded: a path deeper than 50 levels is reported as one differing leaf.
    pending = [(path, expected, actual, 0)]
    while pending and len(out) < limit:
        path, expected, actual, depth = pending.pop()
        expected, actual = _one_level(expected), _one_level(actual)
        if depth < 50 and isinstance(expected, Mapping) and isinstance(actual, Mapping):
            keys = list(expected) + [key for key in actual if key not in expected]
            children = [
                (f"{path}/{key}", expected.get(key, _MISSING), actual.get(key, _MISSING)) for key in keys
            ]
        elif (
            depth < 50
            and isinstance(expected, list)
            and isinstance(actual, list)
            and len(expected) == len(actual)
        ):
            children = [
                (f"{path}/{index}", left, right)
                for index, (left, right) in enumerate(zip(expected, actual, strict=True))
            ]
        else:
            out[path] = {"expected": _summarise(expected), "actual": _summarise(actual)}
            continue
        # Reversed onto the stack, so differences come out in the order of the keys.
        pending.extend(
            (child, left, right, depth + 1) for child, left, right in reversed(children) if left != right
        )


def _summarise(value: Any) -> Any:
    """A leaf for the diff: small plain values as they are, anything else as a short text."""
    if value is _MISSING:
        return "<missing>"
    if isinstance(value, str):
        return _truncate(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if _small_plain(value):
        return value
    return _truncate(_SHORT_REPR.repr(value))


def _small_plain(value: Any, budget: int = 40) -> bool:
    """Whether ``value`` is a JSON-like dict/list of at most ``budget`` nodes (shown as it is) with short text."""
    if not isinstance(value, (dict, list)):
        return False
    pending, chars = [value], 0
    while pending:
        item = pending.pop()
        budget -= 1
        if budget < 0:
            return False
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return False
            chars += sum(len(key) for key in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            chars += len(item)
        elif not (item is None or isinstance(item, (bool, int, float))):
            return False
    return chars <= _MAX_TEXT


def _short_repr() -> reprlib.Repr:
    short = reprlib.Repr()  # keyword arguments only from Python 3.12 on
    short.maxlevel, short.maxdict, short.maxlist = 3, 8, 8
    short.maxstring = short.maxother = short.maxlong = 80
    return short


_SHORT_REPR = _short_repr()


def _truncate(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} chars)"
