"""Policies that ``envtune eval`` scores: the oracle, a random baseline and a local transformers model.

A policy is anything with a ``name``, ``start(task_info)`` and ``act(observation, info)`` (:class:`Policy`).
The runner calls ``start`` once per episode, right after ``env.reset``, with the first observation, the
``info`` of the reset, the :class:`~envtune_gym.tasks.Task` itself and the sample index; an episode that starts
at a later turn (``envtune eval --per-turn``) has the turns before it in ``info["history"]``, as chat messages the
policy puts before the first observation; then ``act`` once per
step with the latest observation and ``info``, and steps the env with the text it returns. A policy may also
expose ``messages`` (a list of chat messages): the runner records it with the episode instead of the env's
transcript. The OpenAI-compatible endpoint policy lives in :mod:`envtune_gym.eval.endpoint`.

torch and transformers are imported only by :class:`TransformersPolicy`, so the rest works without them.

Example:
    >>> import gymnasium as gym, envtune_gym
    >>> env = gym.make("EnvTune/FileSystem-v0")
    >>> observation, info = env.reset(options={"task_id": "filesystem_base_0"})
    >>> policy = OraclePolicy()
    >>> policy.start({"observation": observation, "info": info, "task": env.unwrapped.task, "sample": 0})
    >>> done = False
    >>> while not done:
    ...     observation, reward, terminated, truncated, info = env.step(policy.act(observation, info))
    ...     done = terminated or truncated
    >>> info["success"]
    True
"""

from __future__ import annotations

import copy
import json
import random
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypedDict, runtime_checkable

from envtune_gym.eval.batching import BatchedGenerator
from envtune_gym.tasks import Task
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, ActionStyle, oracle_actions

#: What :class:`RandomPolicy` says when it ends a turn.
RANDOM_REPLY = "I have done what I can for this request."

# Strings a random call may use as an argument: a few plausible names, paths, tickers and ids.
_WORDS = ("test", "docs", "file.txt", "notes", "alice", "bob", "NVDA", "AAPL", "LAX", "JFK", "USD", "1", "")


class TaskInfo(TypedDict):
    """What a policy gets at the start of an episode."""

    #: The first user message (the observation of ``env.reset``).
    observation: str
    #: The ``info`` of ``env.reset``: ``info["tools"]`` holds the tool schemas in OpenAI format, ``info["turn"]``
    #: the turn the episode starts at, and ``info["history"]`` (when that is not the first) the turns before it.
    info: dict[str, Any]
    #: The task being played (``env.unwrapped.task``), ground truth included: only the oracle should read it.
    task: Task
    #: Which of the task's samples this episode is (0-based), for per-episode seeding.
    sample: int


@runtime_checkable
class Policy(Protocol):
    """An agent that ``envtune eval`` can score. One instance plays one episode at a time.

    Example:
        >>> isinstance(RandomPolicy(seed=0), Policy)
        True
    """

    #: A short label for reports, e.g. ``"oracle"`` or ``"openai:qwen3-4b"``.
    name: str

    def start(self, task_info: TaskInfo) -> None:
        """Begin an episode (called right after ``env.reset``)."""
        ...

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """The action text for ``env.step``, given the latest observation and ``info``."""
        ...


class PolicyError(RuntimeError):
    """A policy cannot go on with an episode; the runner records the episode as failed, with this message."""


class ContextLengthError(PolicyError):
    """The conversation no longer fits in the model's context window."""


def episode_seed(seed: int, task_id: str, sample: int) -> int:
    """A 32-bit seed for one episode, stable across runs, processes and worker scheduling.

    Example:
        >>> episode_seed(0, "filesystem_base_0", 1) == episode_seed(0, "filesystem_base_0", 1)
        True
    """
    return zlib.crc32(f"{seed}/{task_id}/{sample}".encode())


