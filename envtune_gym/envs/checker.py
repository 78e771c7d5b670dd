"""BFCL's per-turn check (bfcl-multiturn.md §2.2), on live domain objects and without ``eval``.

A turn with non-empty ground truth passes iff the agent made at least one call in it, every involved domain's
public state equals the shadow copy that ran the ground truth, and the turn's ground-truth result strings are
contained, as a multiset, in all the results the agent produced so far (this turn and earlier ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from envtune_gym.domains.base import Domain
from envtune_gym.info import TurnResult

_MAX_DIFF_ENTRIES = 20
_MAX_TEXT = 200


def missing_results(expected: Sequence[str], produced: Sequence[str]) -> list[str]:
    """Expected strings not covered by ``produced``, counting multiplicity (each produced string covers one).

    Example:
        >>> missing_results(["None", "None", '{"a": 1}'], ["None", '{"a": 1}', "x"])
        ['None']
    """
    available = Counter(produced)
    missing = []
    for item in expected:
        if available[item] > 0:
            available[item] -= 1
        else:
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
                _diff_values(f"{name}.{attr}", to_view(expected), to_view(actual), diff, limit)
    return diff


def to_view(value: Any, depth: int = 0) -> Any:
    """A JSON-able view of a state value; objects may define ``to_jsonable()`` to control theirs."""
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


def _diff_values(path: str, expected: Any, actual: Any, out: dict[str, dict[str, Any]], limit: int) -> None:
    if len(out) >= limit or expected == actual:
        return
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in list(expected) + [k for k in actual if k not in expected]:
            _diff_values(f"{path}/{key}", expected.get(key, _MISSING), actual.get(key, _MISSING), out, limit)
        return
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            _diff_values(f"{path}/{index}", left, right, out, limit)
        return
    out[path] = {"expected": _summarise(expected), "actual": _summarise(actual)}


def _summarise(value: Any) -> Any:
    if value is _MISSING:
        return "<missing>"
    if isinstance(value, str):
        return _truncate(value)
    if isinstance(value, (dict, list)):
        text = repr(value)
        return value if len(text) <= _MAX_TEXT else _truncate(text)
    return value


def _truncate(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} chars)"
