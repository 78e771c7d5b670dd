"""The oracle policy: replays a task's ground truth, the reference trajectory every checker must accept.

Per turn it takes one step holding the turn's ground-truth calls (or one step per call), then replies to end the
turn; a turn with empty ground truth gets the reply alone. It also produces demonstrations for a warm start.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

from envtune_gym.actions import ToolCall, format_call, parse_python_calls
from envtune_gym.domains import domain_class
from envtune_gym.tasks import Task
from envtune_gym.tools import tool_specs

ActionStyle = Literal["python", "hermes", "json"]

#: What the oracle says to end a turn.
TURN_DONE = "Done."
#: What the oracle says on a turn with empty ground truth (the request cannot or should not be fulfilled yet).
TURN_DECLINED = "I cannot do that with the information and tools I have. Could you tell me more?"


def oracle_actions(
    task: Task, style: ActionStyle = "python", *, one_call_per_step: bool = False
) -> Iterator[str]:
    """Every action of the ground-truth trajectory of ``task``, in order.

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> task = load_bundled("filesystem")[0]
        >>> actions = list(oracle_actions(task))
        >>> actions[-1]
        'Done.'
    """
    for calls in task.ground_truth:
        parsed = [call for source in calls for call in parse_python_calls(source)]
        steps = [[call] for call in parsed] if one_call_per_step else ([parsed] if parsed else [])
        for step in steps:
            yield render_calls(step, task, style)
        yield TURN_DONE if parsed else TURN_DECLINED


def render_calls(calls: list[ToolCall], task: Task, style: ActionStyle = "python") -> str:
    """Calls as action text in one of the accepted formats."""
    if style == "python":
        return "[" + ", ".join(format_call(call) for call in calls) + "]"
    payload = [{"name": call.name, "arguments": _named_arguments(call, task)} for call in calls]
    if style == "json":
        return json.dumps(payload)
    return "\n".join(f"<tool_call>\n{json.dumps(item)}\n</tool_call>" for item in payload)


def _named_arguments(call: ToolCall, task: Task) -> dict[str, Any]:
    if not call.args:
        return dict(call.kwargs)
    for name in task.domains:
        for spec in tool_specs(domain_class(name)):
            if spec.name == call.name:
                return {**dict(zip(spec.param_order, call.args, strict=False)), **call.kwargs}
    raise ValueError(f"task {task.id}: ground-truth tool {call.name!r} is not in domains {task.domains}")
