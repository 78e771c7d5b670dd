"""A task's ground truth, parsed, bound and validated once: the one home of ground truth.

``task.ground_truth`` holds each turn's calls as BFCL writes them, python-call text (``"tail('a.txt', lines=2)"``).
:func:`ground_truth_plan` reads that text with :func:`~envtune_gym.actions.parse_python_calls` (literals only,
never ``eval``), binds positional arguments by the tool's parameter order
(:func:`~envtune_gym.tools.bind_arguments`) and checks the arguments against the tool's JSON schema, as
:meth:`ToolRegistry.validate <envtune_gym.tools.ToolRegistry.validate>` does for an agent's calls. The result, a
:class:`GroundTruthPlan`, is what every reader of ground truth uses: the shadow that replays it for the turn
checker, the oracle that renders it as actions, the SB3 catalogue that pins its calls, and eval's oracle policy.

A plan is made once per :class:`~envtune_gym.tasks.Task` object and kept while the task lives (a task is frozen;
the cache holds it weakly), so an env's reset, the oracle's next episode and the catalogue's next episode of a task
reuse it. A plan is read-only: it is shared by every episode of its task.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from envtune_gym.actions import ToolCall, parse_python_calls
from envtune_gym.domains import Domain, domain_class
from envtune_gym.tasks.model import Task
from envtune_gym.tools import ToolCallError, ToolRegistry, ToolSpec

#: One ground-truth call: the tool's name and its arguments by name, bound and validated.
BoundCall = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class GroundTruthPlan:
    """A task's ground truth, parsed, bound and validated once: per turn, flattened, and each turn's bounds.

    Attributes:
        calls: per turn, the calls as ``(name, arguments)``, arguments by name (positional ones bound by the
            tool's parameter order).
        flat: every turn's calls in one sequence; turn ``i`` is ``flat[bounds[i][0]:bounds[i][1]]``.
        bounds: per turn, the ``(start, end)`` of its calls in ``flat``.
        num_checked_turns: turns with ground truth: the ones the checker gives a verdict.
        written: per turn, the calls as the task writes them (positional arguments kept), for rendering them
            back as BFCL-style text.

    Example:
        >>> plan = GroundTruthPlan.from_turns([[("cd", {"folder": "docs"})], []])
        >>> plan.flat, plan.bounds, plan.num_checked_turns
        ((('cd', {'folder': 'docs'}),), ((0, 1), (1, 1)), 1)
    """

    calls: tuple[tuple[BoundCall, ...], ...]
    flat: tuple[BoundCall, ...]
    bounds: tuple[tuple[int, int], ...]
    num_checked_turns: int
    written: tuple[tuple[ToolCall, ...], ...] = ()

    @classmethod
    def from_turns(
        cls, turns: Sequence[Sequence[BoundCall]], written: Sequence[Sequence[ToolCall]] | None = None
    ) -> GroundTruthPlan:
        """A plan of already bound calls per turn; ``written`` defaults to the calls with named arguments."""
        flat: list[BoundCall] = []
        bounds = []
        for calls in turns:
            start = len(flat)
            flat.extend(calls)
            bounds.append((start, len(flat)))
        checked = sum(1 for start, end in bounds if end > start)
        if written is None:
            written = [[ToolCall(name, (), dict(arguments)) for name, arguments in calls] for calls in turns]
        return cls(
            tuple(tuple(calls) for calls in turns),
            tuple(flat),
            tuple(bounds),
            checked,
            tuple(tuple(calls) for calls in written),
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> GroundTruthPlan:
        # Read-only and shared by every episode of its task: an env snapshot need not copy it.
        return self


def ground_truth_plan(task: Task) -> GroundTruthPlan:
    """The task's ground truth parsed, bound and validated, made once per task object.

    Raises:
        ValueError: a ground-truth call that does not parse, names a tool the task's domains lack, or has
            arguments its tool refuses; the message names the task, the turn and the call.

    Example:
        >>> task = Task(id="demo", category="base", domains=["GorillaFileSystem"], turns=["Show me a.txt's end."],
        ...             ground_truth=[["tail('a.txt', lines=2)"]])
        >>> ground_truth_plan(task).calls
        ((('tail', {'file_name': 'a.txt', 'lines': 2}),),)
        >>> ground_truth_plan(task) is ground_truth_plan(task)
        True
    """
    key = id(task)
    cached = _PLANS.get(key)
    if cached is not None and cached[0]() is task:
        return cached[1]
    plan = _plan(task)
    _PLANS[key] = (weakref.ref(task, functools.partial(_forget, key)), plan)
    return plan


def bind_call(task: Task, call: ToolCall) -> dict[str, Any]:
    """A call's arguments by name, bound and checked against the schema of its tool among the task's domains.

    Raises:
        ToolCallError: the tool is not one of the task's, or its arguments are refused.

    Example:
        >>> task = Task(id="demo", category="base", domains=["GorillaFileSystem"], turns=["hi"],
        ...             ground_truth=[[]])
        >>> bind_call(task, ToolCall("tail", ("a.txt",), {"lines": 2}))
        {'file_name': 'a.txt', 'lines': 2}
    """
    tools = _schemas_of(task)
    return tools.validate(call.name, tools.bind(call.name, call.args, call.kwargs))


def task_tool_specs(task: Task) -> Mapping[str, ToolSpec]:
    """The specs of the task's tools by name (a later domain's tool of a name wins, as in the env).

    Example:
        >>> task = Task(id="demo", category="base", domains=["GorillaFileSystem"], turns=["hi"],
        ...             ground_truth=[[]])
        >>> task_tool_specs(task)["tail"].param_order
        ('file_name', 'lines')
    """
    return _specs_by_name(tuple(domain_class(name) for name in task.domains))


def _plan(task: Task) -> GroundTruthPlan:
    tools = _schemas_of(task)
    turns: list[list[BoundCall]] = []
    written: list[list[ToolCall]] = []
    for turn, sources in enumerate(task.ground_truth):
        bound_calls: list[BoundCall] = []
        written_calls: list[ToolCall] = []
        for source in sources:
            try:
                for call in parse_python_calls(source):
                    arguments = tools.validate(call.name, tools.bind(call.name, call.args, call.kwargs))
                    bound_calls.append((call.name, arguments))
                    written_calls.append(call)
            except (ValueError, ToolCallError) as exc:
                raise ValueError(
                    f"task {task.id} turn {turn}: bad ground-truth call {source!r}: {exc}"
                ) from exc
        turns.append(bound_calls)
        written.append(written_calls)
    return GroundTruthPlan.from_turns(turns, written)


def _schemas_of(task: Task) -> ToolRegistry:
    """A registry over the task's domain classes, used only to bind and validate (never to run)."""
    return _registry(tuple(domain_class(name) for name in task.domains))


@functools.cache
def _registry(classes: tuple[type[Domain], ...]) -> ToolRegistry:
    # Default instances, never run: binding and validation read only the classes' specs and schemas, the same
    # ones the env's registry over the episode's instances reads. Keyed by class, so a domain registered again
    # under its name gets a registry of its own.
    return ToolRegistry(cls() for cls in classes)


@functools.cache
def _specs_by_name(classes: tuple[type[Domain], ...]) -> Mapping[str, ToolSpec]:
    tools = _registry(classes)
    return MappingProxyType({name: tools.spec(name) for name in tools.names})  # shared: read-only


def _forget(key: int, _: weakref.ref[Task]) -> None:
    entry = _PLANS.get(key)
    if entry is not None and entry[0]() is None:  # not a newer task that got the same id
        _PLANS.pop(key, None)


# Plans by id(task), with a weak reference that tells a live task from a dead one whose id was reused (a Task
# holds lists, so it cannot be a dict key itself). No lock: each dict operation is atomic, and the worst a race
# can do is drop a live entry, which costs one more plan later (a lock here could deadlock: a weak reference's
# callback may run inside it, when an allocation triggers garbage collection).
_PLANS: dict[int, tuple[weakref.ref[Task], GroundTruthPlan]] = {}
