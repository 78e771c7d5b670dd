"""Multi-turn rollouts that keep each episode's KV cache across its messages, within a memory budget.

An episode alternates model messages and env deltas (tool results, the next user turn). Re-prefilling every
episode's whole context at each message costs O(turns x context) and pads every row to the longest. The engine:

- **reuses the cache**: between its messages an episode keeps its keys and values; a message round prefills only
  what is new (the last sampled token and the env's delta);
- **shares the prompt**: episodes whose whole context is the same (a group's fresh start) are prefilled as one row
  whose cache is then copied;
- **never decodes idly**: a row leaves the decode batch as soon as its message ends;
- **fits a budget**: episodes join the batch while :class:`~envtune_gym.agents.memory.MemoryPlan` says the round's
  peak stays under the budget; the others wait, and when contexts grow the newest are evicted (their caches
  dropped, re-prefilled when they come back); rows are padded to their batch's longest, never the global one;
- **writes in place**: keys and values go into buffers sized for the round instead of growing by concatenation.

Token ids are exactly those of the re-prefilling path (:func:`reprefill_rollouts`, kept as the reference): the
model's tokens as sampled, the env's text as chat-template deltas. Each episode draws from its own generator, so
its tokens do not depend on its batch; tests/agents/test_engine.py checks identical tokens and log-probs in
float64, and ``benchmarks/agent_throughput.py --multi-turn`` measures both paths.

Example:
    >>> import gymnasium as gym, numpy as np, envtune_gym
    >>> from envtune_gym.agents.memory import MemoryPlan, format_bytes, ModelShape
    >>> from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner
    >>> from envtune_gym.agents.tiny import build_tiny_policy
    >>> model, tokenizer = build_tiny_policy(vocab_size=600)
    >>> chat = ChatFormat(tokenizer)
    >>> runners = [EpisodeRunner(gym.make("EnvTune/FileSystem-v0", max_steps_per_turn=1), chat) for _ in range(2)]
    >>> for runner in runners:
    ...     runner.start("filesystem_base_0")
    >>> engine = RolloutEngine(model, chat, MemoryPlan(ModelShape.of(model), 2**30), max_new_tokens=4)
    >>> stats = engine.run(runners, [np.random.default_rng(i) for i in range(2)])
    >>> all(runner.done for runner in runners), stats.prefill_rows_shared
    (True, 1)
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from transformers import DynamicCache, PreTrainedModel
from transformers.cache_utils import DynamicLayer

from envtune_gym.agents.memory import MemoryPlan, format_bytes
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner
from envtune_gym.agents.sampling import ComputeCounter, Sample, draw_tokens, last_logits, sample, uniforms

#: Keys and values of one layer for one episode: ``[kv_heads, length, head_dim]`` each.
LayerKV = tuple[torch.Tensor, torch.Tensor]


@dataclass
class RolloutStats:
    """What a rollout computed: model positions (padding included), rounds, sharing and evictions."""

    #: Positions fed to prefill the pending deltas (padding included) and to decode.
    prefill_tokens: int = 0
    decode_tokens: int = 0
    forwards: int = 0
    rounds: int = 0
    #: Prefill rows saved by sharing identical contexts (a group's prompt).
    prefill_rows_shared: int = 0
    evictions: int = 0
    most_resident: int = 0
    #: The largest round estimate admitted (bytes), for comparison with the budget and measured peaks.
    peak_estimate_bytes: int = 0

    @property
    def computed_tokens(self) -> int:
        return self.prefill_tokens + self.decode_tokens


class _Context:
    """A whole context as a set key whose hash is computed once (contexts run to thousands of tokens)."""

    __slots__ = ("tokens", "_hash")

    def __init__(self, tokens: tuple[int, ...]) -> None:
        self.tokens = tokens
        self._hash = hash(tokens)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Context) and self._hash == other._hash and self.tokens == other.tokens


class _Episode:
    """A runner with its own sampling generator and the KV cache of its first ``cached`` tokens."""

    def __init__(self, runner: EpisodeRunner, rng: np.random.Generator) -> None:
        self.runner = runner
        self.rng = rng
        self.kv: list[LayerKV] | None = None
        self.cached = 0
        self._context_key: _Context | None = None

    @property
    def length(self) -> int:
        trajectory = self.runner.trajectory
        return len(trajectory.prompt_ids) + len(trajectory.response_ids)

    def pending(self) -> list[int]:
        """The tokens of the context not yet in the cache."""
        return self.runner.trajectory.input_ids[self.cached :]

    def share_key(self) -> object:
        """Episodes with equal keys can share one prefill row: the same whole context and no cache.

        Admission asks for it once per candidate and resident episode: the context's key is made once per length.
        """
        if self.cached:
            return ("cached", id(self))
        if self._context_key is None or len(self._context_key.tokens) != self.length:
            self._context_key = _Context(tuple(self.runner.trajectory.input_ids))
        return self._context_key

    def drop_cache(self) -> None:
        self.kv, self.cached = None, 0


class _BufferLayer(DynamicLayer):
    """One layer's keys and values for a round, written in place into buffers with room for the new tokens.

    The buffers hold the episodes' saved caches right-aligned at ``cache_width``. They are allocated at once when
    some episode has a saved cache (its dtype is the compute dtype), else at the first write.
    """

    def __init__(self, saved: list[LayerKV | None], cache_width: int, capacity: int) -> None:
        super().__init__()
        self.cache_width, self.capacity, self.length = cache_width, capacity, cache_width
        self.key_buffer: torch.Tensor | None = None
        self.value_buffer: torch.Tensor | None = None
        self._rows = len(saved)
        self._saved: list[LayerKV | None] | None = saved
        example = next((kv for kv in saved if kv is not None), None)
        if example is not None:
            self._allocate(example[0], example[1])

    def _allocate(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        heads, dim = keys.shape[-3], keys.shape[-1]
        shape = (self._rows, heads, self.capacity, dim)
        # Zeros, not empty: padding columns are masked, but masked NaN garbage would still poison the matmul.
        self.key_buffer = keys.new_zeros(shape)
        self.value_buffer = values.new_zeros(shape)
        for row, kv in enumerate(self._saved or []):
            if kv is not None:
                columns = slice(self.cache_width - kv[0].shape[1], self.cache_width)
                self.key_buffer[row, :, columns] = kv[0]
                self.value_buffer[row, :, columns] = kv[1]
        self._saved = None
        self.device, self.is_initialized = keys.device, True
        self._expose()

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        self._allocate(key_states, value_states)

    def _expose(self) -> None:
        self.keys = self.key_buffer[:, :, : self.length]
        self.values = self.value_buffer[:, :, : self.length]

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: object, **kwargs: object
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            raise RuntimeError(f"round buffer overflow: {end} positions > capacity {self.capacity}")
        self.key_buffer[:, :, self.length : end] = key_states
        self.value_buffer[:, :, self.length : end] = value_states
        self.length = end
        self._expose()
        return self.keys, self.values

    def get_seq_length(self, *args: object) -> int:
        return self.length

    def select(self, rows: torch.Tensor, start: int) -> None:
        """Keep ``rows`` and drop the first ``start`` columns (padding every kept row shares)."""
        self.key_buffer = self.key_buffer[:, :, start:].index_select(0, rows)
        self.value_buffer = self.value_buffer[:, :, start:].index_select(0, rows)
        self.capacity -= start
        self.length -= start
        self._expose()

    def row(self, row: int, columns: torch.Tensor) -> LayerKV:
        """A compact copy of one row's keys and values at ``columns`` (its unmasked positions)."""
        return self.key_buffer[row][:, columns], self.value_buffer[row][:, columns]


