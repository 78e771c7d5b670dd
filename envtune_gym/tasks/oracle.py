"""The oracle policy: replays a task's ground truth, the reference trajectory every checker must accept.

Per turn it takes one step holding the turn's ground-truth calls (or one step per call), then replies to end the
turn; a turn with empty ground truth gets the reply alone. It also produces demonstrations for a warm start. The
calls come from the task's :class:`~envtune_gym.tasks.ground_truth.GroundTruthPlan`, so the oracle replays
exactly what the shadow checks against: python-style actions keep the calls as written, JSON and Hermes ones name
every argument as bound by the tool's parameter order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Literal

from envtune_gym.actions import ToolCall, format_call
from envtune_gym.tasks.ground_truth import BoundCall, bind_call, ground_truth_plan
from envtune_gym.tasks.model import Task
from envtune_gym.tools import ToolCallError

ActionStyle = Literal["python", "hermes", "json"]

#: What the oracle says to end a turn.
TURN_DONE = "Done."
#: What the oracle says on a turn with empty ground truth (the request cannot or should not be fulfilled yet).
TURN_DECLINED = "I cannot do that with the information and tools I have. Could you tell me more?"


def oracle_actions(
    task: Task, style: ActionStyle = "python", *, one_call_per_step: bool = False
) -> Iterator[str]:
    """Every action of the ground-truth trajectory of ``task``, in order.

    Raises:
        ValueError: (on the first ``next``) a bad ground-truth call, naming the task, the turn and the call.

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> task = load_bundled("filesystem")[0]
        >>> actions = list(oracle_actions(task))
        >>> actions[-1]
        'Done.'
    """
    plan = ground_truth_plan(task)
    for written, bound in zip(plan.written, plan.calls, strict=True):
        if one_call_per_step:
            steps = [([call], [named]) for call, named in zip(written, bound, strict=True)]
        else:
            steps = [(written, bound)] if written else []
        for calls, named in steps:
            yield _render(calls, named, style)
        yield TURN_DONE if written else TURN_DECLINED


def render_calls(calls: Sequence[ToolCall], task: Task, style: ActionStyle = "python") -> str:
    """Calls as action text in one of the accepted formats (JSON and Hermes name every argument).

    Raises:
        ValueError: for JSON or Hermes, a call the task's tools refuse (unknown tool, bad arguments).

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> task = load_bundled("filesystem")[0]
        >>> render_calls([ToolCall("tail", ("a.txt",), {})], task, "json")
        '[{"name": "tail", "arguments": {"file_name": "a.txt"}}]'
    """
    if style == "python":
        return _render(calls, (), style)
    try:
        named = [(call.name, bind_call(task, call)) for call in calls]
    except ToolCallError as exc:
        raise ValueError(f"task {task.id}: cannot render the calls: {exc.message}") from exc
    return _render(calls, named, style)


def _render(calls: Sequence[ToolCall], named: Sequence[BoundCall], style: ActionStyle) -> str:
    """``calls`` as written (python style), or their bound twins ``named`` as JSON or Hermes tool calls."""
    if style == "python":
        return "[" + ", ".join(format_call(call) for call in calls) + "]"
    payload: list[dict[str, Any]] = [{"name": name, "arguments": arguments} for name, arguments in named]
    if style == "json":
        return json.dumps(payload)
    return "\n".join(f"<tool_call>\n{json.dumps(item)}\n</tool_call>" for item in payload)
