"""Served episodes: one env per episode, each tool call a step of it, and a bounded table of live episodes.

Nothing here imports ``mcp``: :class:`ServedEpisode` is the env seen from a server (call a tool, end the turn,
read the verdicts), and :class:`EpisodeTable` keeps at most ``max_episodes`` of them and closes those unused for
``idle_timeout_s`` seconds, on a clock you can inject. The MCP layer (:mod:`envtune_gym.serve.mcp_server`) and
the HTTP control API (:mod:`envtune_gym.serve.http`) both go through here, so they give the same answers.

Every call goes through ``env.step`` as a one-call JSON action, so the env's checker sees exactly what the client
did, and the result text is ``info["calls"][0]["result"]`` byte for byte.

Example:
    >>> episode = ServedEpisode.open("EnvTune/FileSystem-v0", "filesystem_base_0")
    >>> episode.call("pwd", {})
    CallAnswer(text='{"current_working_directory": "/priya"}', error=None)
    >>> episode.call("pwd", {"x": 1}).error
    'invalid_arguments'
    >>> episode.state()["turn"], episode.state()["done"]
    (0, False)
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from envtune_gym.actions import parse_action
from envtune_gym.envs.factory import make_env
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.info import StepInfo, TurnResult
from envtune_gym.tools import ErrorCategory

T = TypeVar("T")

#: ``env_kwargs`` a client may set per episode over HTTP; anything else (a task file path, ...) is the operator's,
#: given once as ``envtune serve --env-kwargs``.
CLIENT_ENV_KWARGS = frozenset(
    {"split", "category", "task_source", "num_tasks", "synth_seed", "max_steps_per_turn"}
)
#: The most synthesized tasks one episode's env may ask for (a client's request must not cost unbounded work).
MAX_CLIENT_NUM_TASKS = 1000


class EpisodeError(Exception):
    """A request the served episodes refuse: an HTTP ``status`` and a one-line message saying what to do.

    Example:
        >>> EpisodeError(404, "no episode 'x'").status
        404
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class CallAnswer(NamedTuple):
    """What a tool call answers: the env's text and its error category (``None``: the call succeeded)."""

    text: str
    error: ErrorCategory | None


