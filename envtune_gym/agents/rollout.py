"""Multi-turn rollouts as token ids: the model's tokens as sampled, the env's text as chat-template deltas.

An episode is one flat sequence ``prompt | a_1 | env_1 | a_2 | ... | a_K``. The model's tokens (mask 1) are kept
exactly as sampled, never re-tokenized, with their sampling log-probs; everything the environment says (tool
results, errors, hints, the next user turn) is appended as the chat template's delta for a new user message
(mask 0). With Qwen-style templates that delta is ``"\\n<|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n"``,
so the model's own ``<|im_end|>`` is trained (it teaches stopping) and the next header is not.

Example:
    >>> import gymnasium as gym, envtune_gym
    >>> from envtune_gym.agents.tiny import build_tiny_policy
    >>> model, tokenizer = build_tiny_policy(vocab_size=600)
    >>> chat = ChatFormat(tokenizer)
    >>> runner = EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat)
    >>> runner.start("filesystem_base_0")
    >>> runner.feed(chat.encode_action('<tool_call>{"name": "pwd", "arguments": {}}</tool_call>'))
    >>> runner.trajectory.response_mask.count(0) > 0, runner.done
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
from transformers import PreTrainedTokenizerBase

from envtune_gym.envs.history import history_as_text
from envtune_gym.tools import spec_of_schema


@dataclass
class Trajectory:
    """One episode as token ids, with what training and logging need."""

    task_id: str
    group: int
    prompt_ids: list[int]
    response_ids: list[int] = field(default_factory=list)
    #: 1 for the model's tokens (trained), 0 for the environment's (context only).
    response_mask: list[int] = field(default_factory=list)
    #: Sampling log-probs of the model's tokens; 0.0 at environment positions.
    logprobs: list[float] = field(default_factory=list)
    reward: float = 0.0
    success: bool = False
    #: ``terminated`` (last turn done), ``truncated`` (the env's step budget), ``length`` (a message hit
    #: ``max_new_tokens``) or ``budget`` (the episode hit ``max_episode_tokens``).
    finish: str = ""
    messages: int = 0
    tool_calls: int = 0
    call_errors: int = 0
    format_errors: int = 0
    turns_passed: int = 0
    turns_checked: int = 0

    @property
    def input_ids(self) -> list[int]:
        """The whole sequence, prompt then response."""
        return self.prompt_ids + self.response_ids

    @property
    def model_tokens(self) -> int:
        return sum(self.response_mask)

    @property
    def cut_by_length(self) -> bool:
        return self.finish in ("length", "budget")


class ChatFormat:
    """The chat template, probed once: prompt ids, observation deltas and stop tokens.

    Raises ``ValueError`` when the template is not prefix-preserving (appending a message would change the text
    already rendered), since token-level multi-turn training is then impossible without re-tokenizing.
    """

    _PROBE_USER, _PROBE_REPLY = "<<probe-user>>", "<<probe-reply>>"

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, system_prompt: str | None = None, tool_docs: str = "full"
    ) -> None:
        if tool_docs not in ("full", "compact"):
            raise ValueError(f"tool_docs must be 'full' or 'compact', got {tool_docs!r}")
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt
        self.tool_docs = tool_docs
        self.stop_ids = _stop_ids(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]
        user = [{"role": "user", "content": self._PROBE_USER}]
        self._base = self._render([*user, {"role": "assistant", "content": self._PROBE_REPLY}])
        header = self._render(user, add_generation_prompt=True)
        if not self._base.startswith(header + self._PROBE_REPLY):
            raise ValueError(
                "the chat template does not render an assistant reply after its generation prompt"
            )
        # What the template writes after a reply (e.g. "<|im_end|>\n"): the model writes the stop token itself.
        self._reply_suffix = self._base[len(header) + len(self._PROBE_REPLY) :]
        self._base_messages = [*user, {"role": "assistant", "content": self._PROBE_REPLY}]
        self._check_prefix_preserving()

    def prompt_ids(
        self, observation: str, tools: list[dict[str, Any]], history: Sequence[dict[str, Any]] | None = None
    ) -> list[int]:
        """The first prompt: system prompt and tools (by the template), the first user message, the header.

        ``history`` (``info["history"]`` of a reset at a later turn) goes before that message, as the model sees
        turns it plays (:func:`~envtune_gym.envs.history.history_as_text`).
        """
        messages: list[dict[str, Any]] = history_as_text(history or ())
        messages.append({"role": "user", "content": observation})
        if self.system_prompt:
            messages.insert(0, {"role": "system", "content": self.system_prompt})
        if self.tool_docs == "compact":
            tools = compact_tools(tools)
        return self.encode(self._render(messages, tools=tools, add_generation_prompt=True))

    def observation_ids(self, observation: str, stopped_with: int | None) -> list[int]:
        """The tokens that follow a model message: the rest of its end marker, the env's message, a header."""
        rendered = self._render(
            [*self._base_messages, {"role": "user", "content": observation}], add_generation_prompt=True
        )
        suffix = self._reply_suffix
        if stopped_with is not None:
            stop_text = self.tokenizer.decode([stopped_with], skip_special_tokens=False)
            suffix = suffix[len(stop_text) :] if suffix.startswith(stop_text) else suffix
        return self.encode(suffix + rendered[len(self._base) :])

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def encode_action(self, text: str) -> list[int]:
        """An action as the model would write it: its tokens then the first stop token (for demonstrations)."""
        return self.encode(text) + [self.stop_ids[0]]

    def decode_action(self, tokens: Sequence[int]) -> str:
        """The action text of a model message (its stop token dropped; special tokens such as ``<tool_call>`` kept)."""
        if tokens and tokens[-1] in self.stop_ids:
            tokens = tokens[:-1]
        return self.tokenizer.decode(list(tokens), skip_special_tokens=False)

    def _render(self, messages: list[dict[str, Any]], **kwargs: Any) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, **kwargs)

    def _check_prefix_preserving(self) -> None:
        longer = self._render([*self._base_messages, {"role": "user", "content": "x"}])
        if not longer.startswith(self._base):
            raise ValueError(
                "the chat template is not prefix-preserving: appending a message changes earlier text, so "
                "multi-turn token bookkeeping would need re-tokenizing; use a template without that behaviour"
            )