class _Round:
    """A batch of episodes on one cache of buffer layers: their pending tokens, attention mask, next positions.

    Each row is ``[padding | saved cache | padding | pending tokens]``: caches right-aligned at ``cache_width``,
    pending tokens left-padded to ``input_width``; the mask marks what is real. The episodes' saved caches move
    into the round's buffers (the episodes keep none until :meth:`extract`).
    """

    def __init__(self, rows: Sequence[_Episode], extra: int, pad_id: int, layers: int, device: torch.device):
        pendings = [episode.pending() for episode in rows]
        cache_width = max(episode.cached for episode in rows)
        input_width = max(len(pending) for pending in pendings)
        self.input_ids = torch.full((len(rows), input_width), pad_id, dtype=torch.long)
        self.positions = torch.zeros((len(rows), input_width), dtype=torch.long)
        self.mask = torch.zeros((len(rows), cache_width + input_width), dtype=torch.long)
        for index, (episode, pending) in enumerate(zip(rows, pendings, strict=True)):
            start = input_width - len(pending)
            self.input_ids[index, start:] = torch.tensor(pending, dtype=torch.long)
            self.positions[index, start:] = torch.arange(episode.cached, episode.cached + len(pending))
            self.mask[index, cache_width - episode.cached : cache_width] = 1
            self.mask[index, cache_width + start :] = 1
        self.input_ids, self.positions = self.input_ids.to(device), self.positions.to(device)
        self.mask = self.mask.to(device)
        self.next_position = torch.tensor([episode.length for episode in rows], device=device)
        self.cache_width, self.input_width = cache_width, input_width
        saved = [episode.kv for episode in rows]
        for episode in rows:
            episode.kv = None
        capacity = cache_width + input_width + extra
        self.cache = DynamicCache()
        self.cache.layers = [
            _BufferLayer([kv[layer] if kv is not None else None for kv in saved], cache_width, capacity)
            for layer in range(layers)
        ]
        del saved  # the buffers hold copies: the episodes' own tensors can go

    @property
    def layers(self) -> list[_BufferLayer]:
        return self.cache.layers  # type: ignore[return-value]

    def select(self, rows: Sequence[int]) -> None:
        index = torch.tensor(list(rows), dtype=torch.long, device=self.mask.device)
        mask = self.mask.index_select(0, index)
        start = int(mask.any(dim=0).nonzero()[0])
        self.mask = mask[:, start:]
        self.next_position = self.next_position.index_select(0, index)
        for layer in self.layers:
            layer.select(index, start)

    def extract(self, row: int) -> tuple[list[LayerKV], int]:
        """A compact copy of one row's cache and the number of tokens it holds."""
        columns = self.mask[row].nonzero()[:, 0]
        return [layer.row(row, columns) for layer in self.layers], int(columns.numel())

    def step_inputs(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append one token per row: its input, the grown mask and its position."""
        self.mask = torch.cat([self.mask, self.mask.new_ones((self.mask.shape[0], 1))], dim=1)
        positions = self.next_position[:, None]
        self.next_position = self.next_position + 1
        return tokens[:, None], self.mask, positions


def _length_buckets(lengths: Sequence[int], slack: float = 0.75) -> list[list[int]]:
    """Indices grouped so that each group's shortest is at least ``slack`` of its longest (bounded padding).

    Example:
        >>> _length_buckets([10, 300, 290, 12, 1000])
        [[4], [1, 2], [3, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda index: -lengths[index])
    buckets: list[list[int]] = []
    for index in order:
        if buckets and lengths[index] >= slack * lengths[buckets[-1][0]]:
            buckets[-1].append(index)
        else:
            buckets.append([index])
    return buckets


class RolloutEngine:
    """Plays started runners to their ends, one model message per episode per round, reusing KV caches.

    Args:
        model: the policy (a transformers causal LM; in eval mode, under the policy's autocast).
        chat: the :class:`~envtune_gym.agents.rollout.ChatFormat` (stop and pad ids).
        plan: the memory model and budget that decide how many episodes decode together.
        max_new_tokens: tokens per message (also capped by each episode's room).
        temperature, top_p: the sampling distribution (``temperature=0``: greedy).
        max_rows: most episodes in one decode batch.
    """

    def __init__(
        self,
        model: PreTrainedModel,
        chat: ChatFormat,
        plan: MemoryPlan,
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_p: float = 1.0,
        max_rows: int = 64,
    ) -> None:
        self.model, self.chat, self.plan = model, chat, plan
        self.max_new_tokens, self.temperature, self.top_p = max_new_tokens, temperature, top_p
        self.max_rows = max_rows
        self.layers = model.config.get_text_config().num_hidden_layers
        self.stop_ids = set(chat.stop_ids)

    @torch.inference_mode()
    def run(self, runners: Sequence[EpisodeRunner], rngs: Sequence[np.random.Generator]) -> RolloutStats:
        """Generate for every started runner until each is done; ``rngs``: one generator per runner."""
        stats = RolloutStats()
        self._prefilled, self._decoded = ComputeCounter(), ComputeCounter()
        waiting = deque(_Episode(r, g) for r, g in zip(runners, rngs, strict=True) if not r.done)
        resident: list[_Episode] = []
        while waiting or resident:
            self._admit(waiting, resident, stats)
            self._message_round(resident, stats)
            resident = [episode for episode in resident if not episode.runner.done]
            self._evict(resident, waiting, stats)
        stats.prefill_tokens, stats.decode_tokens = self._prefilled.positions, self._decoded.positions
        stats.forwards = self._prefilled.forwards + self._decoded.forwards
        return stats

    # --- admission ---------------------------------------------------------------------------------------------

    def round_bytes(self, episodes: Sequence[_Episode]) -> int:
        """The plan's peak estimate for one message round of ``episodes``."""
        cached = [episode.cached for episode in episodes]
        pending = [episode.length - episode.cached for episode in episodes]
        distinct = len({episode.share_key() for episode in episodes})
        new = max(self._limit(episode) for episode in episodes)
        return self.plan.round_bytes(len(episodes), distinct, max(cached), max(pending), new)

    def _admit(self, waiting: deque[_Episode], resident: list[_Episode], stats: RolloutStats) -> None:
        """Move waiting episodes into the batch while the round fits; fail when one episode alone cannot."""
        while waiting and len(resident) < self.max_rows:
            if self.round_bytes([*resident, waiting[0]]) > self.plan.budget_bytes:
                break
            resident.append(waiting.popleft())
        if not resident:
            resident.append(waiting.popleft())
        need = self.round_bytes(resident)
        if (
            need > self.plan.budget_bytes
        ):  # a lone episode: admission and eviction keep any pair within budget
            raise ValueError(
                f"one episode alone needs about {format_bytes(need)} for its next message (context "
                f"{resident[0].length} tokens), over the rollout budget of {format_bytes(self.plan.budget_bytes)}:"
                " raise rollout_memory_gb, or lower max_episode_tokens, max_new_tokens or prefill_tokens"
            )
        stats.most_resident = max(stats.most_resident, len(resident))
        stats.peak_estimate_bytes = max(stats.peak_estimate_bytes, need)

    def _evict(self, resident: list[_Episode], waiting: deque[_Episode], stats: RolloutStats) -> None:
        """Contexts grew: drop the newest caches until the next round fits (a lone episode stays to fail clearly)."""
        while len(resident) > 1 and self.round_bytes(resident) > self.plan.budget_bytes:
            episode = resident.pop()
            episode.drop_cache()
            waiting.appendleft(episode)
            stats.evictions += 1

    def _limit(self, episode: _Episode) -> int:
        return max(1, min(self.max_new_tokens, episode.runner.room))

    # --- one message per episode -------------------------------------------------------------------------------

    def _message_round(self, episodes: list[_Episode], stats: RolloutStats) -> None:
        """Prefill what is pending (one row per distinct context, rows of similar length together), then decode
        one message for every episode in one batch."""
        stats.rounds += 1
        limits = [self._limit(episode) for episode in episodes]
        rows, owner = self._distinct_rows(episodes)
        stats.prefill_rows_shared += len(episodes) - len(rows)
        last: list[torch.Tensor | None] = [None] * len(rows)
        for bucket in _length_buckets([row.length - row.cached for row in rows]):
            batch = _Round(
                [rows[index] for index in bucket], 0, self.chat.pad_id, self.layers, self.model.device
            )
            logits = self._prefill(batch)
            for position, index in enumerate(bucket):
                rows[index].kv, rows[index].cached = batch.extract(position)
                last[index] = logits[position]
        for episode, index in zip(episodes, owner, strict=True):
            # Shared prefills share the tensors: caches are never written in place, only copied into rounds.
            episode.kv, episode.cached = rows[index].kv, rows[index].cached
        batch = _Round(episodes, max(limits), self.chat.pad_id, self.layers, self.model.device)
        samples = self._decode(batch, torch.stack([last[index] for index in owner]), episodes, limits)
        for episode, result in zip(episodes, samples, strict=True):
            episode.runner.feed(result.tokens, result.logprobs, result.stopped)
            if episode.runner.done:
                episode.drop_cache()

    def _distinct_rows(self, episodes: Sequence[_Episode]) -> tuple[list[_Episode], list[int]]:
        """One prefill row per distinct share key, and each episode's row."""
        rows: list[_Episode] = []
        index: dict[object, int] = {}
        owner = []
        for episode in episodes:
            key = episode.share_key()
            if key not in index:
                index[key] = len(rows)
                rows.append(episode)
            owner.append(index[key])
        return rows, owner

    def _prefill(self, batch: _Round) -> torch.Tensor:
        """Feed every row's pending delta, in chunks of positions the plan allows; the last position's logits."""
        rows = batch.input_ids.shape[0]
        chunk = self.plan.prefill_chunk(rows, batch.input_width)
        logits = None
        for start in range(0, batch.input_width, chunk):
            end = min(batch.input_width, start + chunk)
            logits = last_logits(
                self.model, batch.input_ids[:, start:end], batch.mask[:, : batch.cache_width + end],
                batch.positions[:, start:end], batch.cache, self._prefilled,
            )  # fmt: skip
        assert logits is not None
        return logits

    def _decode(
        self, batch: _Round, logits: torch.Tensor, episodes: list[_Episode], limits: list[int]
    ) -> list[Sample]:
        """Sample each row's message; a row leaves the batch (keeping its cache) as soon as its message ends."""
        samples = [Sample([], [], False) for _ in episodes]
        rows = list(range(len(episodes)))  # episode index of each batch row
        device = logits.device
        while True:
            draws = uniforms([episodes[index].rng for index in rows], device)
            tokens, logprobs = draw_tokens(logits, draws, self.temperature, self.top_p)
            keep = []
            for row, (index, token, logprob) in enumerate(
                zip(rows, tokens.tolist(), logprobs.tolist(), strict=True)
            ):
                result = samples[index]
                result.tokens.append(token)
                result.logprobs.append(logprob)
                result.stopped = token in self.stop_ids
                if result.stopped or len(result.tokens) >= limits[index]:
                    episodes[index].kv, episodes[index].cached = batch.extract(row)
                else:
                    keep.append(row)
            if not keep:
                return samples
            if len(keep) < len(rows):
                batch.select(keep)
                tokens = tokens.index_select(0, torch.tensor(keep, device=tokens.device))
                rows = [rows[row] for row in keep]
            inputs, mask, positions = batch.step_inputs(tokens)
            logits = last_logits(self.model, inputs, mask, positions, batch.cache, self._decoded)


def reprefill_rollouts(
    model: PreTrainedModel,
    chat: ChatFormat,
    runners: Sequence[EpisodeRunner],
    rngs: Sequence[np.random.Generator],
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    batch_size: int = 64,
) -> RolloutStats:
    """The reference path: every round re-prefills every active episode's whole context, left-padded to the
    batch's longest, and finished rows wait for the longest message. Same tokens as the engine; kept to test and
    benchmark it against."""
    stats = RolloutStats()
    counter = ComputeCounter()
    pairs = list(zip(runners, rngs, strict=True))
    while active := [(runner, rng) for runner, rng in pairs if not runner.done]:
        stats.rounds += 1
        for start in range(0, len(active), batch_size):
            batch = active[start : start + batch_size]
            samples = sample(
                model, [runner.trajectory.input_ids for runner, _ in batch],
                max_new_tokens=[max(1, min(max_new_tokens, runner.room)) for runner, _ in batch],
                stop_ids=chat.stop_ids, pad_id=chat.pad_id, temperature=temperature, top_p=top_p,
                rngs=[rng for _, rng in batch], counter=counter,
            )  # fmt: skip
            for (runner, _), result in zip(batch, samples, strict=True):
                runner.feed(result.tokens, result.logprobs, result.stopped)
    # Its prefill and decode share one count: what matters against the engine is the total computed.
    stats.prefill_tokens, stats.forwards = counter.positions, counter.forwards
    return stats
