"""Batched sampling with the KV cache, keeping each sampled token's log-probability.

Our own loop rather than ``model.generate``: it returns the log-prob of every sampled token under the sampling
distribution (``log_softmax(logits / temperature)``) without storing a vocabulary-wide score per step, and stops
each row at its first stop token (kept, so the model learns to stop).

Example:
    >>> import torch
    >>> from envtune_gym.agents.tiny import build_tiny_policy
    >>> model, tokenizer = build_tiny_policy(["hello world"] * 4, vocab_size=300)
    >>> out = sample(model, [[1, 2, 3], [4, 5]], max_new_tokens=3, stop_ids=[tokenizer.eos_token_id],
    ...              pad_id=tokenizer.pad_token_id, generator=torch.Generator().manual_seed(0))
    >>> len(out), len(out[0].tokens) == len(out[0].logprobs)
    (2, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache, PreTrainedModel


@dataclass
class Sample:
    """One row's continuation: tokens (ending in a stop token when ``stopped``) and their log-probs."""

    tokens: list[int]
    logprobs: list[float]
    stopped: bool


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
    generator: torch.Generator | None = None,
) -> list[Sample]:
    """Continue every context by at most ``max_new_tokens`` (one limit, or one per row), batched.

    ``temperature=0`` is greedy; its log-probs are those of the untempered distribution.
    """
    device = model.device
    limits = [max_new_tokens] * len(contexts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    input_ids, attention_mask = _left_pad(contexts, pad_id, device)
    position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache()
    stops = torch.tensor(list(stop_ids), device=device)
    rows = [Sample([], [], False) for _ in contexts]
    active = torch.ones(len(contexts), dtype=torch.bool, device=device)
    logits = _last_logits(model, input_ids, attention_mask, position_ids, cache)
    for step in range(max(limits)):
        tokens, logprobs = _draw(logits, temperature, top_p, generator)
        _record(rows, tokens, logprobs, active, limits, step)
        active &= ~torch.isin(tokens, stops)
        for index, row in enumerate(rows):
            if len(row.tokens) >= limits[index]:
                active[index] = False
        if not bool(active.any()):
            break
        attention_mask = torch.cat([attention_mask, active.to(attention_mask.dtype)[:, None]], dim=1)
        position_ids = position_ids[:, -1:] + 1
        logits = _last_logits(model, tokens[:, None], attention_mask, position_ids, cache)
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


def _last_logits(
    model: PreTrainedModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    cache: DynamicCache,
) -> torch.Tensor:
    output = model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        past_key_values=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    return output.logits[:, -1, :].float()


def _draw(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if temperature == 0:
        logprobs = torch.log_softmax(logits, dim=-1)
        tokens = logprobs.argmax(dim=-1)
        return tokens, logprobs.gather(-1, tokens[:, None])[:, 0]
    logprobs = torch.log_softmax(logits / temperature, dim=-1)
    probs = logprobs.exp()
    if top_p < 1.0:
        probs = _nucleus(probs, top_p)
    tokens = torch.multinomial(probs, 1, generator=generator)[:, 0]
    return tokens, logprobs.gather(-1, tokens[:, None])[:, 0]


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