class OraclePolicy:
    """Replays the task's ground truth (:func:`~envtune_gym.tasks.oracle.oracle_actions`); scores 1.0.

    Args:
        style: the action format, ``"python"``, ``"hermes"`` or ``"json"``.

    Example:
        >>> OraclePolicy(style="hermes").name
        'oracle'
    """

    name = "oracle"

    def __init__(self, style: ActionStyle = "python") -> None:
        self.style = style
        self._actions: Iterator[str] = iter(())

    def start(self, task_info: TaskInfo) -> None:
        """Prepare the ground-truth actions of ``task_info["task"]`` from the turn the episode starts at."""
        actions = oracle_actions(task_info["task"], self.style)
        self._actions = _from_turn(actions, int(task_info["info"].get("turn", 0)))

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """The next ground-truth action (a closing reply once they run out)."""
        return next(self._actions, TURN_DONE)


def _from_turn(actions: Iterable[str], turn: int) -> Iterator[str]:
    """The oracle's actions from turn ``turn`` on: those after the first ``turn`` turn-ending replies."""
    actions = iter(actions)
    for _ in range(turn):
        for action in actions:
            if action in (TURN_DONE, TURN_DECLINED):
                break
    return actions


class RandomPolicy:
    """Random calls to the tools offered now, with random arguments of the schema's types, or a reply.

    Each step is a reply ending the turn with probability ``reply_probability``, else 1 to ``max_calls``
    random calls as a JSON list. Arguments: every required parameter and each optional one with probability
    1/2, drawn by type (an enum's values, a few plausible strings, small numbers, lists of those). The
    episode's random stream is seeded by ``seed``, the task id and the sample index, so results do not depend on
    the number of workers or their scheduling.

    Example:
        >>> policy = RandomPolicy(seed=1)
        >>> tools = [{"type": "function", "function": {"name": "cd", "parameters": {"type": "object",
        ...     "properties": {"folder": {"type": "string"}}, "required": ["folder"]}}}]
        >>> task = Task(id="t", category="base", domains=["GorillaFileSystem"], turns=["hi"],
        ...             ground_truth=[[]])
        >>> policy.start({"observation": "hi", "info": {"tools": tools}, "task": task, "sample": 0})
        >>> action = policy.act("hi", {"tools": tools})
        >>> action == RANDOM_REPLY or json.loads(action)[0]["name"] == "cd"
        True
    """

    def __init__(self, seed: int = 0, *, reply_probability: float = 0.3, max_calls: int = 3) -> None:
        if not 0.0 < reply_probability <= 1.0:
            raise ValueError(f"reply_probability must be in (0, 1], got {reply_probability}")
        if max_calls < 1:
            raise ValueError(f"max_calls must be >= 1, got {max_calls}")
        self.seed = seed
        self.reply_probability = reply_probability
        self.max_calls = max_calls
        self.name = f"random(seed={seed})"
        self._rng = random.Random(seed)

    def start(self, task_info: TaskInfo) -> None:
        """Seed this episode's random stream from the policy's seed, the task id and the sample."""
        self._rng = random.Random(episode_seed(self.seed, task_info["task"].id, task_info["sample"]))

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """A reply, or a JSON list of random calls to ``info["tools"]``."""
        tools = info.get("tools") or []
        if not tools or self._rng.random() < self.reply_probability:
            return RANDOM_REPLY
        count = self._rng.randint(1, self.max_calls)
        calls = [_random_call(self._rng.choice(tools), self._rng) for _ in range(count)]
        return json.dumps(calls)