def compact_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The schemas without parameter descriptions and with one-sentence tool descriptions (no domain preamble).

    For small-context models: the full FileSystem schemas are ~2,800 tokens of a tiny tokenizer, the compact
    ones about a third. Names, types, enums, defaults and required lists are kept, so calls stay checkable.
    """
    return [_compact_tool(tool) for tool in tools]


def _compact_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    parameters = function.get("parameters", {})
    properties = {
        name: {key: value for key, value in spec.items() if key != "description"}
        for name, spec in parameters.get("properties", {}).items()
    }
    # BFCL descriptions open with a paragraph about the domain: keep the tool's own summary, first sentence.
    spec = spec_of_schema(function)
    description = spec.summary if spec is not None else function.get("description", "")
    description = description.split(". ")[0].split("\n")[0].rstrip(".")
    compact = {"name": function["name"], "description": description,
               "parameters": {**parameters, "properties": properties}}  # fmt: skip
    return {"type": "function", "function": compact}


def _stop_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    for token in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id not in ids:
            ids.append(token_id)
    if not ids:
        raise ValueError("the tokenizer has no end-of-turn token (eos_token or <|im_end|>)")
    return ids


class EpisodeRunner:
    """One env's episode, kept as a :class:`Trajectory`; the caller generates, the runner steps the env.

    Args:
        env: an EnvTune env, usually wrapped (the reward is the wrapper stack's, summed over the episode).
        chat: the model's :class:`ChatFormat`.
        max_episode_tokens: the episode ends once prompt plus response reach this.
    """

    def __init__(self, env: gym.Env, chat: ChatFormat, max_episode_tokens: int = 8192) -> None:
        self.env = env
        self.chat = chat
        self.max_episode_tokens = max_episode_tokens
        self.trajectory = Trajectory("", 0, [])
        self.done = True
        self.last_info: dict[str, Any] = {}

    def start(self, task_id: str, group: int = 0, seed: int | None = None, start_turn: int = 0) -> None:
        """Reset the env to ``task_id`` (from turn ``start_turn``, after the ground truth of the turns before it)
        and begin a trajectory with its prompt."""
        options = {
            "task_id": task_id,
            "start_turn": start_turn,
        }  # given even when 0: a gate must not draw its own
        observation, info = self.env.reset(seed=seed, options=options)
        prompt = self.chat.prompt_ids(observation, info["tools"], info.get("history"))
        self.trajectory = Trajectory(task_id, group, prompt)
        self.done = False
        self.last_info = info

    @property
    def room(self) -> int:
        """Tokens left in the episode's budget."""
        return self.max_episode_tokens - len(self.trajectory.input_ids)

    def feed(
        self, tokens: Sequence[int], logprobs: Sequence[float] | None = None, stopped: bool = True
    ) -> None:
        """Append one model message and step the env with it (unless it was cut by a length limit)."""
        if self.done:
            raise RuntimeError("the episode is over; call start() first")
        trajectory = self.trajectory
        trajectory.response_ids += list(tokens)
        trajectory.response_mask += [1] * len(tokens)
        trajectory.logprobs += list(logprobs) if logprobs is not None else [0.0] * len(tokens)
        trajectory.messages += 1
        if not stopped:
            self._finish("length")
            return
        observation, reward, terminated, truncated, info = self.env.step(self.chat.decode_action(tokens))
        self._account(float(reward), info)
        if terminated or truncated:
            trajectory.success = bool(info.get("success", False))
            self._finish("terminated" if terminated else "truncated")
            return
        delta = self.chat.observation_ids(observation, tokens[-1] if tokens else None)
        trajectory.response_ids += delta
        trajectory.response_mask += [0] * len(delta)
        trajectory.logprobs += [0.0] * len(delta)
        if self.room <= 1:
            self._finish("budget")

    def _account(self, reward: float, info: dict[str, Any]) -> None:
        trajectory = self.trajectory
        trajectory.reward += reward
        trajectory.tool_calls += len(info["calls"])
        trajectory.call_errors += sum(call["error"] is not None for call in info["calls"])
        trajectory.format_errors += "action_error" in info
        result = info.get("turn_result")
        if result is not None and result["checked"]:
            trajectory.turns_checked += 1
            trajectory.turns_passed += bool(result["passed"])
        self.last_info = info

    def _finish(self, reason: str) -> None:
        self.trajectory.finish = reason
        self.done = True


GenerateFn = Callable[[list[list[int]], list[int]], list[tuple[list[int], list[float], bool]]]


def run_episodes(runners: Sequence[EpisodeRunner], generate: GenerateFn, batch_size: int = 64) -> None:
    """Play every started runner to its end, generating for the active ones in batches each round.

    For external generators (TRL's vLLM server, scripted policies); a local model goes through
    :class:`~envtune_gym.agents.engine.RolloutEngine`, which keeps each episode's KV cache between rounds.

    ``generate(contexts, limits)`` returns ``(tokens, logprobs, stopped)`` per context, at most ``limits[i]``
    new tokens each.
    """
    while True:
        active = [runner for runner in runners if not runner.done]
        if not active:
            return
        for start in range(0, len(active), batch_size):
            batch = active[start : start + batch_size]
            contexts = [runner.trajectory.input_ids for runner in batch]
            outputs = generate(contexts, [runner.room for runner in batch])
            for runner, (tokens, logprobs, stopped) in zip(batch, outputs, strict=True):
                runner.feed(tokens, logprobs, stopped)


def demonstration(runner: EpisodeRunner, task_id: str, actions: Sequence[str]) -> Trajectory:
    """The trajectory of a scripted episode (e.g. the oracle's actions), for supervised warm starts."""
    runner.start(task_id)
    for action in actions:
        if runner.done:
            break
        runner.feed(runner.chat.encode_action(action))
    return runner.trajectory
