"""``ToolUseEnv``: a multi-turn tool-use episode with BFCL's semantics, text in and text out.

One episode is one task. The observation is the user's message; the agent answers with text. Text holding tool
calls runs them and observes their results; text without a call is the agent's reply, which ends the user turn:
the env checks the turn against a shadow copy of the domains that ran the turn's ground truth (BFCL's rules,
:mod:`envtune_gym.envs.checker`) and observes the next user message, or terminates after the last turn.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, SupportsFloat

import gymnasium as gym

from envtune_gym.actions import (
    ActionError,
    ActionLimits,
    ParsedAction,
    ToolCall,
    parse_action,
)
from envtune_gym.domains import Domain
from envtune_gym.envs.checker import KeptResults, check_turn, cut_text
from envtune_gym.envs.history import (
    END_TURN,
    START_TURN,
    PlayedTurn,
    history_messages,
    render_results,
    transcript_entries,
    turn_bounds,
)
from envtune_gym.envs.shadow import Shadow, build_domains
from envtune_gym.info import ActionErrorInfo, CallRecord, StepInfo, TurnResult
from envtune_gym.spaces import UnicodeText
from envtune_gym.tasks import Category, Task
from envtune_gym.tasks.bfcl import Split
from envtune_gym.tasks.ground_truth import ground_truth_plan
from envtune_gym.tasks.sources import TaskSource, resolve_tasks
from envtune_gym.tools import ToolRegistry, freeze

#: BFCL's message for a turn that reveals held-out functions (its FC mode; the docs are prepended here).
REVEAL_MESSAGE = "I have updated some more functions you can choose from. What about now?"


@dataclass
class _Episode:
    """Everything that changes during an episode; a deep copy of it is a complete snapshot."""

    task: Task
    domains: dict[str, Domain]
    tools: ToolRegistry
    shadow: Shadow
    available: frozenset[str]
    turn: int = 0
    steps_in_turn: int = 0
    made_call: bool = False
    #: Every call's result, for the multiset results check (text up to a budget, then digests).
    agent_results: KeptResults = field(default_factory=lambda: KeptResults(16_777_216))
    turn_results: list[TurnResult] = field(default_factory=list)
    done: bool = False
    transcript: list[tuple[str, str]] = field(default_factory=list)
    #: The schemas of ``available`` (looked up again when it changes): every step's info holds them.
    schemas: list[dict[str, Any]] | None = None
    #: Per turn, the held-out tools revealed when it starts (the env's per-task cache; read-only).
    reveals: tuple[list[str], ...] = ()
    #: The last turn the episode plays (the task's last, unless reset with ``end_turn``), and how many of the
    #: turns it plays have ground truth.
    last_turn: int = 0
    num_checked_turns: int = 0


class ToolUseEnv(gym.Env[str, str]):
    """Multi-turn tool use over BFCL's domains; ``EnvTune/*`` ids are this class with a task set.

    Args:
        tasks: a bundled task set name (e.g. ``"filesystem"``), ``"bfcl"`` for BFCL's 800 multi-turn tasks
            (needs ``pip install --no-deps bfcl-eval==2026.3.23``), a task file (``.jsonl``, as ``envtune synth``
            writes, or ``.json``), or a sequence of :class:`Task`.
        category: keep only tasks of this category (or these categories).
        task_source: ``"bfcl"`` runs BFCL's tasks that involve only the bundled set's domains instead;
            ``"synth"`` runs ``num_tasks`` tasks synthesized by the generator of the set's name (docs/synth.md).
        split: ``"train"`` or ``"test"``: the Environment Tuning split of BFCL's tasks (100 scenarios each per
            category, the same scenarios in every category).
        num_tasks: with ``task_source="synth"``, how many tasks to synthesize (default 200).
        synth_seed: with ``task_source="synth"``, the set's seed (default 0): task ``i`` depends only on it and ``i``.
        synth_knobs: with ``task_source="synth"``, difficulty knobs (:class:`envtune_gym.synth.Knobs` fields).
        max_steps_per_turn: steps that do not end a turn allowed per turn (BFCL: 20); the next one is executed
            and truncates the episode.
        action_limits: bounds on action text (length, calls per step, nesting depth).
        max_observation_length: longer observations are cut, with a note saying how much was cut.
        max_result_length: a longer tool result is cut, with a note, before anything sees it (observation,
            ``info["calls"]``, the results check). BFCL's largest ground-truth result is 31,706 characters.
        max_kept_result_chars: the episode keeps its results' text for the results check up to this many
            characters; later results are kept as fixed-size digests, which the check compares the same way.
        observation_format: ``"tagged"`` renders each call result as ``<tool_response>...</tool_response>``
            (how Hermes/Qwen chat templates show tool messages); ``"json"`` renders a JSON list of
            ``{"name", "content"}`` (BFCL's prompting mode, as JSON).
        render_mode: ``"ansi"`` (``render()`` returns the transcript) or ``"human"`` (prints each new entry).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = gym.make("EnvTune/FileSystem-v0")
        >>> obs, info = env.reset(seed=0, options={"task_id": "filesystem_base_0"})
        >>> obs, reward, terminated, truncated, info = env.step("[pwd()]")
        >>> info["calls"][0]["name"], info["calls"][0]["error"]
        ('pwd', None)
    """

    metadata = {"render_modes": ["ansi", "human"], "render_fps": 4}

    def __init__(
        self,
        tasks: str | Sequence[Task] = "filesystem",
        *,
        category: Category | Sequence[Category] | None = None,
        task_source: TaskSource = "bundled",
        split: Split | None = None,
        num_tasks: int | None = None,
        synth_seed: int | None = None,
        synth_knobs: Mapping[str, int] | None = None,
        max_steps_per_turn: int = 20,
        action_limits: ActionLimits | None = None,
        max_observation_length: int = 262_144,
        max_result_length: int = 262_144,
        max_kept_result_chars: int = 16_777_216,
        observation_format: str = "tagged",
        render_mode: str | None = None,
    ) -> None:
        self.tasks: tuple[Task, ...] = resolve_tasks(
            tasks,
            category=category,
            task_source=task_source,
            split=split,
            source_options=_synth_options(num_tasks, synth_seed, synth_knobs),
        )
        self._task_index = {task.id: task for task in self.tasks}
        if len(self._task_index) != len(self.tasks):
            raise ValueError("task ids must be unique")
        for name, value in (
            ("max_steps_per_turn", max_steps_per_turn),
            ("max_observation_length", max_observation_length),
        ):  # an int, not True or 1.5 or NaN (NaN compares false with every bound: it would never truncate)
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be >= 1 and an integer, got {value!r}")
        if observation_format not in ("tagged", "json"):
            raise ValueError(f"observation_format must be 'tagged' or 'json', got {observation_format!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']}, got {render_mode!r}"
            )
        self.action_limits = action_limits or ActionLimits()
        self.action_limits.validate()
        self.max_steps_per_turn = max_steps_per_turn
        self.max_observation_length = max_observation_length
        for name, value in (
            ("max_result_length", max_result_length),
            ("max_kept_result_chars", max_kept_result_chars),
        ):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.max_result_length = max_result_length
        self.max_kept_result_chars = max_kept_result_chars
        self.observation_format = observation_format
        self.render_mode = render_mode
        self.action_space = UnicodeText(self.action_limits.max_length)
        self.observation_space = UnicodeText(max_observation_length)
        self._episode: _Episode | None = None
        self._schema_cache: dict[frozenset[str], list[dict[str, Any]]] = {}
        self._config_cache: dict[str, bytes] = {}
        self._reveal_cache: dict[tuple[str, ...], str] = {}
        self._start_tools_cache: dict[str, frozenset[str]] = {}
        self._reveals_cache: dict[str, tuple[list[str], ...]] = {}
        self._rendered_upto = 0

    # ------------------------------------------------------------------------------------------------------------
    # Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, StepInfo]:
        """Start an episode: ``options={"task_id": ...}`` or ``{"task": Task}``, else a task drawn with the seed.

        ``options["start_turn"] = k`` starts at turn ``k`` from the ground-truth state after the turns before it,
        which ``info["history"]`` holds as chat messages; ``options["end_turn"] = j`` ends the episode after turn
        ``j``'s verdict (docs/envs.md, "Starting at a later turn").
        """
        super().reset(seed=seed)
        options = options or {}
        task = self._choose_task(options)
        configs = self._config_blob(task)
        domains = build_domains(task, configs)
        tools = ToolRegistry(domains.values())
        plan = ground_truth_plan(task)  # (made once per task, then cached)
        episode = _Episode(
            task=task,
            domains=domains,
            tools=tools,
            shadow=Shadow(task, plan, configs),
            available=self._start_tools(task, tools),
            reveals=self._reveals(task),
            agent_results=KeptResults(self.max_kept_result_chars),
            last_turn=task.num_turns - 1,
            num_checked_turns=plan.num_checked_turns,
        )
        if START_TURN in options or END_TURN in options:
            return self._reset_at(episode, *turn_bounds(options, task))
        self._episode = episode
        self._rendered_upto = 0
        observation = self._user_message(episode, 0, revealed=[])
        episode.transcript.append(("user", observation))
        self._maybe_render()
        return observation, self._info(episode, calls=[], new_tools=[])

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, StepInfo]:
        """Run the calls in ``action``, or end the user turn when it holds none (see the class docstring)."""
        episode = self._episode
        if episode is None or episode.done:
            episode = self._require_episode()  # raises, saying what to do
        if isinstance(action, str):
            parsed = parse_action(action, self.action_limits)
            episode.transcript.append(("assistant", action))
        else:
            parsed = _rejected(f"an action is the model's text (str), got {type(action).__name__}")
            episode.transcript.append(("assistant", repr(action)[:200]))
        if parsed.is_reply:
            return self._end_turn(episode)
        error = parsed.error
        records = self._run_calls(episode, parsed.calls)
        episode.steps_in_turn += 1
        if error is not None:
            observation = f"Error ({error.category}): {error.message}"
            action_error: ActionErrorInfo | None = {"category": error.category, "message": error.message}
        else:
            observation, action_error = render_results(records, self.observation_format), None
        if len(observation) > self.max_observation_length:
            observation = self._fit(observation)
        episode.transcript.append(("tool", observation))
        if episode.steps_in_turn > self.max_steps_per_turn:
            return self._truncate(episode, records, action_error)
        self._maybe_render()
        return observation, 0.0, False, False, self._info(episode, calls=records, action_error=action_error)

    def render(self) -> str | None:
        """The transcript so far as text (``ansi``), or print the entries not printed yet (``human``)."""
        if self.render_mode is None or self._episode is None:
            return None
        text = _format_transcript(self._episode.transcript)
        if self.render_mode == "ansi":
            return text
        print(_format_transcript(self._episode.transcript[self._rendered_upto :]))
        self._rendered_upto = len(self._episode.transcript)
        return None

    # ------------------------------------------------------------------------------------------------------------
    # Snapshots: a GRPO group starts G copies from one state

    def snapshot(self) -> _Episode:
        """An independent copy of the episode's state (domains, shadow, turn, results, transcript)."""
        return _copy_episode(self._require_episode(allow_done=True))

    def restore(self, snapshot: _Episode) -> None:
        """Continue from a :meth:`snapshot`; the snapshot stays reusable."""
        if not isinstance(snapshot, _Episode):
            raise TypeError(f"restore() takes a value returned by snapshot(), got {type(snapshot).__name__}")
        self._episode = _copy_episode(snapshot)
        self._rendered_upto = 0

    # ------------------------------------------------------------------------------------------------------------
    # Read-only views for wrappers, agents and tests

    @property
    def task(self) -> Task:
        """The current episode's task."""
        return self._require_episode(allow_done=True).task

    @property
    def domains(self) -> dict[str, Domain]:
        """The agent-side domain instances of the current episode (read them; do not mutate)."""
        return self._require_episode(allow_done=True).domains

    @property
    def transcript(self) -> list[tuple[str, str]]:
        """``(role, text)`` pairs of the episode so far: ``user``, ``assistant`` and ``tool`` entries."""
        return list(self._require_episode(allow_done=True).transcript)

    def tool_schemas(self) -> list[dict[str, Any]]:
        """OpenAI-format schemas of the tools available now (as in ``info["tools"]``: read-only, see
        :func:`envtune_gym.tools.freeze`; :func:`envtune_gym.tools.thaw` makes an editable copy)."""
        episode = self._require_episode(allow_done=True)
        return self._schemas(episode)

    # ------------------------------------------------------------------------------------------------------------
    # Internals

    def _choose_task(self, options: dict[str, Any]) -> Task:
        if "task" in options:
            task = options["task"]
            if not isinstance(task, Task):
                task = Task.model_validate(task)
            return task
        if "task_id" in options:
            task_id = options["task_id"]
            if task_id not in self._task_index:
                raise ValueError(f"unknown task_id {task_id!r}; this env has {len(self.tasks)} tasks, e.g. "
                                 f"{', '.join(list(self._task_index)[:5])}")  # fmt: skip
            return self._task_index[task_id]
        return self.tasks[int(self.np_random.integers(len(self.tasks)))]

    def _reset_at(self, episode: _Episode, start: int, end: int) -> tuple[str, StepInfo]:
        """Start ``episode`` at turn ``start`` (after the ground truth of the turns before it), ending after ``end``.

        The replay runs through the agent's path (:meth:`_run_calls`): the shadow observes the calls and stays in
        sync, so they run once, and their results count for later results checks as the agent's.
        """
        episode.last_turn = end
        episode.num_checked_turns = sum(1 for turn in episode.task.checked_turns if start <= turn <= end)
        self._episode = episode
        self._rendered_upto = 0
        played = [self._replay_turn(episode, turn) for turn in range(start)]
        episode.turn = start
        revealed = self._reveal(episode, start)
        observation = self._user_message(episode, start, revealed)
        episode.transcript += transcript_entries(played)
        episode.transcript.append(("user", observation))
        self._maybe_render()
        info = self._info(episode, calls=[], new_tools=list(revealed))
        if played:
            info["history"] = history_messages(played)
        return observation, info

    def _replay_turn(self, episode: _Episode, turn: int) -> PlayedTurn:
        """Run turn ``turn``'s ground-truth calls as the agent's (as written, like the oracle's python actions)."""
        user = self._user_message(episode, turn, self._reveal(episode, turn))
        calls = episode.shadow.plan.written[turn]
        records = self._run_calls(episode, calls) if calls else []
        episode.made_call = False
        observation = self._fit(render_results(records, self.observation_format)) if records else None
        return PlayedTurn(turn, user, records, observation)

    def _reveal(self, episode: _Episode, turn: int) -> list[str]:
        """Make the held-out tools revealed at ``turn`` available; returns their names."""
        revealed = episode.reveals[turn]
        if revealed:
            episode.available = episode.available | frozenset(revealed)
            episode.schemas = None
        return revealed

    def _per_task(self, cache: dict[str, Any], task: Task, build: Callable[[], Any]) -> Any:
        """``build()`` once per task of this env's set (a task passed in ``options["task"]`` is not cached)."""
        cached = cache.get(task.id)
        if cached is not None and self._task_index.get(task.id) is task:
            return cached
        value = build()
        if self._task_index.get(task.id) is task:
            cache[task.id] = value
        return value

    def _config_blob(self, task: Task) -> bytes:
        """The task's initial config, pickled once per task: each load unpickles a private copy."""
        return self._per_task(
            self._config_cache,
            task,
            lambda: pickle.dumps(task.initial_config, protocol=pickle.HIGHEST_PROTOCOL),
        )

    def _start_tools(self, task: Task, tools: ToolRegistry) -> frozenset[str]:
        """The tools available in the first turn (all but the held-out ones), made once per task."""
        return self._per_task(
            self._start_tools_cache, task, lambda: frozenset(tools.names) - task.hidden_tools_at(0)
        )

    def _reveals(self, task: Task) -> tuple[list[str], ...]:
        """Per turn, the held-out tools revealed when it starts, sorted (once per task)."""

        def build() -> tuple[list[str], ...]:
            return tuple(
                sorted(task.hidden_tools_at(turn - 1) - task.hidden_tools_at(turn)) if turn else []
                for turn in range(task.num_turns)
            )

        return self._per_task(self._reveals_cache, task, build)

    def _run_calls(self, episode: _Episode, calls: Sequence[ToolCall]) -> list[CallRecord]:
        records: list[CallRecord] = []
        tools, shadow, available = episode.tools, episode.shadow, episode.available
        for name, args, kwargs in calls:
            episode.made_call = True
            arguments, (result, error) = tools.call(name, args, kwargs, available)
            shadow.observe(name, arguments, failed=error is not None)
            if len(result) > self.max_result_length:
                result = cut_text(result, self.max_result_length, "result")
            # A literal: a TypedDict call builds the same dict at twice the cost (this runs for every call).
            records.append({"name": name, "arguments": arguments, "result": result, "error": error})
            episode.agent_results.append(result)
        return records

    def _end_turn(self, episode: _Episode) -> tuple[str, SupportsFloat, bool, bool, StepInfo]:
        turn_result = self._check_current_turn(episode)
        episode.turn += 1
        episode.steps_in_turn = 0
        episode.made_call = False
        if episode.turn > episode.last_turn:
            return self._finish(episode, turn_result, truncated=False)
        revealed = self._reveal(episode, episode.turn)
        observation = self._user_message(episode, episode.turn, revealed)
        episode.transcript.append(("user", observation))
        self._maybe_render()
        return (
            observation,
            0.0,
            False,
            False,
            self._info(episode, calls=[], new_tools=list(revealed), turn_result=turn_result),
        )

    def _truncate(
        self, episode: _Episode, calls: list[CallRecord], action_error: ActionErrorInfo | None
    ) -> tuple[str, SupportsFloat, bool, bool, StepInfo]:
        # BFCL force-quits after the 21st step; a force-quit in the last turn is still scored normally there.
        turn_result = self._check_current_turn(episode)
        in_last_turn = episode.turn == episode.last_turn
        return self._finish(
            episode, turn_result, truncated=True, calls=calls, action_error=action_error, scored=in_last_turn
        )

    def _finish(
        self,
        episode: _Episode,
        turn_result: TurnResult,
        *,
        truncated: bool,
        calls: list[CallRecord] | None = None,
        action_error: ActionErrorInfo | None = None,
        scored: bool = True,
    ) -> tuple[str, SupportsFloat, bool, bool, StepInfo]:
        episode.done = True
        success = scored and all(result["passed"] for result in episode.turn_results)
        info = self._info(
            episode, calls=calls or [], action_error=action_error, turn_result=turn_result, success=success
        )
        self._maybe_render()
        return "", float(success), not truncated, truncated, info

    def _check_current_turn(self, episode: _Episode) -> TurnResult:
        expected, in_sync = episode.shadow.expected_results(episode.turn, episode.agent_results)
        result = check_turn(
            episode.turn,
            checked=bool(episode.task.ground_truth[episode.turn]),
            made_call=episode.made_call,
            agent=episode.domains,
            shadow=None if in_sync else episode.shadow.domains,
            agent_results=episode.agent_results,
            expected_results=expected,
        )
        episode.turn_results.append(result)
        return result

    def _user_message(self, episode: _Episode, turn: int, revealed: list[str]) -> str:
        message = episode.task.turns[turn]
        if revealed:
            message = f"{self._reveal_text(episode, revealed)}\n{REVEAL_MESSAGE}" + (
                f"\n{message}" if message else ""
            )
        return message if len(message) <= self.max_observation_length else self._fit(message)

    def _reveal_text(self, episode: _Episode, revealed: list[str]) -> str:
        """The revealed tools' schemas as indented JSON (rendered once per set of names: schemas are fixed)."""
        key = tuple(revealed)
        text = self._reveal_cache.get(key)
        if text is None:
            text = self._reveal_cache[key] = json.dumps(episode.tools.schemas(revealed), indent=2)
        return text

    def _fit(self, text: str) -> str:
        limit = self.max_observation_length
        if len(text) <= limit:
            return text
        return cut_text(text, limit, "observation")

    def _schemas(self, episode: _Episode) -> list[dict[str, Any]]:
        schemas = episode.schemas
        if schemas is None:  # a set of tools the env has seen before, in most episodes: shared, so frozen
            schemas = self._schema_cache.get(episode.available)
            if schemas is None:  # frozen once per tool set: no per-step copy, and no caller can change them
                schemas = freeze(episode.tools.schemas(episode.available))
                self._schema_cache[episode.available] = schemas
            episode.schemas = schemas
        return schemas

    def _info(
        self,
        episode: _Episode,
        *,
        calls: list[CallRecord],
        new_tools: list[str] | None = None,
        action_error: ActionErrorInfo | None = None,
        turn_result: TurnResult | None = None,
        success: bool | None = None,
    ) -> StepInfo:
        task = episode.task
        num_turns = len(task.turns)
        info: StepInfo = {
            "task_id": task.id,
            "category": task.category,
            "domains": list(task.domains),
            "turn": episode.turn if episode.turn <= episode.last_turn else episode.last_turn,
            "num_turns": num_turns,
            "num_checked_turns": episode.num_checked_turns,
            "step_in_turn": episode.steps_in_turn,
            "tools": self._schemas(episode),
            "new_tools": new_tools or [],
            "calls": calls,
        }
        if action_error is not None:
            info["action_error"] = action_error
        if turn_result is not None:
            info["turn_result"] = _handed_out(turn_result)
        if success is not None:
            info["success"] = success
        return info

    def _require_episode(self, allow_done: bool = False) -> _Episode:
        if self._episode is None:
            raise RuntimeError("call reset() before step()")
        if self._episode.done and not allow_done:
            raise RuntimeError("the episode is over; call reset() to start another")
        return self._episode

    def _maybe_render(self) -> None:
        if self.render_mode == "human":
            self.render()


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def _synth_options(
    num_tasks: int | None, seed: int | None, knobs: Mapping[str, int] | None
) -> dict[str, Any]:
    """The options given for ``task_source="synth"`` (any other source refuses them)."""
    given = {"num_tasks": num_tasks, "seed": seed, "knobs": knobs}
    return {name: value for name, value in given.items() if value is not None}


def _copy_episode(episode: _Episode) -> _Episode:
    """A deep copy, sharing the read-only task, schema list and reveals (the env's caches hold them too); the
    shadow's ground-truth plan, read-only too, is shared by its own ``__deepcopy__``."""
    memo: dict[int, Any] = {id(episode.reveals): episode.reveals, id(episode.task): episode.task}
    if episode.schemas is not None:
        memo[id(episode.schemas)] = episode.schemas
    return copy.deepcopy(episode, memo)


def _rejected(message: str) -> ParsedAction:
    return ParsedAction(calls=(), reply="", error=ActionError("format", message), format="invalid")


def _format_transcript(entries: Sequence[tuple[str, str]]) -> str:
    return "\n".join(f"[{role}]\n{text}\n" for role, text in entries)


def _handed_out(result: TurnResult) -> TurnResult:
    """A copy of the env's record of a turn for ``info``: what a caller does to it cannot change ``success``.

    Once per turn end, and a few small containers: the diff and the missing results are bounded.
    """
    copied = dict(result)
    copied["missing_results"] = list(result["missing_results"])
    copied["state_diff"] = {path: dict(entry) for path, entry in result["state_diff"].items()}
    return copied  # type: ignore[return-value]