def _random_call(tool: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    function = tool["function"]
    parameters = function.get("parameters", {})
    required = set(parameters.get("required", []))
    arguments = {
        name: random_value(spec, rng)
        for name, spec in parameters.get("properties", {}).items()
        if name in required or rng.random() < 0.5
    }
    return {"name": function["name"], "arguments": arguments}


def random_value(spec: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A random value of a JSON-schema property's type (enum values where it has them).

    Example:
        >>> random_value({"type": "string", "enum": ["on", "off"]}, random.Random(0)) in ("on", "off")
        True
        >>> isinstance(random_value({"type": "array", "items": {"type": "integer"}}, random.Random(0)), list)
        True
    """
    if spec.get("enum"):
        return rng.choice(spec["enum"])
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind) if kind else None
    if kind == "string":
        return rng.choice(_WORDS)
    if kind == "integer":
        return rng.randint(-1, 100)
    if kind == "number":
        return round(rng.uniform(-10.0, 1000.0), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array" and depth < 3:
        return [random_value(spec.get("items", {}), rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if kind == "object":
        return {}
    # An untyped property (the schema allows anything): a string or a number.
    return rng.choice([rng.choice(_WORDS), rng.randint(0, 100)])


class TransformersPolicy:
    """A local causal LM: the chat template renders the tools, then greedy (or sampled) generation per step.

    The conversation is kept as token ids as in training (:class:`~envtune_gym.agents.rollout.ChatFormat`):
    the prompt holds the tools of the reset and the history of an episode that starts at a later turn (its
    ground-truth calls as the model writes calls, their results as the env shows them), each observation is appended as the template's next user message,
    and the model's tokens are kept as generated. A message cut by ``max_new_tokens`` still goes to the env.

    Args:
        model: ``"tiny"`` (the local tiny model, built on the spot), a hub id, a local model directory, or a
            training checkpoint's policy folder (``runs/tiny/checkpoints/step_000040/policy``; LoRA adapters
            load on their base model).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        dtype: ``"auto"`` (bfloat16 on CUDA, float32 on CPU), ``"float32"``, ``"bfloat16"``, ``"float16"``.
        temperature: 0 is greedy; above 0, sampling is seeded per episode from ``seed``.
        max_new_tokens: tokens per model message.
        system_prompt: prepended as a system message.
        tool_docs: ``"full"`` schemas or ``"compact"`` ones (as the training config's ``tool_docs``).
        max_context_tokens: the context window (default: the model's ``max_position_embeddings``); an episode
            that outgrows it fails with :class:`ContextLengthError`.
        seed: the sampling seed (with ``temperature > 0``).
        batch_size: with more than 1 (greedy only), the clones' messages are generated together, up to this
            many at once (:class:`~envtune_gym.eval.batching.BatchedGenerator`); set it to the eval's workers.
            Sampling (``temperature > 0``) stays one episode at a time, so that each episode's draws depend on
            its seed alone, not on which other episodes shared its batch.

    Workers share one loaded model (and the batcher) through :meth:`clone`.

    Example:
        >>> policy = TransformersPolicy("tiny")  # doctest: +SKIP
        >>> policy.name, policy.clone().model is policy.model  # doctest: +SKIP
        ('hf:tiny', True)
    """

    def __init__(
        self,
        model: str | Path = "tiny",
        *,
        device: str = "auto",
        dtype: str = "auto",
        temperature: float = 0.0,
        top_p: float = 1.0,
        max_new_tokens: int = 512,
        system_prompt: str | None = None,
        tool_docs: str = "full",
        max_context_tokens: int | None = None,
        seed: int = 0,
        batch_size: int = 1,
    ) -> None:
        if temperature < 0 or max_new_tokens < 1 or not 0 < top_p <= 1 or batch_size < 1:
            raise ValueError(
                "need temperature >= 0, max_new_tokens >= 1, top_p in (0, 1] and batch_size >= 1"
            )
        if batch_size > 1 and temperature > 0:
            raise ValueError("batch_size > 1 needs greedy decoding (temperature 0): batched sampling would make "
                             "an episode's draws depend on the other episodes in its batch")  # fmt: skip
        from envtune_gym.agents.rollout import ChatFormat

        self.name = f"hf:{model}"
        self.temperature, self.top_p, self.max_new_tokens, self.seed = (
            temperature,
            top_p,
            max_new_tokens,
            seed,
        )
        self.model, self.tokenizer = _load_model(str(model), device, dtype)
        self.chat = ChatFormat(self.tokenizer, system_prompt, tool_docs)
        window = getattr(self.model.config, "max_position_embeddings", None)
        self.max_context_tokens = max_context_tokens or window or 32768
        self._context: list[int] = []
        self._last_stop: int | None = None
        self._fresh = True
        self._generator: Any = None
        self.batcher = (
            BatchedGenerator(self._generate_batch, max_batch=batch_size) if batch_size > 1 else None
        )

    def clone(self) -> TransformersPolicy:
        """Another policy on the same loaded model (for another worker), with its own tokenizer copy."""
        from envtune_gym.agents.rollout import ChatFormat

        other = copy.copy(self)
        # A fast tokenizer's Rust state is not meant to be shared between threads; a copy is cheap.
        other.tokenizer = copy.deepcopy(self.tokenizer)
        other.chat = ChatFormat(other.tokenizer, self.chat.system_prompt, self.chat.tool_docs)
        other._context, other._last_stop, other._fresh, other._generator = [], None, True, None
        return other

    def start(self, task_info: TaskInfo) -> None:
        """Render the first prompt: system prompt, tools, the history (if any) and the first user message."""
        import numpy as np

        info = task_info["info"]
        self._context = self.chat.prompt_ids(task_info["observation"], info["tools"], info.get("history"))
        self._last_stop, self._fresh = None, True
        seed = episode_seed(self.seed, task_info["task"].id, task_info["sample"])
        self._generator = np.random.default_rng(seed)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        """Append the observation (after the first step) and generate the next message."""
        from envtune_gym.agents.sampling import sample

        if not self._fresh:
            self._context += self.chat.observation_ids(observation, self._last_stop)
        self._fresh = False
        room = self.max_context_tokens - len(self._context)
        if room < 1:
            raise ContextLengthError(
                f"the conversation is {len(self._context)} tokens; the context window: {self.max_context_tokens}"
            )
        limit = min(self.max_new_tokens, room)
        if self.batcher is not None:
            out = self.batcher.generate(self._context, limit)
        else:
            out = sample(
                self.model, [self._context], max_new_tokens=limit, stop_ids=self.chat.stop_ids,
                pad_id=self.chat.pad_id, temperature=self.temperature, top_p=self.top_p, rngs=[self._generator],
            )[0]  # fmt: skip
        self._context += out.tokens
        # A cut message gets the template's whole end marker before the next observation.
        self._last_stop = out.tokens[-1] if out.stopped else None
        return self.chat.decode_action(out.tokens)

    def _generate_batch(self, contexts: list[list[int]], limits: list[int]) -> list[Any]:
        """Greedy continuations of several episodes' contexts at once (the batcher's ``batch_fn``)."""
        from envtune_gym.agents.sampling import sample

        return sample(self.model, contexts, max_new_tokens=limits, stop_ids=self.chat.stop_ids,
                      pad_id=self.chat.pad_id, temperature=0.0)  # fmt: skip


def _load_model(model: str, device: str, dtype: str) -> tuple[Any, Any]:
    """Model and tokenizer through the agent's loader: the tiny model, a checkpoint or pretrained weights."""
    from envtune_gym.agents.config import GRPOConfig
    from envtune_gym.agents.policy import load_policy

    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise ValueError(f"unknown dtype {dtype!r}; choose auto, float32, bfloat16 or float16")
    path = Path(model)
    config = GRPOConfig(model=model, device=device, dtype=dtype)  # type: ignore[arg-type]
    if model != "tiny" and path.is_dir():
        adapter = path / "adapter_config.json"
        if adapter.is_file() and not (path / "BASE").is_file():
            # An adapter saved elsewhere names its base model in its own config.
            base = json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path")
            config = GRPOConfig(model=base or model, device=device, dtype=dtype)  # type: ignore[arg-type]
        policy = load_policy(config, checkpoint=path, for_training=False)
    else:
        policy = load_policy(config, for_training=False)
    policy.model.eval()
    return policy.model, policy.tokenizer