@dataclass(frozen=True)
class ServeLimits:
    """The server's bounds. ``max_body_bytes`` applies over HTTP (stdio's peer is the parent process).

    Example:
        >>> ServeLimits(max_episodes=0)
        Traceback (most recent call last):
        ...
        ValueError: ServeLimits.max_episodes must be a positive number, got 0
    """

    #: Episodes open at once; creating one more is refused (HTTP 503) until one ends or expires.
    max_episodes: int = 64
    #: An episode with no request for this many seconds is closed (its id then answers 404).
    idle_timeout_s: float = 900.0
    #: Larger HTTP request bodies are refused (413) before they are parsed.
    max_body_bytes: int = 1_048_576

    def __post_init__(self) -> None:
        for name in ("max_episodes", "idle_timeout_s", "max_body_bytes"):
            value = getattr(self, name)
            integral = name != "idle_timeout_s"
            if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
                raise ValueError(f"ServeLimits.{name} must be a positive number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"ServeLimits.{name} must be a positive number, got {value!r}")


@dataclass
class ServedEpisode:
    """One episode of an EnvTune env, driven by tool calls and turn ends instead of model text.

    Make one with :meth:`open`. ``tools()`` is ``info["tools"]`` now (held-out tools join at their turn);
    ``call`` runs one tool call as an env step; ``end_turn`` ends the user turn with the env's verdict;
    ``state`` reads the verdicts so far.
    """

    env_id: str
    env: Any  # the env as made (gymnasium wrappers around a ToolUseEnv)
    info: StepInfo
    user_message: str
    #: The turns before the start turn as chat messages (empty for an episode started at turn 0).
    history: list[dict[str, Any]] = field(default_factory=list)
    turn_results: list[TurnResult] = field(default_factory=list)
    done: bool = False
    truncated: bool = False
    reward: float = 0.0
    success: bool | None = None

    @classmethod
    def open(
        cls, env_id: str, task_id: str, env_kwargs: Mapping[str, Any] | None = None, start_turn: Any = 0
    ) -> ServedEpisode:
        """Make the env and reset it to ``task_id``, from turn ``start_turn`` (the ground-truth state after the
        turns before it, which the state's ``history`` holds: per-turn evaluation over MCP).

        Raises:
            EpisodeError: (400) an unknown env id, argument, task id or start turn, with the env's own message.
        """
        if not isinstance(task_id, str) or not task_id:
            raise EpisodeError(400, "task_id must be a non-empty string (a task id, see envtune list)")
        try:
            env = make_env(env_id, env_kwargs)
            observation, info = env.reset(options={"task_id": task_id, "start_turn": start_turn})
        except (ValueError, TypeError, OSError) as exc:  # OSError: a task file the operator named is missing
            raise EpisodeError(400, " ".join(str(exc).split())) from None
        return cls(
            env_id=env_id, env=env, info=info, user_message=observation, history=info.get("history", [])
        )

    @property
    def unwrapped(self) -> ToolUseEnv:
        """The :class:`ToolUseEnv` inside the wrappers."""
        return self.env.unwrapped

    def tools(self) -> list[dict[str, Any]]:
        """The tools available now, in OpenAI format (``info["tools"]``, frozen: read it, do not change it)."""
        return self.info["tools"]

    def call(self, name: str, arguments: Mapping[str, Any] | None) -> CallAnswer:
        """Run one tool call as an env step: the env's result text and error category.

        A refused action (too long, too deeply nested) answers the env's observation, ``Error (category): ...``.

        Raises:
            EpisodeError: (409) the episode is over.
        """
        self._require_running()
        _, reward, terminated, truncated, info = self.env.step(call_action(name, arguments or {}))
        self._absorb(info, float(reward), terminated, truncated)
        if "action_error" in info:
            error = info["action_error"]
            return CallAnswer(f"Error ({error['category']}): {error['message']}", error["category"])
        record = info["calls"][0]
        return CallAnswer(record["result"], record["error"])

    def end_turn(self, reply: str | None = None) -> dict[str, Any]:
        """End the user turn with ``reply`` (plain text, no tool calls): the verdict and the next user message.

        Raises:
            EpisodeError: (409) the episode is over; (400) ``reply`` is not text or holds tool calls.
        """
        self._require_running()
        text = "" if reply is None else reply
        if not isinstance(text, str):
            raise EpisodeError(400, f"reply must be a string, got {type(text).__name__}")
        parsed = parse_action(text, self.unwrapped.action_limits)
        if not parsed.is_reply:
            why = parsed.error.message if parsed.error else "it holds tool calls"
            raise EpisodeError(400, f"the reply does not end the turn: {why} (make calls with tools/call)")
        observation, reward, terminated, truncated, info = self.env.step(text)
        self._absorb(info, float(reward), terminated, truncated)
        if not self.done:
            self.user_message = observation
        return {
            "turn_result": _plain(info.get("turn_result")),
            "user_message": None if self.done else observation,
            "new_tools": list(info["new_tools"]),
            **self._outcome(),
        }

    def state(self) -> dict[str, Any]:
        """The episode as the control API reports it: turn, verdicts so far, reward, the tools now.

        Example:
            >>> episode = ServedEpisode.open("EnvTune/FileSystem-v0", "filesystem_base_0")
            >>> sorted(episode.state())[:4]
            ['category', 'done', 'env_id', 'history']
        """
        info = self.info
        return {
            "env_id": self.env_id,
            "task_id": info["task_id"],
            "category": info["category"],
            "turn": info["turn"],
            "num_turns": info["num_turns"],
            "num_checked_turns": info["num_checked_turns"],
            "step_in_turn": info["step_in_turn"],
            "user_message": None if self.done else self.user_message,
            "tools": [tool["function"]["name"] for tool in self.tools()],
            "turn_results": [_plain(result) for result in self.turn_results],
            "history": _plain(self.history),
            **self._outcome(),
        }

    def close(self) -> None:
        """Close the env (the episode answers nothing after this)."""
        self.done = True
        self.env.close()

    def _outcome(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "truncated": self.truncated,
            "reward": self.reward,
            "success": self.success,
        }

    def _absorb(self, info: StepInfo, reward: float, terminated: bool, truncated: bool) -> None:
        self.info = info
        if "turn_result" in info:
            self.turn_results.append(info["turn_result"])
        if terminated or truncated:
            self.done, self.truncated, self.reward = True, truncated, reward
            self.success = info.get("success")

    def _require_running(self) -> None:
        if self.done:
            raise EpisodeError(
                409, "the episode is over; read its verdicts (envtune/episode) or start another"
            )


def call_action(name: str, arguments: Mapping[str, Any]) -> str:
    """One call as the env's JSON action text. ``<`` is written ``\\u003c``: no argument can read as a tag.

    Example:
        >>> call_action("echo", {"content": "<tool_call>"})
        '[{"name": "echo", "arguments": {"content": "\\\\u003ctool_call>"}}]'
    """
    text = json.dumps([{"name": name, "arguments": dict(arguments)}], ensure_ascii=False)
    return text.replace("<", "\\u003c")  # (only inside strings: JSON has no other "<")


def client_env_kwargs(base: Mapping[str, Any], requested: Any) -> dict[str, Any]:
    """The operator's ``env_kwargs`` updated with a client's (only :data:`CLIENT_ENV_KWARGS`, bounded).

    Example:
        >>> client_env_kwargs({"tasks": "mine.jsonl"}, {"split": "test"})
        {'tasks': 'mine.jsonl', 'split': 'test'}
        >>> client_env_kwargs({}, {"tasks": "/etc/passwd"})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        envtune_gym.serve.episodes.EpisodeError: env_kwargs 'tasks' cannot be set per episode; ...
    """
    if requested is None:
        return dict(base)
    if not isinstance(requested, dict):
        raise EpisodeError(400, f"env_kwargs must be a JSON object, got {type(requested).__name__}")
    for key in requested:
        if key not in CLIENT_ENV_KWARGS:
            raise EpisodeError(
                400,
                f"env_kwargs {key!r} cannot be set per episode; allowed: {', '.join(sorted(CLIENT_ENV_KWARGS))} "
                "(the operator sets the rest with envtune serve --env-kwargs)",
            )
    num_tasks = requested.get("num_tasks")
    if num_tasks is not None and not (isinstance(num_tasks, int) and 0 < num_tasks <= MAX_CLIENT_NUM_TASKS):
        raise EpisodeError(400, f"env_kwargs num_tasks must be an integer in 1..{MAX_CLIENT_NUM_TASKS}")
    return {**base, **requested}


class EpisodeTable(Generic[T]):
    """Live episodes by id: at most ``limits.max_episodes``, each closed after ``limits.idle_timeout_s`` unused.

    Ids are random (128 bits): an episode is reached only by whoever created it or was given its id. Expiry is
    checked on every access (and whenever :meth:`sweep` runs), on ``clock``, so tests move time by hand.

    Example:
        >>> now = [0.0]
        >>> table = EpisodeTable(ServeLimits(max_episodes=1, idle_timeout_s=10), close=print, clock=lambda: now[0])
        >>> first = table.add("episode A")
        >>> table.add("episode B")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        envtune_gym.serve.episodes.EpisodeError: 1 episodes are open, the most this server allows; ...
        >>> now[0] = 11.0
        >>> expired = table.sweep()
        episode A
        >>> len(table)
        0
    """

    def __init__(
        self,
        limits: ServeLimits,
        close: Callable[[T], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self._close = close
        self._clock = clock
        self._entries: dict[str, tuple[T, float]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def require_room(self) -> None:
        """Raise unless one more episode may open (after closing the expired ones).

        Raises:
            EpisodeError: (503) ``max_episodes`` are open.
        """
        self.sweep()
        if len(self._entries) >= self.limits.max_episodes:
            raise EpisodeError(
                503,
                f"{self.limits.max_episodes} episodes are open, the most this server allows; end one "
                "(DELETE /episodes/{id}) or wait for idle ones to expire",
            )

    def add(self, value: T) -> str:
        """Store ``value`` under a new id and return it.

        Raises:
            EpisodeError: (503) ``max_episodes`` are open (after closing the expired ones).
        """
        self.require_room()
        episode_id = secrets.token_hex(16)
        self._entries[episode_id] = (value, self._clock())
        return episode_id

    def get(self, episode_id: str) -> T:
        """The episode ``episode_id``, marked used now.

        Raises:
            EpisodeError: (404) no such episode (never made, ended, or expired).
        """
        self.sweep()
        entry = self._entries.get(episode_id)
        if entry is None:
            raise EpisodeError(404, f"no episode {episode_id[:64]!r} (ended, expired, or never made)")
        self._entries[episode_id] = (entry[0], self._clock())
        return entry[0]

    def remove(self, episode_id: str) -> T:
        """Close and forget ``episode_id``; returns it.

        Raises:
            EpisodeError: (404) no such episode.
        """
        value = self.get(episode_id)
        del self._entries[episode_id]
        self._close(value)
        return value

    def sweep(self) -> list[str]:
        """Close the episodes unused for ``idle_timeout_s``; their ids."""
        deadline = self._clock() - self.limits.idle_timeout_s
        expired = [key for key, (_, used) in self._entries.items() if used <= deadline]
        for key in expired:
            value, _ = self._entries.pop(key)
            self._close(value)
        return expired

    def close_all(self) -> None:
        """Close every episode (the server is stopping)."""
        while self._entries:
            _, (value, _) = self._entries.popitem()
            self._close(value)


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (an env's verdict holds domain values: lists, dicts, numbers, strings)."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=repr))
