"""Episodes that start at a later turn: which turns they play, and the conversation before them.

``reset(options={"task_id": ..., "start_turn": k})`` starts at turn ``k`` from the ground-truth state after turns
``0..k-1``: the env replays those turns' ground-truth calls on the agent's domains (in step with the shadow, so
they run once), and their results count for the results check as if the agent had produced them. The turns
before ``k`` become the conversation so far, in three forms made here from one record per turn
(:class:`PlayedTurn`):

* :func:`history_messages`: OpenAI-style chat messages (user, assistant with ``tool_calls``, ``tool`` results,
  the assistant's closing reply), ``info["history"]`` at the reset;
* :func:`transcript_entries`: the env's ``(role, text)`` transcript, as if an agent had played them;
* :func:`history_as_text`: the messages as a text-only chat model sees an episode it plays, calls as Hermes
  ``<tool_call>`` blocks and their results as the env's observation (for :class:`~envtune_gym.agents.rollout.
  ChatFormat`).

:func:`render_results` is how the env shows a step's results (its ``observation_format``), here so that the
history's text and a live step's observation are one rendering. :func:`turn_bounds` reads and checks the
``start_turn`` and ``end_turn`` options.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from envtune_gym.info import CallRecord, HistoryMessage
from envtune_gym.tasks import Task
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE

#: The reset options this module reads.
START_TURN, END_TURN = "start_turn", "end_turn"


def turn_bounds(options: Mapping[str, Any], task: Task) -> tuple[int, int]:
    """The first and the last turn an episode of ``task`` plays, from ``options`` (default: all of them).

    Raises:
        ValueError: a turn that is not an integer in ``0..num_turns-1``, or ``end_turn`` before ``start_turn``.

    Example:
        >>> task = Task(id="t", category="base", domains=["GorillaFileSystem"], turns=["a", "b", "c"],
        ...             ground_truth=[["pwd()"], [], ["ls()"]])
        >>> turn_bounds({"start_turn": 1}, task), turn_bounds({"start_turn": 2, "end_turn": 2}, task)
        ((1, 2), (2, 2))
    """
    last = task.num_turns - 1
    start = _turn(options.get(START_TURN, 0), START_TURN, task)
    end = _turn(options.get(END_TURN, last), END_TURN, task)
    if end < start:
        raise ValueError(f"end_turn ({end}) must not come before start_turn ({start})")
    return start, end


def _turn(value: Any, name: str, task: Task) -> int:
    last = task.num_turns - 1
    if not (isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= last):
        raise ValueError(
            f"{name} must be an integer in 0..{last} (task {task.id} has {task.num_turns} turns), got {value!r}"
        )
    return int(value)


class PlayedTurn(NamedTuple):
    """One turn replayed from its ground truth, before the turn an episode starts at."""

    #: The turn's index.
    turn: int
    #: The user's message as the env showed it (revealed tools' schemas included).
    user: str
    #: The ground-truth calls as the env ran them (empty for a turn without ground truth).
    calls: list[CallRecord]
    #: The observation of those calls (``None`` without calls).
    observation: str | None

    @property
    def reply(self) -> str:
        """The assistant's closing reply: the oracle's, done or asking for more."""
        return TURN_DONE if self.calls else TURN_DECLINED


def history_messages(turns: Sequence[PlayedTurn]) -> list[HistoryMessage]:
    """The turns as OpenAI-style chat messages; call ids are ``gt_{turn}_{index}``.

    Example:
        >>> record = {"name": "pwd", "arguments": {}, "result": "/alex", "error": None}
        >>> [m["role"] for m in history_messages([PlayedTurn(0, "Where am I?", [record], "...")])]
        ['user', 'assistant', 'tool', 'assistant']
    """
    messages: list[HistoryMessage] = []
    for played in turns:
        messages.append({"role": "user", "content": played.user})
        if played.calls:
            ids = [f"gt_{played.turn}_{index}" for index in range(len(played.calls))]
            messages.append({"role": "assistant", "content": None, "tool_calls": [
                {"id": call_id, "type": "function",
                 "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}
                for call_id, call in zip(ids, played.calls, strict=True)
            ]})  # fmt: skip
            messages.extend(
                {"role": "tool", "tool_call_id": call_id, "name": call["name"], "content": call["result"]}
                for call_id, call in zip(ids, played.calls, strict=True)
            )
        messages.append({"role": "assistant", "content": played.reply})
    return messages


def transcript_entries(turns: Sequence[PlayedTurn]) -> list[tuple[str, str]]:
    """The turns as the env's transcript would hold them had an agent played them (calls as Hermes blocks)."""
    entries: list[tuple[str, str]] = []
    for played in turns:
        entries.append(("user", played.user))
        if played.calls:
            action = hermes_text([(call["name"], call["arguments"]) for call in played.calls])
            entries += [("assistant", action), ("tool", played.observation or "")]
        entries.append(("assistant", played.reply))
    return entries


