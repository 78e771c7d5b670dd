"""Batched sampling with the KV cache, keeping each sampled token's log-probability.

Our own loop rather than ``model.generate``: it returns the log-prob of every sampled token under the sampling
distribution (``log_softmax(logits / temperature)``) without storing a vocabulary-wide score per step, and stops
each row at its first stop token (kept, so the model learns to stop).

Every row draws its tokens from its own ``numpy`` generator (one uniform per token, inverse-CDF sampling), so a
row's tokens do not depend on which other rows share its batch: the KV-reusing rollout engine
(:mod:`envtune_gym.agents.engine`) and this re-prefilling sampler draw the same tokens for the same episode.

Example:
    >>> import numpy as np
    >>> from envtune_gym.agents.tiny import build_tiny_policy
    >>> model, tokenizer = build_tiny_policy(["hello world"] * 4, vocab_size=300)
    >>> out = sample(model, [[1, 2, 3], [4, 5]], max_new_tokens=3, stop_ids=[tokenizer.eos_token_id],
    ...              pad_id=tokenizer.pad_token_id, rngs=[np.random.default_rng(0), np.random.default_rng(1)])
    >>> len(out), len(out[0].tokens) == len(out[0].logprobs)
    (2, True)
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers import DynamicCache, PreTrainedModel


@dataclass
class Sample:
    """One row's continuation: tokens (ending in a stop token when ``stopped``) and their log-probs."""

    tokens: list[int]
    logprobs: list[float]
    stopped: bool


@dataclass
class ComputeCounter:
    """Positions fed through the model (padding included): what a rollout path computes."""

    forwards: int = 0
    positions: int = 0

    def add(self, input_ids: torch.Tensor) -> None:
        self.forwards += 1
        self.positions += input_ids.numel()


@torch.inference_mode()
def sample(
    model: PreTrainedModel,
    contexts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    stop_ids: Sequence[int],
    pad_id: int,
    temperature: float = 1.0,
    top_p: float = 1.0,
    rngs: Sequence[np.random.Generator] | None = None,
    counter: ComputeCounter | None = None,
) -> list[Sample]:
    """Continue every context by at most ``max_new_tokens`` (one limit, or one per row), batched.

    ``rngs``: one generator per row (fresh unseeded ones when ``None``). ``temperature=0`` is greedy; its
    log-probs are those of the untempered distribution. This path prefills every context whole; the rollout
    engine reuses caches across messages instead.
    """
    device = model.device
    limits = [max_new_tokens] * len(contexts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    rngs = list(rngs) if rngs is not None else [np.random.default_rng() for _ in contexts]
    input_ids, attention_mask = _left_pad(contexts, pad_id, device)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    stops = torch.tensor(list(stop_ids), device=device)
    rows = [Sample([], [], False) for _ in contexts]
    active = torch.ones(len(contexts), dtype=torch.bool, device=device)
    logits = last_logits(model, input_ids, attention_mask, position_ids, cache, counter)
    for step in range(max(limits)):
        # Only rows still writing consume a draw: a row's stream then does not depend on its batch.
        draws = uniforms([rng for rng, on in zip(rngs, active.tolist(), strict=True) if on], device)
        tokens, logprobs = draw_tokens(logits, _scatter(draws, active), temperature, top_p)
        _record(rows, tokens, logprobs, active, limits, step)
        active &= ~torch.isin(tokens, stops)
        for index, row in enumerate(rows):
            if len(row.tokens) >= limits[index]:
                active[index] = False
        if not bool(active.any()):
            break
        attention_mask = torch.cat([attention_mask, active.to(attention_mask.dtype)[:, None]], dim=1)
        position_ids = position_ids[:, -1:] + 1
        logits = last_logits(model, tokens[:, None], attention_mask, position_ids, cache, counter)
    for row in rows:
        row.stopped = bool(row.tokens) and row.tokens[-1] in set(stop_ids)
    return rows


def _left_pad(
    contexts: Sequence[Sequence[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    if not contexts or any(len(context) == 0 for context in contexts):
        raise ValueError("every context needs at least one token")
    width = max(len(context) for context in contexts)
    input_ids = torch.full((len(contexts), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(contexts), width), dtype=torch.long)
    for row, context in enumerate(contexts):
        input_ids[row, width - len(context) :] = torch.tensor(list(context), dtype=torch.long)
        attention_mask[row, width - len(context) :] = 1
    return input_ids.to(device), attention_mask.to(device)


def last_logits(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    cache: Any,
    counter: ComputeCounter | None = None,
) -> torch.Tensor:
    """Logits (fp32 or wider) of each row's last position, reading and extending ``cache``."""
    if counter is not None:
        counter.add(input_ids)
    output = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=True,
        logits_to_keep=1,
        **{cache_argument(model): cache},
    )
    logits = output.logits[:, -1, :]
    return logits.to(torch.promote_types(logits.dtype, torch.float32))  # at least fp32; float64 stays


def cache_argument(model: torch.nn.Module) -> str:
    """The keyword a model's ``forward`` takes its KV cache by: ``cache`` (transformers 5.2x on), else the old
    ``past_key_values``. Passing the wrong one would be swallowed by ``**kwargs`` and decode without context."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return _cache_argument_of(type(base))


@functools.cache
def _cache_argument_of(model_class: type) -> str:
    parameters = inspect.signature(model_class.forward).parameters
    return "cache" if "cache" in parameters else "past_key_values"


def uniforms(rngs: Sequence[np.random.Generator], device: torch.device) -> torch.Tensor:
    """One uniform draw in [0, 1) from each row's generator (float64, on ``device``)."""
    return torch.tensor([rng.random() for rng in rngs], dtype=torch.float64, device=device)


def draw_tokens(
    logits: torch.Tensor, draws: torch.Tensor, temperature: float, top_p: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens and their sampling log-probs, by inverse-CDF with one uniform per row (``draws``).

    ``temperature=0`` is greedy (``draws`` unused) with the untempered log-prob.
    """
    if temperature == 0:
        logprobs = torch.log_softmax(logits, dim=-1)
        tokens = logprobs.argmax(dim=-1)
        return tokens, logprobs.gather(-1, tokens[:, None])[:, 0]
    logprobs = torch.log_softmax(logits / temperature, dim=-1)
    probs = logprobs.exp()
    if top_p < 1.0:
        probs = _nucleus(probs, top_p)
    cdf = probs.double().cumsum(-1)
    targets = draws.to(cdf.device)[:, None] * cdf[:, -1:]
    tokens = torch.searchsorted(cdf, targets, right=True)[:, 0].clamp(max=logits.shape[-1] - 1)
    return tokens, logprobs.gather(-1, tokens[:, None])[:, 0]


def _scatter(draws: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    full = torch.zeros(active.shape[0], dtype=draws.dtype, device=draws.device)
    full[active.to(draws.device)] = draws
    return full


def _nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Zero the tail outside the smallest set of tokens whose mass reaches ``top_p`` (renormalised)."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    outside = sorted_probs.cumsum(-1) - sorted_probs > top_p
    sorted_probs = sorted_probs.masked_fill(outside, 0.0)
    kept = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return kept / kept.sum(-1, keepdim=True)


def _record(
    rows: list[Sample],
    tokens: torch.Tensor,
    logprobs: torch.Tensor,
    active: torch.Tensor,
    limits: list[int],
    step: int,
) -> None:
    token_list, logprob_list, active_list = tokens.tolist(), logprobs.tolist(), active.tolist()
    for index, row in enumerate(rows):
        if active_list[index] and step < limits[index]:
            row.tokens.append(token_list[index])
            row.logprobs.append(logprob_list[index])
