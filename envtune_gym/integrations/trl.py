"""TRL integration: GRPO on EnvTune envs with TRL's ``GRPOTrainer``, by ``rollout_func`` or ``environment_factory``.

Two ways in, for TRL 1.16 (``pip install "envtune-gym[train]" "trl==1.16.0"``):

- :func:`make_rollout_func` (**multi-turn, the BFCL path**): TRL hands the rollout function the batch's prompts;
  it plays one whole EnvTune episode per prompt with TRL's own generation (vLLM when ``use_vllm``, else the
  trainer's model), keeping the tokens exactly as :class:`~envtune_gym.agents.rollout.EpisodeRunner` does for the
  bundled agent: the model's tokens with ``env_mask`` 1, every env message (tool results, errors, the next user
  turn) as the chat template's delta with ``env_mask`` 0. The episode's reward comes from the env's wrappers
  (:class:`~envtune_gym.wrappers.ProgressReward` by default) in an ``env_reward`` column that
  :func:`env_reward` hands to the trainer.
- :func:`make_environment_class` (**single user turn**): a class for ``environment_factory``, one method per tool,
  so TRL runs its own tool-calling loop. TRL cannot inject a second user message, so it fits only tasks with one
  user turn (6 of BFCL's 800, none of the bundled tasks), or the first turn of any task with
  ``first_turn_only=True``.

:func:`task_dataset` builds the ``datasets.Dataset`` both take: one row per task, with a conversational prompt
whose user message carries the task id (TRL passes a rollout function nothing but the prompts).

torch, trl and datasets are imported inside the functions that need them: the package's doctests import every
module, and the suite has to pass without trl installed. The module relies on TRL 1.16 internals where TRL has
no public hook (the trainer's ``_generate_single_turn``, the attributes holding its generation cap); they are
checked at call time with an error naming the version this was written against.

Example:
    >>> from envtune_gym.integrations.trl import env_reward, make_rollout_func, task_dataset
    >>> from trl import GRPOConfig, GRPOTrainer  # doctest: +SKIP
    >>> trainer = GRPOTrainer(  # doctest: +SKIP
    ...     model="Qwen/Qwen3-4B-Instruct-2507",
    ...     reward_funcs=env_reward,
    ...     train_dataset=task_dataset("EnvTune/FileSystem-v0"),
    ...     rollout_func=make_rollout_func("EnvTune/FileSystem-v0", max_episode_tokens=8192),
    ...     args=GRPOConfig(max_completion_length=512, num_generations=8),
    ... )
    >>> trainer.train()  # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import gymnasium as gym

import envtune_gym  # noqa: F401 - registers the EnvTune/* ids
from envtune_gym.tasks import Task
from envtune_gym.wrappers import ProgressReward

if TYPE_CHECKING:
    import datasets
    from transformers import PreTrainedTokenizerBase
    from trl import GRPOTrainer

    from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, Trajectory

#: Builds one wrapper around an env (a wrapper class such as ``ProgressReward``, or a ``functools.partial``).
WrapperFactory = Callable[[gym.Env], gym.Env]

#: The TRL version whose internals this module was written against.
TRL_VERSION = "1.16.0"

#: Extra columns the rollout function returns besides TRL's required keys; TRL passes them to reward functions.
ENV_COLUMNS = ("env_reward", "env_success", "env_turns_passed", "env_turns_checked", "env_tool_calls",
               "env_call_errors", "env_finish")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# The dataset


def task_dataset(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    task_ids: Sequence[str] | None = None,
    max_turns: int | None = None,
    first_turn_only: bool = False,
    system_prompt: str | None = None,
    environment: str | None = None,
) -> datasets.Dataset:
    """One row per task of ``env_id``: the prompt TRL needs, with the task named in it.

    Each row has ``prompt``, a conversation whose user message is the task's first user message and carries the
    task id under a ``task_id`` key (the rollout function reads it there: TRL passes it nothing but the prompts),
    and a ``task_id`` column (what :func:`make_environment_class`'s ``reset`` reads).

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make`` (e.g. ``{"split": "train"}`` or ``{"task_source": "bfcl"}``).
        task_ids: only these tasks, in this order (repeat an id to weight it).
        max_turns: only tasks with at most this many user turns (``1`` for whole-task ``environment_factory``).
        first_turn_only: only tasks whose first turn is checked, for ``make_environment_class(...,
            first_turn_only=True)``.
        system_prompt: a system message before the user message (the rollout function passes it to the template).
        environment: adds an ``environment`` column with this name, to route rows when TRL's
            ``environment_factory`` is a dict of classes.

    Returns:
        A ``datasets.Dataset``.

    Raises:
        ValueError: for an unknown task id, or when no task is left.

    Example:
        >>> rows = task_dataset("EnvTune/FileSystem-v0", task_ids=["filesystem_base_0"])  # doctest: +SKIP
        >>> rows[0]["task_id"], rows[0]["prompt"][-1]["task_id"]  # doctest: +SKIP
        ('filesystem_base_0', 'filesystem_base_0')
    """
    from datasets import Dataset

    tasks = _select_tasks(_env_tasks(env_id, env_kwargs), task_ids, max_turns, first_turn_only)
    rows = [_row(task, system_prompt, environment) for task in tasks]
    if not rows:
        raise ValueError(f"no task of {env_id} with {dict(env_kwargs or {})} passes the filters "
                         f"(max_turns={max_turns}, first_turn_only={first_turn_only})")  # fmt: skip
    return Dataset.from_list(rows)


def _env_tasks(env_id: str, env_kwargs: Mapping[str, Any] | None) -> tuple[Task, ...]:
    env = gym.make(env_id, **dict(env_kwargs or {}))
    try:
        return tuple(env.unwrapped.tasks)
    finally:
        env.close()


def _select_tasks(
    tasks: Sequence[Task], task_ids: Sequence[str] | None, max_turns: int | None, first_turn_only: bool
) -> list[Task]:
    if task_ids is not None:
        index = {task.id: task for task in tasks}
        unknown = [task_id for task_id in task_ids if task_id not in index]
        if unknown:
            raise ValueError(f"unknown task ids {unknown[:5]}; the env has {len(tasks)} tasks")
        tasks = [index[task_id] for task_id in task_ids]
    if max_turns is not None:
        tasks = [task for task in tasks if task.num_turns <= max_turns]
    if first_turn_only:
        tasks = [task for task in tasks if task.ground_truth[0]]
    return list(tasks)


def _row(task: Task, system_prompt: str | None, environment: str | None) -> dict[str, Any]:
    # Every message has the same keys: Arrow stores the conversation as a list of structs of one type.
    prompt = [{"role": "user", "content": task.turns[0], "task_id": task.id}]
    if system_prompt is not None:
        prompt.insert(0, {"role": "system", "content": system_prompt, "task_id": None})
    row: dict[str, Any] = {"prompt": prompt, "task_id": task.id}
    if environment is not None:
        row["environment"] = environment
    return row


# ----------------------------------------------------------------------------------------------------------------
# rollout_func: whole multi-turn episodes


def make_rollout_func(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[WrapperFactory] = (ProgressReward,),
    max_new_tokens: int | None = None,
    max_episode_tokens: int = 8192,
    system_prompt: str | None = None,
    tool_docs: str = "full",
) -> EnvTuneRollout:
    """The ``rollout_func`` for TRL's ``GRPOTrainer``: one EnvTune episode per prompt, generated by TRL.

    TRL 1.16 calls ``rollout_func(prompts, trainer)`` with the process's prompts, each already repeated
    ``num_generations`` times (a GRPO group is consecutive rows), and expects one completion per prompt. For each
    prompt this resets an env on the prompt's task (see :func:`task_dataset`) and plays the episode to its end,
    generating each message with the trainer's backend (vLLM in colocate or server mode when ``use_vllm``, else
    the trainer's model, with TRL's sampling settings). It returns:

    - ``prompt_ids``: the chat template applied to the first user message with the env's tool schemas;
    - ``completion_ids``: the rest of the episode, ``a_1 | env_1 | a_2 | ... | a_K``;
    - ``env_mask``: 1 on the model's tokens, 0 on the env's (TRL multiplies it into the loss mask);
    - ``logprobs``: the sampling log-probs from vLLM (0.0 at env positions), or ``None`` without vLLM (TRL then
      recomputes old log-probs itself when it needs them);
    - the :data:`ENV_COLUMNS`: ``env_reward`` (the sum of the wrapped env's rewards), ``env_success``, turn and
      call counts and ``env_finish``, which TRL passes to reward functions such as :func:`env_reward`.

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make`` (e.g. ``{"split": "train", "max_steps_per_turn": 5}``).
        wrappers: applied in order around each env; they decide the reward (default: the progress reward).
        max_new_tokens: the cap of one message; ``None`` keeps the trainer's ``max_completion_length`` (which
            TRL's generation uses per call). The whole completion is bounded by ``max_episode_tokens`` instead.
        max_episode_tokens: an episode ends once prompt plus completion reach this (keep it within vLLM's
            ``vllm_max_model_length``).
        system_prompt: a system message for every episode, unless the prompt holds one.
        tool_docs: ``"full"`` or ``"compact"`` tool schemas in the prompt (see
            :func:`~envtune_gym.agents.rollout.compact_tools`).

    Returns:
        A callable :class:`EnvTuneRollout`; its ``last_trajectories`` holds the last batch's episodes.

    Example:
        >>> rollout = make_rollout_func("EnvTune/FileSystem-v0", max_new_tokens=256)
        >>> rollout.env_id, rollout.max_episode_tokens
        ('EnvTune/FileSystem-v0', 8192)
    """
    if max_new_tokens is not None and max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if max_episode_tokens < 2:
        raise ValueError(f"max_episode_tokens must be >= 2, got {max_episode_tokens}")
    return EnvTuneRollout(env_id, dict(env_kwargs or {}), tuple(wrappers), max_new_tokens, max_episode_tokens,
                          system_prompt, tool_docs)  # fmt: skip


@dataclass
class EnvTuneRollout:
    """TRL's ``rollout_func`` over an EnvTune env (build it with :func:`make_rollout_func`).

    Envs are made once and reused across calls (one per prompt of the largest batch seen); so are the probed chat
    formats, one per tokenizer and system prompt.
    """

    env_id: str
    env_kwargs: dict[str, Any]
    wrappers: tuple[WrapperFactory, ...]
    max_new_tokens: int | None
    max_episode_tokens: int
    system_prompt: str | None
    tool_docs: str
    #: The last call's episodes, in prompt order (for logging and tests).
    last_trajectories: list[Trajectory] = field(default_factory=list, repr=False)
    _envs: list[gym.Env] = field(default_factory=list, repr=False)
    _chats: dict[tuple[int, str | None], ChatFormat] = field(default_factory=dict, repr=False)

    def __call__(self, prompts: Sequence[Any], trainer: GRPOTrainer) -> dict[str, Any]:
        """Play one episode per prompt and return TRL's rollout dict (see :func:`make_rollout_func`)."""
        self._check(trainer)
        runners = self._start(prompts, _tokenizer(trainer))
        generate = TrainerGenerate(trainer, runners[0].chat.stop_ids if runners else [])
        with generation_cap(trainer, self.max_new_tokens):
            if runners:
                _run(runners, generate)
            generate.drain()  # with several processes, keep generating until every process is done
        self.last_trajectories = [runner.trajectory for runner in runners]
        return rollout_output(self.last_trajectories, _pad_id(trainer), with_logprobs=generate.has_logprobs)

    def _check(self, trainer: GRPOTrainer) -> None:
        args = getattr(trainer, "args", None)
        model_length = (
            getattr(args, "vllm_max_model_length", None) if getattr(trainer, "use_vllm", False) else None
        )
        if model_length is not None and self.max_episode_tokens > model_length:
            raise ValueError(f"max_episode_tokens={self.max_episode_tokens} exceeds vllm_max_model_length="
                             f"{model_length}: vLLM could not hold a whole episode")  # fmt: skip
        if getattr(trainer, "tools", None):
            raise ValueError("the trainer has tools (or an environment_factory): TRL would run its own tool loop "
                             "over the rollout's completions; pass rollout_func without them")  # fmt: skip

    def _start(self, prompts: Sequence[Any], tokenizer: PreTrainedTokenizerBase) -> list[EpisodeRunner]:
        from envtune_gym.agents.rollout import EpisodeRunner

        while len(self._envs) < len(prompts):
            self._envs.append(make_env(self.env_id, self.env_kwargs, self.wrappers))
        runners = []
        for env, prompt in zip(self._envs, prompts, strict=False):
            system = _system_prompt(prompt) or self.system_prompt
            runner = EpisodeRunner(env, self._chat(tokenizer, system), self.max_episode_tokens)
            runner.start(prompt_task_id(prompt))
            runners.append(runner)
        return runners

    def _chat(self, tokenizer: PreTrainedTokenizerBase, system: str | None) -> ChatFormat:
        from envtune_gym.agents.rollout import ChatFormat

        key = (id(tokenizer), system)
        if key not in self._chats:
            self._chats[key] = ChatFormat(tokenizer, system_prompt=system, tool_docs=self.tool_docs)
        return self._chats[key]


def _run(runners: list[EpisodeRunner], generate: TrainerGenerate) -> None:
    from envtune_gym.agents.rollout import run_episodes

    # One generate call per round over every active episode: TRL's backends batch internally.
    run_episodes(runners, generate, batch_size=len(runners))
    for runner in runners:
        # TrainerGenerate cuts a message at the episode's room and the runner then says "length"; call it
        # "budget", as the runner does when an env message fills the room: the episode ran out, not the message.
        if runner.trajectory.finish == "length" and runner.room <= 0:
            runner.trajectory.finish = "budget"


def make_env(env_id: str, env_kwargs: Mapping[str, Any], wrappers: Sequence[WrapperFactory]) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` inside ``wrappers``, applied in order.

    Example:
        >>> env = make_env("EnvTune/FileSystem-v0", {"max_steps_per_turn": 5}, [ProgressReward])
        >>> type(env).__name__, env.unwrapped.max_steps_per_turn
        ('ProgressReward', 5)
    """
    env = gym.make(env_id, **dict(env_kwargs))
    for wrapper in wrappers:
        env = wrapper(env)
    return env


def prompt_task_id(prompt: Any) -> str:
    """The task id a prompt of :func:`task_dataset` carries (on its last message that has one).

    Raises:
        ValueError: when the prompt names no task.

    Example:
        >>> prompt_task_id([{"role": "user", "content": "Hi", "task_id": "filesystem_base_0"}])
        'filesystem_base_0'
    """
    if isinstance(prompt, Sequence) and not isinstance(prompt, str):
        for message in reversed(prompt):
            if isinstance(message, Mapping) and message.get("task_id"):
                return str(message["task_id"])
    raise ValueError(
        "the prompt names no task: the rollout function reads the task id from a 'task_id' key of a prompt "
        f"message, as task_dataset() writes it; got {str(prompt)[:200]!r}"
    )


def _system_prompt(prompt: Any) -> str | None:
    if isinstance(prompt, Sequence) and prompt and isinstance(prompt[0], Mapping):
        if prompt[0].get("role") == "system" and isinstance(prompt[0].get("content"), str):
            return prompt[0]["content"]
    return None


def rollout_output(
    trajectories: Sequence[Trajectory], pad_id: int, *, with_logprobs: bool = True
) -> dict[str, Any]:
    """TRL's rollout dict for finished episodes: ids, ``env_mask``, log-probs and the :data:`ENV_COLUMNS`.

    Example:
        >>> from envtune_gym.agents.rollout import Trajectory  # doctest: +SKIP
        >>> episode = Trajectory("t", 0, [1, 2], [5, 6, 7], [1, 0, 1], [-0.5, 0.0, -0.1], reward=1.0)  # doctest: +SKIP
        >>> out = rollout_output([episode], pad_id=0)  # doctest: +SKIP
        >>> out["completion_ids"], out["env_mask"], out["env_reward"]  # doctest: +SKIP
        ([[5, 6, 7]], [[1, 0, 1]], [1.0])
    """
    completions, masks, logprobs = [], [], []
    for trajectory in trajectories:
        ids, mask, lps = trajectory.response_ids, trajectory.response_mask, trajectory.logprobs
        if not ids:  # TRL reads each completion's last token; an empty one would crash it
            ids, mask, lps = [pad_id], [0], [0.0]
        completions.append(list(ids))
        masks.append(list(mask))
        logprobs.append(list(lps))
    output: dict[str, Any] = {
        "prompt_ids": [list(trajectory.prompt_ids) for trajectory in trajectories],
        "completion_ids": completions,
        "logprobs": logprobs if with_logprobs else None,
        "env_mask": masks,
    }
    output.update(_env_columns(trajectories))
    return output


def _env_columns(trajectories: Sequence[Trajectory]) -> dict[str, list[Any]]:
    return {
        "env_reward": [float(t.reward) for t in trajectories],
        "env_success": [float(t.success) for t in trajectories],
        "env_turns_passed": [t.turns_passed for t in trajectories],
        "env_turns_checked": [t.turns_checked for t in trajectories],
        "env_tool_calls": [t.tool_calls for t in trajectories],
        "env_call_errors": [t.call_errors for t in trajectories],
        "env_finish": [t.finish for t in trajectories],
    }


def env_reward(
    completions: Sequence[Any], env_reward: Sequence[float] | None = None, **kwargs: Any
) -> list[float]:
    """The reward function for the rollout path: the episode rewards the env's wrappers gave.

    TRL passes the rollout function's extra columns to every reward function as keyword arguments; this one
    returns ``env_reward`` and logs the episodes' success rate, turn accuracy, calls per episode and call error
    rate through TRL's ``log_metric`` (as ``env/success`` and so on).

    Raises:
        ValueError: when there is no ``env_reward`` column (the trainer has no EnvTune ``rollout_func``).

    Example:
        >>> env_reward(["..."] * 2, env_reward=[1.0, 0.25])
        [1.0, 0.25]
    """
    if env_reward is None:
        raise ValueError("env_reward needs the 'env_reward' column that make_rollout_func's rollout returns; "
                         "pass rollout_func=make_rollout_func(...) to the trainer")  # fmt: skip
    if len(env_reward) != len(completions):
        raise ValueError(f"{len(env_reward)} env rewards for {len(completions)} completions")
    log_metric = kwargs.get("log_metric")
    if log_metric is not None and env_reward:
        for name, value in _episode_metrics(kwargs, len(env_reward)).items():
            log_metric(name, value)
    return [float(reward) for reward in env_reward]


def _episode_metrics(columns: Mapping[str, Any], count: int) -> dict[str, float]:
    metrics = {}
    if columns.get("env_success") is not None:
        metrics["env/success"] = sum(columns["env_success"]) / count
    if columns.get("env_turns_checked") is not None:
        checked = sum(columns["env_turns_checked"])
        metrics["env/turn_accuracy"] = sum(columns["env_turns_passed"]) / checked if checked else 0.0
    if columns.get("env_tool_calls") is not None:
        calls = sum(columns["env_tool_calls"])
        metrics["env/tool_calls_per_episode"] = calls / count
        metrics["env/call_error_rate"] = sum(columns["env_call_errors"]) / calls if calls else 0.0
    if columns.get("env_finish") is not None:
        metrics["env/frac_cut_by_length"] = (
            sum(f in ("length", "budget") for f in columns["env_finish"]) / count
        )
    return metrics


# ----------------------------------------------------------------------------------------------------------------
# Generation through the trainer


class TrainerGenerate:
    """A :data:`~envtune_gym.agents.rollout.GenerateFn` that generates with the trainer's own backend.

    It calls TRL's ``GRPOTrainer._generate_single_turn(..., num_generations=1)``, the call TRL's own tool loop
    makes for continuations: vLLM (colocate or server) when ``use_vllm``, transformers' continuous batching when
    enabled, else ``generate`` on the unwrapped model (gathering ZeRO-3 / FSDP shards), with TRL's sampling
    settings and ``max_completion_length`` (see :func:`generation_cap`) as the per-message cap. Messages longer
    than the episode's room are cut to it.

    With several processes the backends hold collectives (vLLM server's gather, tensor-parallel vLLM, ZeRO-3 and
    FSDP parameter gathering) and expect as many prompts on every process, so each call first agrees on the
    largest batch across processes and pads with one-token dummies; :meth:`drain` keeps a finished process
    generating dummies until every process is done.
    """

    def __init__(self, trainer: GRPOTrainer, stop_ids: Sequence[int]) -> None:
        if not callable(getattr(trainer, "_generate_single_turn", None)):
            raise RuntimeError(
                f"this trl has no GRPOTrainer._generate_single_turn; envtune_gym.integrations.trl was written "
                f"against trl=={TRL_VERSION}"
            )
        self.trainer = trainer
        self.stop_ids = set(stop_ids) | set(getattr(trainer, "eos_token_ids", []) or [])
        self.pad_id = _pad_id(trainer)
        self.has_logprobs = bool(getattr(trainer, "use_vllm", False))
        accelerator = getattr(trainer, "accelerator", None)
        self.distributed = accelerator is not None and accelerator.num_processes > 1

    def __call__(
        self, contexts: list[list[int]], rooms: list[int]
    ) -> list[tuple[list[int], list[float], bool]]:
        completions, logprobs = self._generate(contexts)
        return [
            self._fit(tokens, lps, room)
            for tokens, lps, room in zip(completions, logprobs, rooms, strict=True)
        ]

    def drain(self) -> None:
        """Take part in the other processes' generation rounds until every process has finished its episodes."""
        # Exactly one gather per round on every process, then the generation call: the active processes do the
        # same in _generate, so the collectives pair up.
        while self.distributed and (width := self._width(0)):
            self._generate([], width)

    def _generate(
        self, contexts: list[list[int]], width: int | None = None
    ) -> tuple[list[list[int]], list[list[float]]]:
        width = self._width(len(contexts)) if width is None else width
        padded = [list(context) for context in contexts] + [[self.pad_id]] * (width - len(contexts))
        completions, logprobs = self.trainer._generate_single_turn(padded, None, {}, num_generations=1)
        completions = [list(tokens) for tokens in completions[: len(contexts)]]
        if logprobs is None:
            logprobs = [[0.0] * len(tokens) for tokens in completions]
        return completions, [list(lps) for lps in logprobs[: len(contexts)]]

    def _width(self, count: int) -> int:
        if not self.distributed:
            return count
        import torch

        accelerator = self.trainer.accelerator
        counts = accelerator.gather(torch.tensor([count], device=accelerator.device))
        return int(counts.max().item())

    def _fit(
        self, tokens: list[int], logprobs: list[float], room: int
    ) -> tuple[list[int], list[float], bool]:
        limit = max(1, room)
        if len(tokens) > limit:
            return tokens[:limit], logprobs[:limit], False
        return tokens, logprobs, bool(tokens) and tokens[-1] in self.stop_ids


@contextmanager
def generation_cap(trainer: GRPOTrainer, max_new_tokens: int | None) -> Iterator[None]:
    """Temporarily set the per-call generation cap of the trainer's backend to ``max_new_tokens``.

    TRL 1.16 keeps it in ``generation_config.max_new_tokens`` and ``generation_kwargs`` (transformers) and in
    ``vllm_generation.max_completion_length`` (vLLM), all set from ``max_completion_length``. ``None`` leaves it.

    Example:
        >>> from types import SimpleNamespace
        >>> trainer = SimpleNamespace(generation_kwargs={"max_new_tokens": 512})
        >>> with generation_cap(trainer, 64):
        ...     trainer.generation_kwargs["max_new_tokens"]
        64
        >>> trainer.generation_kwargs["max_new_tokens"]
        512
    """
    if max_new_tokens is None:
        yield
        return
    targets = [(getattr(trainer, "generation_config", None), "max_new_tokens"),
               (getattr(trainer, "vllm_generation", None), "max_completion_length")]  # fmt: skip
    saved = [
        (obj, name, getattr(obj, name)) for obj, name in targets if obj is not None and hasattr(obj, name)
    ]
    kwargs = getattr(trainer, "generation_kwargs", None)
    saved_kwarg = kwargs.get("max_new_tokens") if isinstance(kwargs, dict) else None
    try:
        for obj, name, _ in saved:
            setattr(obj, name, max_new_tokens)
        if isinstance(kwargs, dict) and "max_new_tokens" in kwargs:
            kwargs["max_new_tokens"] = max_new_tokens
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)
        if isinstance(kwargs, dict) and "max_new_tokens" in kwargs:
            kwargs["max_new_tokens"] = saved_kwarg


def _tokenizer(trainer: GRPOTrainer) -> PreTrainedTokenizerBase:
    # TRL 1.16 keeps the tokenizer as ``_tokenizer`` (a VLM processor's inner one); a processor holds it too.
    tokenizer = getattr(trainer, "_tokenizer", None)
    if tokenizer is None:
        processing_class = trainer.processing_class
        tokenizer = getattr(processing_class, "tokenizer", processing_class)
    return tokenizer


def _pad_id(trainer: GRPOTrainer) -> int:
    tokenizer = _tokenizer(trainer)
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


# ----------------------------------------------------------------------------------------------------------------
# environment_factory: single-user-turn tasks, TRL's own tool loop


class EnvTuneEnvironment:
    """Base of the classes :func:`make_environment_class` builds; TRL's ``environment_factory`` contract.

    TRL makes instances with no arguments and reuses them: ``reset(**row)`` starts an episode on the row's task,
    each public method is a tool that runs one call as one env step (returning the call's result string, as
    BFCL's executor gives it), and ``get_reward()`` ends the user turn (the env checks it) and returns the sum of
    the wrapped env's rewards. Only ``reset`` and ``get_reward`` are public here: TRL exposes every other public
    function of the class as a tool.
    """

    _env_id: str = ""
    _env_kwargs: dict[str, Any] = {}  # replaced per subclass, never mutated
    _wrappers: tuple[WrapperFactory, ...] = ()
    _first_turn_only: bool = False

    def __init__(self) -> None:
        self.env = make_env(self._env_id, self._env_kwargs, self._wrappers)
        self._tasks = {task.id: task for task in self.env.unwrapped.tasks}
        #: The episode's task (cut to its first turn with ``first_turn_only``).
        self.task: Task | None = None
        self.reward = 0.0
        self.done = True

    def reset(self, **row: Any) -> str | None:
        """Start an episode on ``row["task_id"]``; return the first user message unless the prompt holds it."""
        task = self._episode_task(row.get("task_id"))
        observation, _ = self.env.reset(options={"task": task})
        self.task, self.reward, self.done = task, 0.0, False
        return None if _mentions(row.get("prompt"), observation) else observation

    def get_reward(self) -> float:
        """End the user turn (if the episode is still open) and return the episode's reward."""
        if not self.done:
            self._step("")  # a reply without a call ends the turn; the env checks it
        return self.reward

    def _episode_task(self, task_id: Any) -> Task:
        if task_id is None:
            raise ValueError(
                "reset() needs the row's 'task_id' (build the dataset with task_dataset()): without it the "
                "num_generations rollouts of a GRPO group could play different tasks"
            )
        if task_id not in self._tasks:
            raise ValueError(f"unknown task_id {task_id!r} for {self._env_id}")
        task = self._tasks[task_id]
        if self._first_turn_only:
            if not task.ground_truth[0]:
                raise ValueError(
                    f"task {task_id}: its first turn is not checked, so it has no reward to learn"
                )
            return first_turn(task)
        if task.num_turns > 1:
            raise ValueError(
                f"task {task_id} has {task.num_turns} user turns, but TRL's environment_factory cannot inject "
                "the next user message: pass first_turn_only=True to train on first turns, filter the dataset "
                "with task_dataset(max_turns=1), or use make_rollout_func for whole episodes"
            )
        return task

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self.done:
            return "Error: the episode is over; no more calls run."
        action = "<tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</tool_call>"
        observation, info = self._step(action)
        calls = info.get("calls") or []
        # The call's own result string; a rejected action (e.g. a bad argument type) reports in the observation.
        return calls[0]["result"] if calls else observation

    def _step(self, action: str) -> tuple[str, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.reward += float(reward)
        self.done = bool(terminated or truncated)
        return observation, info


def make_environment_class(
    env_id: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    wrappers: Sequence[WrapperFactory] = (ProgressReward,),
    first_turn_only: bool = False,
    class_name: str | None = None,
) -> type[EnvTuneEnvironment]:
    """A class for TRL's ``environment_factory``: one method per tool of ``env_id``, with its schema.

    Each tool method has a synthesised ``__signature__`` (keyword-only parameters; optional ones default to the
    schema's default, else ``None``), ``__annotations__`` (``str``, ``int``, ``float``, ``bool``, ``list[...]``,
    ``dict``, ``Literal`` for enums, ``| None`` for nullable types) and a Google docstring with the tool's and
    each parameter's description, so ``transformers.utils.get_json_schema`` (what TRL renders into the prompt)
    gives back the schema's names, types, enums, required list and descriptions. The tools are the union of those
    the env's tasks offer at reset.

    **Single user turn only.** TRL's tool loop ends when the model answers without a call and cannot add the next
    user message, so ``reset`` refuses a task with several user turns. ``first_turn_only=True`` instead plays
    each task cut to its first turn (its first turn must be checked); the reward is then that turn's. Of the
    bundled tasks none has a single turn and 165 of 211 have a checked first turn; of BFCL's 800, 6 and 625.

    Args:
        env_id: an ``EnvTune/*`` id.
        env_kwargs: passed to ``gym.make``.
        wrappers: applied in order around each env; they decide the reward (default: the progress reward).
        first_turn_only: play every task's first user turn only.
        class_name: the class's name (TRL logs the reward under it); defaults to ``<Domain>Environment``.

    Returns:
        A subclass of :class:`EnvTuneEnvironment`.

    Raises:
        ValueError: when a tool's name or parameter cannot be a Python method or parameter name.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0", first_turn_only=True)
        >>> env = FileSystem()
        >>> env.reset(task_id="filesystem_base_0")[:40]
        'Hi! Before I start working, can you tell'
        >>> env.pwd(), env.get_reward()
        ('{"current_working_directory": "/priya"}', 1.0)
    """
    env_kwargs = dict(env_kwargs or {})
    schemas = _tool_schemas(env_id, env_kwargs)
    namespace: dict[str, Any] = {
        "_env_id": env_id,
        "_env_kwargs": env_kwargs,
        "_wrappers": tuple(wrappers),
        "_first_turn_only": first_turn_only,
        "__doc__": f"TRL environment over {env_id}: {len(schemas)} tools (see EnvTuneEnvironment).",
        "__module__": __name__,
    }
    for schema in schemas:
        name = schema["function"]["name"]
        if not name.isidentifier() or name.startswith("_") or name in ("reset", "get_reward"):
            raise ValueError(f"tool {name!r} cannot be a public method of the environment class")
        namespace[name] = tool_method(schema)
    default_name = re.sub(r"\W", "", env_id.split("/")[-1].split("-")[0]) + "Environment"
    return type(class_name or default_name, (EnvTuneEnvironment,), namespace)


def tool_methods(environment: EnvTuneEnvironment) -> list[Callable[..., str]]:
    """The bound tool methods of ``environment``, as TRL 1.16 finds and orders them (public functions, by name).

    Pass them as ``tools=`` to ``tokenizer.apply_chat_template`` to render the prompt TRL renders.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0")
        >>> [method.__name__ for method in tool_methods(FileSystem())][:4]
        ['cat', 'cd', 'cp', 'diff']
    """
    names = [name for name, _ in inspect.getmembers(type(environment), predicate=inspect.isfunction)]
    return [getattr(environment, name) for name in names if not name.startswith("_") and name not in
            ("reset", "get_reward")]  # fmt: skip


def oracle_messages(environment: EnvTuneEnvironment, task_id: str) -> list[dict[str, Any]]:
    """The oracle's episode on ``task_id`` as TRL's tool loop writes one: ``tool_calls`` and ``tool`` messages.

    The calls run in ``environment`` (so the tool messages hold the real results) and the episode ends with the
    oracle's reply. For supervised warm starts on the ``environment_factory`` path, e.g. with TRL's
    ``SFTTrainer`` and ``tools=tool_methods(environment)``.

    Example:
        >>> FileSystem = make_environment_class("EnvTune/FileSystem-v0", first_turn_only=True)
        >>> messages = oracle_messages(FileSystem(), "filesystem_base_0")
        >>> [message["role"] for message in messages], messages[1]["tool_calls"][0]["function"]["name"]
        (['user', 'assistant', 'tool', 'assistant'], 'pwd')
    """
    from envtune_gym.actions import parse_action
    from envtune_gym.agents.oracle import oracle_actions

    environment.reset(task_id=task_id)
    task = environment.task
    assert task is not None  # reset() set it
    messages: list[dict[str, Any]] = [{"role": "user", "content": task.turns[0]}]
    for action in oracle_actions(task, style="hermes"):
        calls = parse_action(action).calls
        if not calls:
            messages.append({"role": "assistant", "content": action})
            break
        tool_calls = [{"type": "function", "function": {"name": call.name, "arguments": call.kwargs}}
                      for call in calls]  # fmt: skip
        messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
        for call in calls:
            result = getattr(environment, call.name)(**call.kwargs)
            messages.append({"role": "tool", "name": call.name, "content": result})
    return messages


def first_turn(task: Task) -> Task:
    """``task`` cut to its first user turn (its ground truth too; nothing held out).

    Example:
        >>> from envtune_gym.tasks.bundled import load_bundled
        >>> first_turn(load_bundled("filesystem")[0]).turns == load_bundled("filesystem")[0].turns[:1]
        True
    """
    return task.model_copy(
        update={"turns": task.turns[:1], "ground_truth": task.ground_truth[:1], "held_out": {}}
    )


def _mentions(prompt: Any, observation: str) -> bool:
    if not isinstance(prompt, Sequence) or isinstance(prompt, str):
        return False
    return any(isinstance(m, Mapping) and m.get("content") == observation for m in prompt)


def _tool_schemas(env_id: str, env_kwargs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The union of the tools the env's tasks offer at reset, in first-seen order (one reset per domain set)."""
    env = gym.make(env_id, **dict(env_kwargs))
    try:
        schemas: dict[str, dict[str, Any]] = {}
        seen: set[tuple[str, ...]] = set()
        for task in env.unwrapped.tasks:
            if tuple(task.domains) in seen:
                continue
            seen.add(tuple(task.domains))
            _, info = env.reset(options={"task": first_turn(task)})
            for schema in info["tools"]:
                schemas.setdefault(schema["function"]["name"], schema)
        return list(schemas.values())
    finally:
        env.close()


# ----------------------------------------------------------------------------------------------------------------
# Tool methods with synthesised signatures


def tool_method(schema: Mapping[str, Any]) -> Callable[..., str]:
    """A method that runs the tool of ``schema`` (OpenAI format) in the env, documented for ``get_json_schema``.

    Example:
        >>> schema = {"type": "function", "function": {"name": "cd", "description": "Change directory.",
        ...     "parameters": {"type": "object", "properties": {"folder": {"type": "string",
        ...     "description": "Where to go."}}, "required": ["folder"]}}}
        >>> method = tool_method(schema)
        >>> method.__name__, str(inspect.signature(method))
        ('cd', '(self, *, folder: str) -> str')
        >>> print(method.__doc__)
        Change directory.
        <BLANKLINE>
        Args:
            folder: Where to go.
        <BLANKLINE>
        Returns:
            The call's result, as the environment reports it.
    """
    function = schema["function"]
    name = function["name"]
    parameters_schema = function.get("parameters") or {}
    properties = parameters_schema.get("properties") or {}
    required = set(parameters_schema.get("required") or [])

    def tool(self: EnvTuneEnvironment, **arguments: Any) -> str:
        return self._call(name, arguments)

    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    for parameter, spec in properties.items():
        if not parameter.isidentifier() or parameter in ("self", "arguments"):
            raise ValueError(f"tool {name}: parameter {parameter!r} cannot be a Python parameter name")
        annotations[parameter] = json_type_annotation(spec)
        default = inspect.Parameter.empty if parameter in required else spec.get("default")
        parameters.append(inspect.Parameter(parameter, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotations[parameter]))  # fmt: skip
    annotations["return"] = str
    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    tool.__annotations__ = annotations
    tool.__doc__ = _docstring(function.get("description", ""), properties)
    return tool


def json_type_annotation(spec: Mapping[str, Any]) -> Any:
    """The Python annotation ``get_json_schema`` turns back into the JSON schema type ``spec``.

    Example:
        >>> json_type_annotation({"type": ["string", "null"]})
        typing.Optional[str]
        >>> json_type_annotation({"type": "array", "items": {"type": "integer"}})
        list[int]
        >>> json_type_annotation({"type": "string", "enum": ["l", "w"]})
        typing.Literal['l', 'w']
    """
    if spec.get("enum") and all(isinstance(value, (str, int, float, bool)) for value in spec["enum"]):
        base: Any = typing.Literal[tuple(spec["enum"])]
        types = [base] + ([type(None)] if _nullable(spec) else [])
        return typing.Union[tuple(types)] if len(types) > 1 else base  # noqa: UP007 - built from a list
    kinds = spec.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    types = [_json_type(kind, spec) for kind in kinds]
    if len(types) == 1:
        return types[0]
    return typing.Union[tuple(types)]  # noqa: UP007 - built from a list


def _nullable(spec: Mapping[str, Any]) -> bool:
    kinds = spec.get("type")
    return isinstance(kinds, list) and "null" in kinds


def _json_type(kind: str, spec: Mapping[str, Any]) -> Any:
    simple = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None),
              "object": dict, "dict": dict, "any": Any}  # fmt: skip
    if kind in simple:
        return simple[kind]
    if kind in ("array", "tuple"):
        items = spec.get("items")
        return list[json_type_annotation(items)] if isinstance(items, Mapping) and items else list
    raise ValueError(f"unsupported JSON schema type {kind!r}")


def _docstring(description: str, properties: Mapping[str, Mapping[str, Any]]) -> str:
    lines = [_one_line(description) or "A tool."]
    if properties:
        lines += ["", "Args:"]
        lines += [
            f"    {name}: {_one_line(spec.get('description', '')) or name}"
            for name, spec in properties.items()
        ]
    lines += ["", "Returns:", "    The call's result, as the environment reports it."]
    return "\n".join(lines)


def _one_line(text: str) -> str:
    # get_json_schema splits the docstring at "Args:", "Returns:" and "Raises:" and each argument at a new line
    # starting "name:", so descriptions go on one line with those section words defused.
    text = " ".join(text.split())
    return re.sub(r"\b(Args|Returns|Raises):", r"\1 -", text)


# ----------------------------------------------------------------------------------------------------------------
# Tool-call parsing for Hermes-style templates


def add_hermes_response_parser(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """Give ``tokenizer`` TRL's Qwen3 response parser (``<tool_call>`` JSON blocks), unless it has one.

    TRL's ``environment_factory`` and ``tools`` parse the model's tool calls with ``tokenizer.parse_response``
    and set the parser only for chat templates it knows by exact text. Templates that write Hermes
    ``<tool_call>`` blocks under another text (the tiny policy's prefix-preserving one, fine-tuned variants)
    need it set by hand.

    Example:
        >>> from envtune_gym.agents.tiny import build_tiny_policy  # doctest: +SKIP
        >>> _, tokenizer = build_tiny_policy(vocab_size=600)  # doctest: +SKIP
        >>> tokenizer = add_hermes_response_parser(tokenizer)  # doctest: +SKIP
        >>> tokenizer.parse_response('<tool_call>\\n{"name": "pwd", "arguments": {}}\\n</tool_call><|im_end|>')  # doctest: +SKIP
        {'role': 'assistant', 'content': '', 'tool_calls': [{'type': 'function', 'function': {'name': 'pwd', 'arguments': {}}}]}
    """
    import transformers
    from packaging.version import Version
    from trl.chat_template_utils import qwen3_schema, qwen3_template

    target = getattr(tokenizer, "tokenizer", tokenizer)  # a VLM processor's tokenizer parses
    if getattr(target, "response_template", None) is not None or getattr(target, "response_schema", None):
        return tokenizer
    # transformers 5.13 introduced response templates; older versions understand only the legacy schema.
    if Version(transformers.__version__) >= Version("5.13.0.dev0"):
        target.response_template = qwen3_template
    else:
        target.response_schema = qwen3_schema
    return tokenizer
