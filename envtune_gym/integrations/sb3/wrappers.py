"""The SB3 wrappers: :class:`CatalogueActions` (``Discrete`` actions), :class:`HashedObservations` (a float32
``Box``), :class:`ForceQuitTerminates`, and :func:`make_sb3_env`, which composes them.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Mapping
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from envtune_gym.envs.factory import make_env
from envtune_gym.envs.tool_env import REVEAL_MESSAGE
from envtune_gym.integrations.sb3.catalogue import (
    _PADDING,
    END_TURN,
    CatalogueEntry,
    _build_calls,
    _Context,
    ground_truth_entries,
    message_values,
    result_values,
    state_strings,
)
from envtune_gym.tasks import Task
from envtune_gym.wrappers import ProgressReward

#: Scalar features after the two hashed blocks of :class:`HashedObservations`.
NUM_SCALARS = 5

_MAX_CLIP = 8.0
_TOKEN = re.compile(r"\w+")


class CatalogueActions(gym.Wrapper[str, np.int64, str, str], gym.utils.RecordConstructorArgs):
    """``Discrete(max_actions)`` actions over a per-task catalogue of candidate calls (see the package docstring).

    Index 0 ends the user turn; indices ``1..`` are single tool calls built from the tool schemas and the values
    the episode has shown; indices past the catalogue are padding (a no-op ``format`` error by default).

    Args:
        env: an EnvTune env with text actions (``gym.make("EnvTune/...")``, possibly reward-wrapped).
        max_actions: ``n``, the size of the action space (the catalogue is padded to it).
        per_tool_cap: the most calls one tool contributes per build (and per growth step).
        max_values: the most candidate values per parameter (the newest values first).
        oracle_catalogue: pin the task's ground-truth calls at indices ``1..g``. It leaks the ground truth:
            a diagnostic upper bound, not a fair agent (``info["catalogue"]["oracle_catalogue"]`` says so).
        rebuild: ``"turn"`` rebuilds the generic entries at each new user turn; ``"episode"`` only at reset.
        reserve: the share of ``max_actions`` a (re)build leaves free for values seen later in the turn.
        padding: what padding indices do: ``"noop"`` (an unparseable call: a step of the turn's budget, a
            ``format`` error, no call) or ``"end_turn"``.

    ``info["catalogue"]``: ``index`` and ``action`` (the index taken and the text sent; -1 and "" on reset),
    ``kind`` (``end_turn``, ``call``, ``padding``), ``size`` (real entries now), ``max_actions`` and
    ``oracle_catalogue``.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = CatalogueActions(gym.make("EnvTune/FileSystem-v0"), max_actions=64)
        >>> obs, info = env.reset(options={"task_id": "filesystem_base_1"})
        >>> obs
        'My editor wants to know how long my notes are. How many words are in notes.txt?'
        >>> index = env.index_of("[wc(file_name='notes.txt', mode='w')]")
        >>> obs, reward, terminated, truncated, info = env.step(index)
        >>> obs
        '<tool_response>\\n{"count": 14, "type": "words"}\\n</tool_response>'
        >>> env.step(0)[4]["turn_result"]["passed"]
        True
    """

    def __init__(
        self,
        env: gym.Env[str, str],
        max_actions: int = 128,
        *,
        per_tool_cap: int = 12,
        max_values: int = 12,
        oracle_catalogue: bool = False,
        rebuild: Literal["turn", "episode"] = "turn",
        reserve: float = 0.25,
        padding: Literal["noop", "end_turn"] = "noop",
    ) -> None:
        _check_catalogue_args(max_actions, per_tool_cap, max_values, rebuild, reserve, padding)
        gym.utils.RecordConstructorArgs.__init__(
            self, max_actions=max_actions, per_tool_cap=per_tool_cap, max_values=max_values,
            oracle_catalogue=oracle_catalogue, rebuild=rebuild, reserve=reserve, padding=padding,
        )  # fmt: skip
        gym.Wrapper.__init__(self, env)
        self.max_actions = max_actions
        self.per_tool_cap = per_tool_cap
        self.max_values = max_values
        self.oracle_catalogue = oracle_catalogue
        self.rebuild = rebuild
        self.reserve = reserve
        self.padding = padding
        self.action_space = gym.spaces.Discrete(max_actions)
        self._entries: list[CatalogueEntry] = []
        self._texts: set[str] = set()
        self._pinned = 1
        self._tools: list[dict[str, Any]] = []
        self._context = _Context()

    @property
    def catalogue(self) -> tuple[CatalogueEntry, ...]:
        """The real entries now (index ``i`` is ``catalogue[i]``; padding excluded)."""
        return tuple(self._entries)

    def entry(self, index: int) -> CatalogueEntry:
        """What index ``index`` does now: a catalogue entry, or the padding / end-turn action past its end."""
        index = self._index(index)
        if index < len(self._entries):
            return self._entries[index]
        return END_TURN if self.padding == "end_turn" else _PADDING

    def index_of(self, text: str) -> int | None:
        """The index of a call's canonical text (``"[ls(a=True)]"``) or ``"Done."``; ``None`` if absent."""
        return next((index for index, entry in enumerate(self._entries) if entry.text == text), None)

    def action_masks(self) -> np.ndarray:
        """``True`` for the real entries, ``False`` for padding (sb3-contrib's ``MaskablePPO`` reads this)."""
        mask = np.zeros(self.max_actions, dtype=bool)
        mask[: len(self._entries)] = True
        return mask

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        if "tools" not in info or not isinstance(observation, str):
            raise TypeError("CatalogueActions wraps an EnvTune env: text observations and info['tools']")
        self._context = _Context()
        self._tools = info["tools"]
        self._observe_message(observation)
        self._entries, self._texts = [END_TURN], {END_TURN.text}
        if self.oracle_catalogue:
            self._pin_ground_truth()
        self._pinned = len(self._entries)
        self._fill(self._build_limit())
        info["catalogue"] = self._info(-1, None)
        return observation, info

    def step(self, action: Any) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        index = self._index(action)
        entry = self.entry(index)
        observation, reward, terminated, truncated, info = self._step_text(entry.text)
        info["catalogue"] = self._info(index, entry)
        return observation, reward, terminated, truncated, info

    # --------------------------------------------------------------------------------------------------------

    def _step_text(self, text: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Send ``text`` to the env and update the catalogue from what it shows."""
        observation, reward, terminated, truncated, info = self.env.step(text)
        if not (terminated or truncated):
            self._update(observation, info)
        return observation, reward, terminated, truncated, info

    def _update(self, observation: str, info: Mapping[str, Any]) -> None:
        self._tools = info["tools"]
        if info["step_in_turn"] == 0:  # the step ended a turn: the observation is the next user message
            self._observe_message(observation)
            if self.rebuild == "turn":
                for entry in self._entries[self._pinned :]:
                    self._texts.discard(entry.text)
                del self._entries[self._pinned :]
                self._fill(self._build_limit())
                return
        else:
            for call in info["calls"]:
                self._context.add(result_values(call["result"]))
        self._fill(self.max_actions)

    def _observe_message(self, message: str) -> None:
        # A reveal message starts with the new tools' JSON schemas: their keys are not values of the task.
        message = message.split(REVEAL_MESSAGE, 1)[-1]
        domains = getattr(self.env.unwrapped, "domains", {})
        known = state_strings(domains) | self._context.seen_strings
        self._context.add(message_values(message, known))

    def _pin_ground_truth(self) -> None:
        task = getattr(self.env.unwrapped, "task", None)
        if not isinstance(task, Task):
            raise TypeError("oracle_catalogue=True needs env.unwrapped.task (an EnvTune env)")
        for entry in ground_truth_entries(task):
            if entry.text not in self._texts:
                self._entries.append(entry)
                self._texts.add(entry.text)
        if len(self._entries) > self.max_actions:
            raise ValueError(
                f"task {task.id} has {len(self._entries) - 1} distinct ground-truth calls, more than "
                f"max_actions - 1 = {self.max_actions - 1}: raise max_actions or drop the task"
            )

    def _build_limit(self) -> int:
        return max(self._pinned, self.max_actions - int(self.reserve * self.max_actions))

    def _fill(self, limit: int) -> None:
        if len(self._entries) >= limit:
            return
        calls = _build_calls(
            self._tools, self._context, per_tool_cap=self.per_tool_cap, max_values=self.max_values
        )
        for entry in calls:
            if len(self._entries) >= limit:
                break
            if entry.text not in self._texts:
                self._entries.append(entry)
                self._texts.add(entry.text)

    def _index(self, action: Any) -> int:
        value = np.asarray(action)
        if value.size != 1 or value.dtype.kind not in "iu":
            raise TypeError(f"a CatalogueActions action is one integer index, got {action!r}")
        index = int(value.reshape(()))
        if not 0 <= index < self.max_actions:
            raise ValueError(f"action index {index} is outside Discrete({self.max_actions})")
        return index

    def _info(self, index: int, entry: CatalogueEntry | None) -> dict[str, Any]:
        return {
            "index": index,
            "action": entry.text if entry else "",
            "kind": entry.kind if entry else "",
            "size": len(self._entries),
            "max_actions": self.max_actions,
            "oracle_catalogue": self.oracle_catalogue,
        }


def _check_catalogue_args(
    max_actions: int, per_tool_cap: int, max_values: int, rebuild: str, reserve: float, padding: str
) -> None:
    if max_actions < 2:
        raise ValueError(f"max_actions must be >= 2 (end turn and at least one call), got {max_actions}")
    if per_tool_cap < 1 or max_values < 1:
        raise ValueError(f"per_tool_cap and max_values must be >= 1, got {per_tool_cap} and {max_values}")
    if rebuild not in ("turn", "episode"):
        raise ValueError(f"rebuild must be 'turn' or 'episode', got {rebuild!r}")
    if not 0.0 <= reserve < 1.0:
        raise ValueError(f"reserve must be in [0, 1), got {reserve}")
    if padding not in ("noop", "end_turn"):
        raise ValueError(f"padding must be 'noop' or 'end_turn', got {padding!r}")


class HashedObservations(gym.Wrapper[np.ndarray, Any, str, Any], gym.utils.RecordConstructorArgs):
    """A float32 ``Box`` of shape ``(2 * dim + NUM_SCALARS,)`` encoding the text observations.

    Layout: ``[0, dim)`` hashed ``log1p`` token counts of the current turn's user message; ``[dim, 2 * dim)``
    the same for the last step's results (or error; zeros at a turn's start); then ``turn / num_turns``,
    ``min(step_in_turn / max_steps_per_turn, 1)``, *the last step had a failed call or a rejected action*,
    *the last step started a new turn*, *a call was made in this turn*. Tokens are the lower-cased ``\\w+``
    runs, hashed with CRC-32 (deterministic across processes, unlike ``hash``); counts are clipped at 8.

    Args:
        env: an env with text observations and EnvTune's ``info`` (``turn``, ``num_turns``, ``step_in_turn``,
            ``calls``), e.g. a :class:`CatalogueActions`.
        dim: hash buckets per text block.
        max_steps_per_turn: scales the step feature; default ``env.unwrapped.max_steps_per_turn`` (or 20).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = HashedObservations(gym.make("EnvTune/FileSystem-v0"), dim=32)
        >>> obs, info = env.reset(seed=0)
        >>> obs.shape, obs.dtype, bool(obs[:32].any()), bool(obs[32:64].any())
        ((69,), dtype('float32'), True, False)
    """

    def __init__(
        self, env: gym.Env[str, Any], dim: int = 512, *, max_steps_per_turn: int | None = None
    ) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        gym.utils.RecordConstructorArgs.__init__(self, dim=dim, max_steps_per_turn=max_steps_per_turn)
        gym.Wrapper.__init__(self, env)
        self.dim = dim
        self.max_steps_per_turn = max_steps_per_turn or getattr(env.unwrapped, "max_steps_per_turn", 20)
        high = np.full(2 * dim + NUM_SCALARS, _MAX_CLIP, dtype=np.float32)
        high[2 * dim :] = 1.0
        self.observation_space = gym.spaces.Box(0.0, high, dtype=np.float32)
        self._message = np.zeros(dim, dtype=np.float32)
        self._made_call = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        self._message = hash_text(observation, self.dim)
        self._made_call = False
        return self._encode(None, info, error=False, new_turn=True), info

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        new_turn = info["step_in_turn"] == 0
        if new_turn:
            self._message, self._made_call, results = hash_text(observation, self.dim), False, None
        else:
            self._made_call = self._made_call or bool(info["calls"])
            results = observation
        error = "action_error" in info or any(call["error"] for call in info["calls"])
        return (
            self._encode(results, info, error=error, new_turn=new_turn),
            reward,
            terminated,
            truncated,
            info,
        )

    def _encode(
        self, results: str | None, info: Mapping[str, Any], *, error: bool, new_turn: bool
    ) -> np.ndarray:
        scalars = np.array(
            [
                info["turn"] / max(info["num_turns"], 1),
                min(info["step_in_turn"] / self.max_steps_per_turn, 1.0),
                error,
                new_turn,
                self._made_call,
            ],
            dtype=np.float32,
        )
        block = np.zeros(self.dim, dtype=np.float32) if results is None else hash_text(results, self.dim)
        return np.concatenate([self._message, block, scalars])


@functools.lru_cache(maxsize=1 << 16)
def _bucket(token: str, dim: int) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass")) % dim


def hash_text(text: str, dim: int) -> np.ndarray:
    """``log1p`` counts (clipped at 8) of the lower-cased ``\\w+`` tokens of ``text`` hashed into ``dim`` buckets.

    Example:
        >>> vector = hash_text("ls ls cd", 8)
        >>> vector.dtype, vector.shape, round(float(np.expm1(vector).sum()), 4)  # three tokens
        (dtype('float32'), (8,), 3.0)
    """
    buckets = [_bucket(token, dim) for token in _TOKEN.findall(text.lower())]
    counts = np.bincount(np.asarray(buckets, dtype=np.int64), minlength=dim)
    return np.minimum(np.log1p(counts), _MAX_CLIP).astype(np.float32)


def make_sb3_env(
    env: str | gym.Env[str, str] = "EnvTune/FileSystem-v0",
    *,
    max_actions: int = 128,
    per_tool_cap: int = 12,
    max_values: int = 12,
    oracle_catalogue: bool = False,
    rebuild: Literal["turn", "episode"] = "turn",
    reserve: float = 0.25,
    padding: Literal["noop", "end_turn"] = "noop",
    dim: int = 512,
    progress_reward: bool = True,
    reward_kwargs: Mapping[str, Any] | None = None,
    force_quit_terminates: bool = True,
    **make_kwargs: Any,
) -> gym.Env[np.ndarray, np.int64]:
    """An SB3-ready EnvTune env: ``ProgressReward`` (optional) -> :class:`CatalogueActions` ->
    :class:`HashedObservations` -> :class:`ForceQuitTerminates` (optional).

    Args:
        env: an env id for ``gym.make`` (with ``make_kwargs``, e.g. ``tasks=``, ``category=``,
            ``max_steps_per_turn=``), or an EnvTune env already made.
        max_actions, per_tool_cap, max_values, oracle_catalogue, rebuild, reserve, padding: see
            :class:`CatalogueActions`.
        dim: see :class:`HashedObservations`.
        progress_reward: wrap in :class:`~envtune_gym.wrappers.ProgressReward` (dense: each checked turn adds its
            share of the episode's mean turn score); ``False`` keeps BFCL's sparse 0/1 reward.
        reward_kwargs: ``ProgressReward`` arguments: ``partial_credit``, ``format_penalty`` (padding no-ops are
            ``format`` errors, so this also discourages padding), ``execution_penalty``.
        force_quit_terminates: report the env's truncation (BFCL's force-quit) as termination; see
            :class:`ForceQuitTerminates` for why SB3 needs it.

    Example:
        >>> from stable_baselines3 import PPO  # doctest: +SKIP
        >>> env = make_sb3_env("EnvTune/FileSystem-v0", category="base", max_steps_per_turn=4)  # doctest: +SKIP
        >>> model = PPO("MlpPolicy", env, seed=0).learn(2048)  # doctest: +SKIP
    """
    base = make_env(env, make_kwargs) if isinstance(env, str) else env
    if make_kwargs and not isinstance(env, str):
        raise TypeError(f"make_kwargs {sorted(make_kwargs)} need an env id, not an env instance")
    if progress_reward:
        base = ProgressReward(base, **(reward_kwargs or {}))
    elif reward_kwargs:
        raise ValueError("reward_kwargs need progress_reward=True")
    actions = CatalogueActions(
        base, max_actions, per_tool_cap=per_tool_cap, max_values=max_values,
        oracle_catalogue=oracle_catalogue, rebuild=rebuild, reserve=reserve, padding=padding,
    )  # fmt: skip
    observations = HashedObservations(actions, dim)
    return ForceQuitTerminates(observations) if force_quit_terminates else observations


class ForceQuitTerminates(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Report truncation as termination: an EnvTune truncation is BFCL's force-quit, the end of the task.

    SB3 treats ``truncated`` as a time limit cutting a task that would go on: it adds ``gamma * V(final
    observation)`` to the last reward. Here the episode has no future (the force-quit turn was checked and the
    task is over), so that bootstrap would make running out the step budget look as good as going on, a trap
    measured in practice: PPO learned to repeat a call until the force-quit instead of ending the turn.
    ``info["force_quit"]`` marks the step.

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> env = ForceQuitTerminates(gym.make("EnvTune/FileSystem-v0", max_steps_per_turn=1))
        >>> _ = env.reset(options={"task_id": "filesystem_base_0"})
        >>> _ = env.step("[pwd()]")
        >>> terminated, truncated, info = env.step("[pwd()]")[2:]
        >>> terminated, truncated, info["force_quit"]
        (True, False, True)
    """

    def __init__(self, env: gym.Env) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if truncated and not terminated:
            info["force_quit"] = True
            terminated, truncated = True, False
        return observation, reward, terminated, truncated, info
