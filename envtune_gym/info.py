"""The ``info`` dict of every EnvTune env, typed and documented in one place.

The keys of :class:`StepInfo` are present after every ``reset`` and ``step``; the event keys (``history``,
``action_error``, ``turn_result``, ``success``) only on the steps where the event happened. That is the
convention Gymnasium's vector envs merge correctly: a key's presence is reported in its ``_key`` mask, while a
value that is sometimes ``None`` and sometimes a dict or a bool would be mangled. Values are plain JSON-able data
and deterministic: no timestamps, no ids that vary between runs. Wrappers add keys (``reward_components``,
``hint``, ``curriculum``) and never change these.

Example:
    >>> import gymnasium as gym, envtune_gym
    >>> env = gym.make("EnvTune/FileSystem-v0")
    >>> obs, info = env.reset(seed=0)
    >>> tuple(info) == ALWAYS_KEYS
    True
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from envtune_gym.tools import ErrorCategory


class CallRecord(TypedDict):
    """One call the agent made in this step."""

    #: The tool name as the agent wrote it.
    name: str
    #: The arguments after positional binding (as passed to the tool).
    arguments: dict[str, Any]
    #: The result string the agent observes: for successful calls, byte-identical to BFCL's executor.
    result: str
    #: ``None`` on success, else the error category (see :data:`envtune_gym.tools.ErrorCategory`).
    error: ErrorCategory | None


class ActionErrorInfo(TypedDict):
    """Why a whole action was rejected before any call ran (format, too_long, too_many_calls)."""

    category: ErrorCategory
    message: str


class TurnResult(TypedDict):
    """The verdict on one user turn, produced when the agent ends the turn (BFCL's checker rules)."""

    #: Index of the turn that was checked.
    turn: int
    #: False for turns with empty ground truth: BFCL does not check them.
    checked: bool
    #: Did the turn pass: a call was made, the state matches the ground-truth shadow and the results match.
    #: Unchecked turns count as passed (BFCL skips them).
    passed: bool
    #: Did the agent make at least one parseable call in this turn.
    made_call: bool
    #: Did every involved domain's public state equal the shadow's.
    state_match: bool
    #: Were the turn's ground-truth results contained (as a multiset) in all the agent's results so far.
    results_match: bool
    #: Ground-truth result strings the agent has not produced (each truncated to 200 characters).
    missing_results: list[str]
    #: Up to 20 differing state entries: ``{"Domain.attr/path": {"expected": ..., "actual": ...}}``.
    state_diff: dict[str, dict[str, Any]]
    #: Why the turn failed, in BFCL's terms: ``empty_turn_model_response``, ``instance_state_mismatch``,
    #: ``execution_response_mismatch``; ``None`` when it passed or was not checked.
    error_type: str | None
    #: Compared attributes (public attributes of the stateful domains) and how many matched: partial credit.
    state_attributes: int
    state_attributes_matched: int
    #: How many ground-truth results the turn has (``len(missing_results)`` of them were not produced).
    expected_results: int


class ToolCallFunction(TypedDict):
    """The function of a history tool call."""

    name: str
    #: The arguments as JSON text (as OpenAI's chat API holds them), by name as the env bound them.
    arguments: str


class HistoryToolCall(TypedDict):
    """One tool call of a history assistant message (OpenAI's ``tool_calls`` entry)."""

    #: ``gt_{turn}_{index}``; the matching ``tool`` message's ``tool_call_id``.
    id: str
    type: Literal["function"]
    function: ToolCallFunction


class _HistoryMessage(TypedDict):
    role: Literal["user", "assistant", "tool"]
    #: The text; ``None`` for an assistant message that only calls tools.
    content: str | None


class HistoryMessage(_HistoryMessage, total=False):
    """One chat message of ``info["history"]``, OpenAI-style.

    Per turn before the start: the user's message (as the env showed it, revealed tools included); when the turn
    has ground truth, an assistant message with its calls in ``tool_calls`` and one ``tool`` message per call (the
    result the env produced); then the assistant's closing reply (the oracle's ``"Done."``, or its request for more
    on a turn without ground truth).
    """

    #: Assistant messages that call tools: the calls.
    tool_calls: list[HistoryToolCall]
    #: Tool messages: the call they answer, and its tool's name.
    tool_call_id: str
    name: str


class _AlwaysInfo(TypedDict):
    task_id: str
    #: ``base``, ``miss_func``, ``miss_param`` or ``long_context``.
    category: str
    #: BFCL class names of the domains in play.
    domains: list[str]
    #: Index of the current user turn (the one the observation belongs to).
    turn: int
    num_turns: int
    #: Turns with ground truth among those this episode plays, the ones that get a verdict (BFCL skips the others):
    #: all of the task's, unless the reset's ``start_turn`` / ``end_turn`` options leave some out.
    num_checked_turns: int
    #: Steps taken in the current turn that did not end it (the budget is ``max_steps_per_turn``).
    step_in_turn: int
    #: OpenAI-format schemas of the tools available now (held-out tools appear at their turn). Read-only: shared by
    #: every step and env and the validators; changing it raises TypeError (``envtune_gym.tools.thaw`` copies it).
    tools: list[dict[str, Any]]
    #: Tool names revealed at this step's new turn (empty unless a held-out function just appeared).
    new_tools: list[str]
    #: This step's calls, in order (empty on reset, on a reply and on a rejected action).
    calls: list[CallRecord]


class StepInfo(_AlwaysInfo, total=False):
    """The ``info`` of :class:`envtune_gym.envs.ToolUseEnv` after ``reset`` and ``step``."""

    #: Present on a reset with ``options["start_turn"] > 0``: the turns before it, replayed from their ground
    #: truth, as chat messages (:class:`HistoryMessage`); made afresh at each such reset.
    history: list[HistoryMessage]
    #: Present when the whole action was rejected before any call ran.
    action_error: ActionErrorInfo
    #: Present on the step that ended a turn (the agent replied, or the episode was truncated mid-turn).
    turn_result: TurnResult
    #: Present on the final step: did every checked turn the episode played pass (BFCL's verdict).
    success: bool


#: Keys present in every ``info``, in order.
ALWAYS_KEYS: tuple[str, ...] = tuple(_AlwaysInfo.__annotations__)
#: Keys present only on the steps where their event happened.
EVENT_KEYS: tuple[str, ...] = ("history", "action_error", "turn_result", "success")
