"""Training batches: episodes collated into padded tensors, and their per-token log-probs under a model.

Shared by the GRPO update (:mod:`envtune_gym.agents.grpo`) and the SFT warm start (:mod:`envtune_gym.agents.sft`).

Example:
    >>> import torch
    >>> from envtune_gym.agents.rollout import Trajectory
    >>> batch = collate([Trajectory("t", 0, [5, 6], [7, 8], [1, 0], [-0.5, 0.0])], torch.zeros(1), torch.device("cpu"))
    >>> batch.targets.tolist(), batch.loss_mask.tolist(), batch.start
    ([[7, 8]], [[1.0, 0.0]], 1)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from envtune_gym.agents.config import GRPOConfig
from envtune_gym.agents.losses import token_logprobs
from envtune_gym.agents.rollout import Trajectory


@dataclass
class Batch:
    """Right-padded sequences with their targets, loss mask, sampling log-probs and advantages."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    targets: torch.Tensor
    #: 1 where the target is a model token (over the positions from ``start`` on).
    loss_mask: torch.Tensor
    old_logprobs: torch.Tensor
    advantages: torch.Tensor
    #: First position whose prediction is kept (the shortest prompt's last token): earlier ones are all prompt.
    start: int


def micro_batches(items: Sequence[Trajectory], size: int) -> Iterator[tuple[int, Sequence[Trajectory]]]:
    """Consecutive slices of at most ``size`` items, each with its start index."""
    for start in range(0, len(items), size):
        yield start, items[start : start + size]


def collate(trajectories: Sequence[Trajectory], advantages: torch.Tensor, device: torch.device) -> Batch:
    """Right-padded ids; targets, loss mask and old log-probs aligned with the predicting positions."""
    width = max(len(item.input_ids) for item in trajectories)
    start = min(len(item.prompt_ids) for item in trajectories) - 1
    input_ids = torch.zeros((len(trajectories), width), dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    loss_mask = torch.zeros((len(trajectories), width), dtype=torch.float32)
    old_logprobs = torch.zeros((len(trajectories), width), dtype=torch.float32)
    for row, item in enumerate(trajectories):
        ids = item.input_ids
        prompt = len(item.prompt_ids)
        input_ids[row, : len(ids)] = torch.tensor(ids)
        attention_mask[row, : len(ids)] = 1
        loss_mask[row, prompt : len(ids)] = torch.tensor(item.response_mask, dtype=torch.float32)
        old_logprobs[row, prompt : len(ids)] = torch.tensor(item.logprobs, dtype=torch.float32)
    # Position t predicts token t + 1: targets and their masks are shifted left by one.
    return Batch(
        input_ids=input_ids.to(device),
        attention_mask=attention_mask.to(device),
        targets=input_ids[:, start + 1 :].to(device),
        loss_mask=(loss_mask[:, start + 1 :] * attention_mask[:, start + 1 :]).to(device),
        old_logprobs=old_logprobs[:, start + 1 :].to(device),
        advantages=advantages.to(device),
        start=start,
    )


def sequence_logprobs(
    model: torch.nn.Module, batch: Batch, config: GRPOConfig, *, with_entropy: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probs (and entropies) of ``batch.targets`` from ``batch.start`` on, fp32, chunked."""
    position_ids = (batch.attention_mask.cumsum(-1) - 1).clamp(min=0)
    hidden = model.get_decoder()(
        input_ids=batch.input_ids,
        attention_mask=batch.attention_mask,
        position_ids=position_ids,
        use_cache=False,
    ).last_hidden_state
    temperature = config.temperature if config.temperature > 0 else 1.0
    logp, entropy = token_logprobs(
        hidden[:, batch.start : -1], model.get_output_embeddings(), batch.targets,
        temperature=temperature, chunk_size=config.logprob_chunk_size, with_entropy=with_entropy,
    )  # fmt: skip
    return logp, entropy if entropy is not None else torch.zeros_like(logp)
