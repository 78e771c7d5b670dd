"""The math of GRPO, free of any loop: advantages, chunked log-probs, the clipped loss, KL and entropy.

Formulas (rl-engines reference, section 4): group-normalised advantages ``(r - mean) / (std + eps)`` (or only
centred, Dr. GRPO), the clipped surrogate with asymmetric clip ``[1 - eps_low, 1 + eps_high]``, the k3 KL
estimate ``exp(ref - logp) - (ref - logp) - 1``, token-mean aggregation over every model token of the step.

Example:
    >>> import torch
    >>> group_advantages(torch.tensor([1.0, 0.0, 1.0, 0.0]), group_size=4).advantages
    tensor([ 0.8660, -0.8660,  0.8660, -0.8660])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.checkpoint import checkpoint


@dataclass
class Advantages:
    advantages: torch.Tensor
    #: Groups whose rewards were all equal: they carry no learning signal (their advantages are 0).
    zero_std_groups: int


def group_advantages(
    rewards: torch.Tensor,
    group_size: int,
    scale: str = "group",
    eps: float = 1e-6,
    keep: torch.Tensor | None = None,
) -> Advantages:
    """Advantages of consecutive groups of ``group_size`` episodes: reward minus the group mean, over its std.

    The std is the unbiased one (as TRL and verl compute it); ``scale="none"`` skips the division (Dr. GRPO).
    ``keep`` (one bool per episode) leaves episodes out, as DAPO's overlong filtering does: a group's mean and
    std are over its kept episodes only, left-out episodes get advantage 0, and a group with fewer than two kept
    episodes has no baseline, so its advantages are all 0 and it counts as a zero-std group.
    """
    if rewards.ndim != 1 or rewards.numel() % group_size:
        raise ValueError(f"{rewards.numel()} rewards do not split into groups of {group_size}")
    if scale not in ("group", "none"):
        raise ValueError(f"scale must be 'group' or 'none', got {scale!r}")
    grouped = rewards.float().view(-1, group_size)
    if keep is None:
        kept = torch.ones_like(grouped, dtype=torch.bool)
        mean, std = grouped.mean(dim=1, keepdim=True), grouped.std(dim=1, keepdim=True)
    else:
        if keep.shape != rewards.shape:
            raise ValueError(f"keep has shape {tuple(keep.shape)}, rewards {tuple(rewards.shape)}")
        kept = keep.bool().view(-1, group_size)
        mean, std = _kept_statistics(grouped, kept)
    usable = kept.sum(dim=1, keepdim=True) >= 2
    centred = torch.where(kept & usable, grouped - mean, torch.zeros_like(grouped))
    zero = int(((std < 1e-8) | ~usable).sum())
    if scale == "group":
        centred = centred / (std + eps)
    return Advantages(centred.flatten(), zero)


def _kept_statistics(grouped: torch.Tensor, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group mean and unbiased std over the kept entries (0 and 0 where fewer than two are kept)."""
    mean = torch.zeros(grouped.shape[0], 1)
    std = torch.zeros(grouped.shape[0], 1)
    for row in range(grouped.shape[0]):
        values = grouped[row][kept[row]]
        if values.numel() >= 2:
            mean[row, 0], std[row, 0] = values.mean(), values.std()
    return mean, std


def token_logprobs(
    hidden: torch.Tensor,
    head: torch.nn.Module,
    targets: torch.Tensor,
    *,
    temperature: float = 1.0,
    chunk_size: int = 1024,
    with_entropy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Log-probs of ``targets`` (and the entropy) from final hidden states, one chunk of positions at a time.

    ``hidden`` is ``[batch, positions, dim]``, aligned so position ``t`` predicts ``targets[:, t]``. Logits are
    computed in fp32 per chunk and, when gradients are on, recomputed in the backward pass (checkpointed), so no
    full ``[positions, vocab]`` fp32 tensor is ever held: vocabularies are ~150k.
    """
    log_parts: list[torch.Tensor] = []
    entropy_parts: list[torch.Tensor] = []
    for start in range(0, hidden.shape[1], chunk_size):
        piece = hidden[:, start : start + chunk_size]
        piece_targets = targets[:, start : start + chunk_size]
        if torch.is_grad_enabled():
            logp, entropy = checkpoint(
                _chunk, piece, head, piece_targets, temperature, with_entropy, use_reentrant=False
            )
        else:
            logp, entropy = _chunk(piece, head, piece_targets, temperature, with_entropy)
        log_parts.append(logp)
        entropy_parts.append(entropy)
    entropy = torch.cat(entropy_parts, dim=1) if with_entropy else None
    return torch.cat(log_parts, dim=1), entropy


def _chunk(
    hidden: torch.Tensor, head: torch.nn.Module, targets: torch.Tensor, temperature: float, with_entropy: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    logits = head(hidden).float()
    if temperature not in (0.0, 1.0):
        logits = logits / temperature
    normaliser = torch.logsumexp(logits, dim=-1)
    logp = logits.gather(-1, targets[..., None]).squeeze(-1) - normaliser
    if not with_entropy:
        return logp, torch.zeros_like(logp)
    probs = torch.softmax(logits, dim=-1)
    entropy = normaliser - (probs * logits).sum(-1)
    return logp, entropy


@dataclass
class PolicyLoss:
    """Per-token terms of the loss (all ``[batch, positions]``); multiply by the mask and normalise outside."""

    surrogate: torch.Tensor
    ratio: torch.Tensor
    clipped_low: torch.Tensor
    clipped_high: torch.Tensor


def clipped_surrogate(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    clip_low: float = 0.2,
    clip_high: float = 0.28,
) -> PolicyLoss:
    """``-min(rho * A, clip(rho, 1 - clip_low, 1 + clip_high) * A)`` per token; ``advantages`` broadcast."""
    # The log-ratio is clamped as verl does, so a stale token cannot overflow exp.
    ratio = torch.exp(torch.clamp(logp - old_logp, -20.0, 20.0))
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * advantages
    surrogate = -torch.minimum(unclipped, clipped)
    clipped_low = (ratio < 1.0 - clip_low) & (advantages < 0)
    clipped_high = (ratio > 1.0 + clip_high) & (advantages > 0)
    return PolicyLoss(surrogate, ratio, clipped_low, clipped_high)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimate of KL(policy || reference) per token, clamped to [-10, 10] as verl does."""
    log_ratio = ref_logp - logp
    return torch.clamp(torch.exp(log_ratio) - log_ratio - 1.0, -10.0, 10.0)


def masked_sum(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum()
