"""The EnvTune agent loop for verl: whole multi-turn episodes over verl's async vLLM/SGLang servers.

Importing this module imports verl and registers :class:`EnvTuneAgentLoop` under
:data:`~envtune_gym.integrations.verl.data.AGENT_NAME`. On a Ray cluster the loop is found through the
agent-loop config file instead (its ``_target_`` is this class), which every AgentLoopWorker imports.

The loop depends on verl's small, stable surface only: ``AgentLoopBase`` (its config, server manager and
tokenizer), ``register``, ``server_manager.generate`` -> ``TokenOutput``, ``AgentLoopOutput`` and
``AgentLoopMetrics``. Token bookkeeping is the library's own :class:`~envtune_gym.agents.rollout.EpisodeRunner`,
the one the bundled GRPO agent and the TRL rollout use, so the three train on identical token layouts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
from verl.experimental.agent_loop.agent_loop import (
    AgentLoopBase,
    AgentLoopMetrics,
    AgentLoopOutput,
    register,
)

from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, Trajectory
from envtune_gym.envs.factory import make_env
from envtune_gym.integrations.verl.data import AGENT_NAME, DEFAULT_WRAPPERS, EpisodeRequest, resolve_wrappers

__all__ = ["REWARD_EXTRA_KEYS", "EnvTuneAgentLoop", "env_pool", "reward_extra_info"]

#: Per-episode values handed to verl as ``reward_extra_info``: verl logs them per ``data_source`` in validation.
REWARD_EXTRA_KEYS = ("env_success", "env_turns_passed", "env_turns_checked", "env_tool_calls", "env_call_errors",
                     "env_cut_by_length")  # fmt: skip


class _EnvPool:
    """Idle envs by (env id, kwargs, wrappers), shared by the loops of one worker process.

    verl builds a new agent-loop object for every trajectory; making an env each time would reload task files
    (all 800 BFCL tasks for ``EnvTune/BFCL-v0``). The loops of a worker share one event loop thread, so taking and
    returning envs needs no lock; an env is never used by two episodes at once.
    """

    def __init__(self) -> None:
        self._idle: dict[str, list[gym.Env]] = defaultdict(list)

    def acquire(
        self, env_id: str, env_kwargs: Mapping[str, Any], wrapper_specs: Sequence[Any]
    ) -> tuple[str, gym.Env]:
        key = json.dumps([env_id, env_kwargs, list(wrapper_specs)], sort_keys=True, default=str)
        if self._idle[key]:
            return key, self._idle[key].pop()
        return key, make_env(env_id, env_kwargs, resolve_wrappers(wrapper_specs))

    def release(self, key: str, env: gym.Env) -> None:
        self._idle[key].append(env)

    def clear(self) -> None:
        for envs in self._idle.values():
            for env in envs:
                env.close()
        self._idle.clear()


#: The worker process's env pool.
env_pool = _EnvPool()
_CHATS: dict[tuple[int, str | None, str], ChatFormat] = {}


@register(AGENT_NAME)
class EnvTuneAgentLoop(AgentLoopBase):
    """verl ``AgentLoopBase`` that plays one EnvTune episode per dataset row and returns it as token ids.

    For a row of :func:`~envtune_gym.integrations.verl.data.task_rows` it resets the row's env on the row's task,
    renders the prompt (tools included) with the model's chat template, then alternates: generate one message
    through verl's server manager (token in, token out, sticky to one server for its prefix cache), step the env
    with it, append the env's reply (tool results, errors, hints, the next user turn) as the template's delta.
    The :class:`~verl.experimental.agent_loop.agent_loop.AgentLoopOutput` holds:

    - ``response_ids`` / ``response_mask``: ``a_1 | env_1 | a_2 | ...`` with 1 on the model's tokens and 0 on the
      env's, cut to ``rollout.response_length``;
    - ``response_logprobs``: the servers' sampling log-probs (0.0 at env positions) when
      ``rollout.calculate_log_probs`` is on, else ``None``;
    - ``reward_score``: the episode's summed wrapper reward (verl then skips its reward loop for the batch);
    - ``extra_fields["reward_extra_info"]``: :data:`REWARD_EXTRA_KEYS`, logged per data source in validation.

    Constructor options beyond verl's come from the agent-loop config entry (see
    :func:`~envtune_gym.integrations.verl.data.agent_loop_config`): ``wrappers``, ``env_kwargs``, ``tool_docs``,
    ``system_prompt``, ``max_new_tokens``.

    Raises (inside ``run``, failing the rollout with the reason):
        ValueError: for a row without the EnvTune fields, or a prompt longer than ``rollout.prompt_length``.
    """

    def __init__(
        self,
        *args: Any,
        wrappers: Sequence[Any] = DEFAULT_WRAPPERS,
        env_kwargs: Mapping[str, Any] | None = None,
        tool_docs: str = "full",
        system_prompt: str | None = None,
        max_new_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("name", None)  # the config entry's own name reaches the constructor too
        super().__init__(*args, **kwargs)
        self.wrapper_specs = _plain(wrappers)
        resolve_wrappers(self.wrapper_specs)
        self.default_env_kwargs = _plain(env_kwargs or {})
        if tool_docs not in ("full", "compact"):
            raise ValueError(f"tool_docs must be 'full' or 'compact', got {tool_docs!r}")
        if max_new_tokens is not None and int(max_new_tokens) < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        self.tool_docs = tool_docs
        self.system_prompt = system_prompt
        self.max_new_tokens = None if max_new_tokens is None else int(max_new_tokens)
        self.prompt_length = int(self.rollout_config.prompt_length)
        self.response_length = int(self.rollout_config.response_length)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Play the row's episode (``kwargs`` are the dataset row's fields) and return it for training."""
        request = EpisodeRequest.from_row(kwargs, self.default_env_kwargs)
        key, env = env_pool.acquire(request.env_id, request.env_kwargs, self.wrapper_specs)
        try:
            runner = EpisodeRunner(env, self._chat(request.system_prompt or self.system_prompt))
            timings, has_logprobs = await self._play(runner, request, sampling_params)
        finally:
            env_pool.release(key, env)
        return self._output(runner.trajectory, timings, has_logprobs)

    async def _play(
        self, runner: EpisodeRunner, request: EpisodeRequest, sampling_params: dict[str, Any]
    ) -> tuple[dict[str, float], bool]:
        """Run the episode; the seconds spent generating and in the env, and whether every message had log-probs."""
        started = time.perf_counter()
        runner.start(request.task_id, seed=request.seed)
        prompt_ids = runner.trajectory.prompt_ids
        if len(prompt_ids) > self.prompt_length:
            raise ValueError(f"task {request.task_id}: the prompt (tools included) has {len(prompt_ids)} tokens, more "
                             f"than actor_rollout_ref.rollout.prompt_length={self.prompt_length}; raise "
                             "data.max_prompt_length, or pass tool_docs='compact' in the agent-loop config")  # fmt: skip
        runner.max_episode_tokens = len(prompt_ids) + self.response_length
        params = dict(sampling_params)
        params["stop_token_ids"] = sorted(set(params.get("stop_token_ids") or []) | set(runner.chat.stop_ids))
        request_id = uuid.uuid4().hex
        generating, has_logprobs = 0.0, True
        while not runner.done:
            room = runner.room if self.max_new_tokens is None else min(runner.room, self.max_new_tokens)
            room = max(1, room)
            ticked = time.perf_counter()
            output = await self.server_manager.generate(
                request_id=request_id, prompt_ids=runner.trajectory.input_ids,
                sampling_params={**params, "max_tokens": room},
            )  # fmt: skip
            generating += time.perf_counter() - ticked
            tokens, logprobs, stopped = self._message(output, room, runner.chat.stop_ids)
            has_logprobs = has_logprobs and logprobs is not None
            runner.feed(tokens, logprobs, stopped)
        env_seconds = time.perf_counter() - started - generating
        return {"generate_sequences": generating, "tool_calls": env_seconds}, has_logprobs

    @staticmethod
    def _message(
        output: Any, room: int, stop_ids: Sequence[int]
    ) -> tuple[list[int], list[float] | None, bool]:
        tokens = list(output.token_ids)
        logprobs = None if output.log_probs is None else [float(value) for value in output.log_probs]
        if logprobs is not None and len(logprobs) != len(tokens):
            raise ValueError(f"the server returned {len(tokens)} tokens but {len(logprobs)} log-probs")
        if len(tokens) > room:  # a server that ignores max_tokens: keep the episode within its budget
            tokens, logprobs = tokens[:room], None if logprobs is None else logprobs[:room]
            return tokens, logprobs, False
        stopped = (
            bool(tokens) and tokens[-1] in stop_ids and getattr(output, "stop_reason", None) != "aborted"
        )
        return tokens, logprobs, stopped

    def _chat(self, system_prompt: str | None) -> ChatFormat:
        key = (id(self.tokenizer), system_prompt, self.tool_docs)
        chat = _CHATS.get(key)
        if chat is None or chat.tokenizer is not self.tokenizer:  # an id can be reused once an object is gone
            chat = _CHATS[key] = ChatFormat(
                self.tokenizer, system_prompt=system_prompt, tool_docs=self.tool_docs
            )
        return chat

    def _output(
        self, trajectory: Trajectory, timings: dict[str, float], has_logprobs: bool
    ) -> AgentLoopOutput:
        limit = self.response_length
        output = AgentLoopOutput(
            prompt_ids=list(trajectory.prompt_ids),
            response_ids=trajectory.response_ids[:limit],
            response_mask=trajectory.response_mask[:limit],
            response_logprobs=trajectory.logprobs[:limit] if has_logprobs else None,
            reward_score=float(trajectory.reward),
            num_turns=1
            + 2 * trajectory.messages
            - (trajectory.finish in ("terminated", "truncated", "length")),
            metrics=AgentLoopMetrics(**timings),
        )
        output.extra_fields["reward_extra_info"] = reward_extra_info(trajectory)
        output.extra_fields["env_finish"] = trajectory.finish
        output.extra_fields["task_id"] = trajectory.task_id
        return output


def reward_extra_info(trajectory: Trajectory) -> dict[str, float]:
    """The :data:`REWARD_EXTRA_KEYS` of one episode, as floats."""
    return {
        "env_success": float(trajectory.success),
        "env_turns_passed": float(trajectory.turns_passed),
        "env_turns_checked": float(trajectory.turns_checked),
        "env_tool_calls": float(trajectory.tool_calls),
        "env_call_errors": float(trajectory.call_errors),
        "env_cut_by_length": float(trajectory.cut_by_length),
    }


def _plain(value: Any) -> Any:
    """An OmegaConf container (what hydra passes from the YAML) as plain dicts and lists."""
    try:
        from omegaconf import OmegaConf

        if OmegaConf.is_config(value):
            return OmegaConf.to_container(value, resolve=True)
    except ImportError:  # pragma: no cover - verl depends on omegaconf
        pass
    return value