def history_as_text(
    history: Sequence[Mapping[str, Any]], observation_format: str = "tagged"
) -> list[dict[str, str]]:
    """``info["history"]`` as user and assistant text messages, the way a model sees an episode it plays.

    An assistant's tool calls become Hermes ``<tool_call>`` blocks (what it would have written) and each run of
    tool results one user message rendered as the env renders a step's results.

    Example:
        >>> record = {"name": "pwd", "arguments": {}, "result": "/alex", "error": None}
        >>> text = history_as_text(history_messages([PlayedTurn(0, "Where am I?", [record], "...")]))
        >>> [(m["role"], m["content"]) for m in text][1:3]  # doctest: +NORMALIZE_WHITESPACE
        [('assistant', '<tool_call>\\n{"name": "pwd", "arguments": {}}\\n</tool_call>'),
         ('user', '<tool_response>\\n/alex\\n</tool_response>')]
    """
    messages: list[dict[str, str]] = []
    results: list[dict[str, str]] = []
    for message in history:
        if message["role"] == "tool":
            results.append(
                {"name": str(message.get("name", "")), "result": str(message.get("content") or "")}
            )
            continue
        if results:
            messages.append({"role": "user", "content": render_results(results, observation_format)})
            results = []
        text = str(message.get("content") or "")
        calls = message.get("tool_calls") or []
        if calls:
            blocks = hermes_text([(call["function"]["name"], _arguments(call)) for call in calls])
            text = f"{text}\n{blocks}" if text else blocks
        messages.append({"role": str(message["role"]), "content": text})
    if results:
        messages.append({"role": "user", "content": render_results(results, observation_format)})
    return messages


def _arguments(call: Mapping[str, Any]) -> Any:
    """A tool call's arguments as a value (the history holds them as JSON text, as OpenAI's API does)."""
    arguments = call["function"].get("arguments", "{}")
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def hermes_text(calls: Sequence[tuple[str, Any]]) -> str:
    """``(name, arguments)`` pairs as Hermes ``<tool_call>`` blocks, one per call.

    Example:
        >>> print(hermes_text([("cd", {"folder": "docs"})]))
        <tool_call>
        {"name": "cd", "arguments": {"folder": "docs"}}
        </tool_call>
    """
    return "\n".join(
        f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"
        for name, arguments in calls
    )


def render_results(calls: Sequence[Mapping[str, Any]], observation_format: str) -> str:
    """A step's calls (``name`` and ``result`` of each) as its observation, in the env's ``observation_format``:
    ``tagged`` (``<tool_response>`` blocks, as Hermes/Qwen chat templates show tool messages) or ``json``.

    Example:
        >>> render_results([{"name": "pwd", "result": "/alex"}], "tagged")
        '<tool_response>\\n/alex\\n</tool_response>'
        >>> render_results([{"name": "pwd", "result": "/alex"}], "json")
        '[{"name": "pwd", "content": "/alex"}]'
    """
    if observation_format == "json":
        return json.dumps([{"name": call["name"], "content": call["result"]} for call in calls])
    if len(calls) == 1:
        return f"<tool_response>\n{calls[0]['result']}\n</tool_response>"
    return "\n".join([f"<tool_response>\n{call['result']}\n</tool_response>" for call in calls])
