"""The reference GRPO agent, top to bottom: rollouts, advantages, the clipped update, curriculum, logging.

One optimizer step: draw ``tasks_per_step`` tasks of the current curriculum stage; play each ``group_size`` times
from the same state (token in, token out, batched across episodes); reward each episode with the stage's reward
(format or progress, from :class:`~envtune_gym.wrappers.CurriculumGate`); normalise rewards within each group;
take the clipped policy-gradient step over every model token (token-mean), with optional k3 KL to the reference
and an entropy bonus; record the episodes in the curriculum controller, which may promote the stage; log a row.

There is one curriculum controller: every episode env is a ``CurriculumGate(HintAugmentation(env))`` sharing it,
so the loop draws and records through the gates (:meth:`~envtune_gym.wrappers.CurriculumGate.draw`,
:meth:`~envtune_gym.wrappers.CurriculumGate.record`) and a promotion reaches every env at its next reset.

Example:
    >>> from envtune_gym.agents.config import GRPOConfig
    >>> config = GRPOConfig.from_preset("tiny", total_steps=1, sft_steps=0, tasks_per_step=1, group_size=2,
    ...                                 tiny_vocab_size=600, progress=False, max_new_tokens=8)
    >>> result = train(config)
    >>> sorted(result.rows[0])[:4]
    ['call_error_rate', 'clip_frac_high', 'clip_frac_low', 'entropy']
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

import envtune_gym  # noqa: F401  (registers the EnvTune ids)
from envtune_gym.agents import checkpoint as ckpt
from envtune_gym.agents.batches import Batch, collate, micro_batches, sequence_logprobs
from envtune_gym.agents.config import GRPOConfig
from envtune_gym.agents.engine import RolloutEngine, RolloutStats
from envtune_gym.agents.losses import (
    clipped_surrogate,
    group_advantages,
    k3_kl,
    masked_sum,
)
from envtune_gym.agents.memory import MemoryPlan, ModelShape, available_bytes
from envtune_gym.agents.metrics import MetricsLogger, ProgressBar, plot_curves, summarize
from envtune_gym.agents.policy import Policy, load_policy, merge_lora
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, Trajectory
from envtune_gym.wrappers.curriculum import CurriculumController, CurriculumGate
from envtune_gym.wrappers.hints import HintAugmentation


@dataclass
class TrainResult:
    """What :func:`train` leaves behind."""

    rows: list[dict[str, Any]]
    policy: Policy
    controller: CurriculumController
    out: Path | None = None
    sft_rows: list[dict[str, Any]] = field(default_factory=list)


def train(config: GRPOConfig, *, resume: bool = False) -> TrainResult:
    """Run GRPO as configured; with ``resume``, continue from the newest checkpoint under ``config.out``."""
    config.validate()
    _quiet_transformers()
    out = Path(config.out) if config.out else None
    start_step, resumed_from = 0, None
    if resume:
        resumed_from = _require_checkpoint(out)
        start_step = ckpt.read_state(resumed_from)["step"]
    torch.manual_seed(config.seed)
    fit_threads_to_cores()
    policy = load_policy(
        config,
        checkpoint=resumed_from / "policy" if resumed_from else None,
        base_directory=out / "base" if out else None,
    )
    chat = ChatFormat(policy.tokenizer, config.system_prompt, config.tool_docs)
    controller = CurriculumController(
        config.stages, window=config.curriculum_window, threshold=config.curriculum_threshold
    )
    runners = make_runners(config, chat, controller)
    sft_rows: list[dict[str, Any]] = []
    if not resume and config.sft_steps:
        from envtune_gym.agents.sft import warm_start

        sft_rows = warm_start(policy, chat, runners[0].env, config, out)
        if policy.lora:
            # GRPO's reference (adapters off) must be the post-SFT model, as it is without LoRA.
            policy = merge_lora(policy, config, out / "base" if out else None)
    optimizer, scheduler = _optimizer(policy, config)
    reference = _reference_model(policy, config, out, resume=resume)
    if resumed_from:
        ckpt.load_trainer_state(resumed_from, optimizer, scheduler)
        controller.load_state_dict(ckpt.read_state(resumed_from)["curriculum"])
    run = RunState(policy, reference, chat, runners, optimizer, scheduler)
    logger = MetricsLogger(out, tensorboard=config.tensorboard, resume=resume)
    if resume:
        logger.truncate_after(start_step + 1)
    with logger, ProgressBar(config.total_steps, initial=start_step, enabled=config.progress) as bar:
        for step in range(start_step, config.total_steps):
            row = grpo_step(step, run, config)
            logger.log(row)
            bar.update(row)
            if out and ((step + 1) % config.checkpoint_every == 0 or step + 1 == config.total_steps):
                state = {"curriculum": controller.state_dict(), "config": config.to_dict()}
                ckpt.save_checkpoint(out, step + 1, policy, optimizer, scheduler, state)
    rows = logger.rows  # with resume, the earlier session's rows too
    if out and rows:
        plot_curves(rows, out / "curves.png", title=f"GRPO on {config.env_id}")
    return TrainResult(rows, policy, controller, out, sft_rows)


@dataclass
class RunState:
    """What the training steps work on and change: the policy and its KL reference, the episode runners (whose
    gates hold the curriculum), the optimizer and its schedule. One object, so a step reads ``run.policy``."""

    policy: Policy
    reference: torch.nn.Module | None
    chat: ChatFormat
    runners: list[EpisodeRunner]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler

    @property
    def gate(self) -> CurriculumGate:
        """The runners' curriculum gate (they all share its controller)."""
        return curriculum_gate(self.runners)

    @property
    def controller(self) -> CurriculumController:
        """The curriculum controller: the one every runner's gate draws from and records in."""
        return self.gate.controller


def grpo_step(step: int, run: RunState, config: GRPOConfig) -> dict[str, Any]:
    """One GRPO optimizer step: roll out the groups, normalise rewards, update, record; returns the metrics row."""
    stage = run.controller.stage
    started = time.perf_counter()
    rollouts = collect_rollouts(step, run.policy, run.chat, run.runners, config)
    trajectories = rollouts.trajectories
    rollout_seconds = time.perf_counter() - started
    rewards = torch.tensor([trajectory.reward for trajectory in trajectories])
    keep = _kept(trajectories, config).bool() if config.mask_truncated else None
    advantages = group_advantages(rewards, config.group_size, config.scale_rewards, keep=keep)
    started = time.perf_counter()
    update = policy_update(
        run.policy, run.reference, run.optimizer, trajectories, advantages.advantages, config
    )
    run.scheduler.step()
    train_seconds = time.perf_counter() - started
    changed = _record_outcomes(run.gate, trajectories)
    return {
        "step": step + 1,
        **_stage_metrics(stage, run.controller, changed),
        **_episode_metrics(trajectories),
        "frac_zero_std_groups": advantages.zero_std_groups / config.tasks_per_step,
        **update,
        "learning_rate": run.scheduler.get_last_lr()[0],
        **_speed_metrics(trajectories, update, rollout_seconds, train_seconds),
        **_rollout_metrics(rollouts.stats),
    }


def _rollout_metrics(stats: RolloutStats) -> dict[str, Any]:
    return {
        "rollout_computed_tokens": stats.computed_tokens,
        "rollout_most_resident": stats.most_resident,
        "rollout_evictions": stats.evictions,
        "rollout_peak_estimate_gib": stats.peak_estimate_bytes / 2**30,
    }


# --------------------------------------------------------------------------------------------------------------
# Rollouts


def collect_rollouts(
    step: int,
    policy: Policy,
    chat: ChatFormat,
    runners: list[EpisodeRunner],
    config: GRPOConfig,
) -> Rollouts:
    """``tasks_per_step`` groups of ``group_size`` episodes of the current stage, in group order.

    The runners' envs are :class:`~envtune_gym.wrappers.CurriculumGate` s on one controller (see
    :func:`make_runners`): the first gate draws the step's tasks and each gate sets its episode up by the stage.

    Generation goes through the :class:`~envtune_gym.agents.engine.RolloutEngine` (KV caches kept across each
    episode's messages, within the memory budget). Episode ``i`` samples from its own generator seeded with
    ``(seed, step, i)``, so a step's samples do not depend on how episodes were batched.
    """
    rng = np.random.default_rng([config.seed, step])
    gate = curriculum_gate(runners)
    tasks = gate.draw(config.tasks_per_step, rng)
    # A group compares episodes of one task from one start: a later-turn stage draws the start once per group.
    starts = [gate.draw_start_turn(task, rng) for task in tasks]
    for index, runner in enumerate(runners):
        group = index // config.group_size
        runner.start(tasks[group], group=group, start_turn=starts[group])
    engine = RolloutEngine(
        policy.model, chat, rollout_plan(policy, config), max_new_tokens=config.max_new_tokens,
        temperature=config.temperature, top_p=config.top_p, max_rows=config.generation_batch_size,
    )  # fmt: skip
    generators = [np.random.default_rng([config.seed, step, index]) for index in range(len(runners))]
    policy.model.eval()
    with policy.autocast():
        stats = engine.run(runners, generators)
    return Rollouts([runner.trajectory for runner in runners], stats)


@dataclass
class Rollouts:
    """A step's episodes, in group order, and what generating them computed."""

    trajectories: list[Trajectory]
    stats: RolloutStats


def rollout_plan(policy: Policy, config: GRPOConfig) -> MemoryPlan:
    """The memory model of ``policy`` with the configured budget (or the device's free memory).

    The default budget leaves room for autocast's copies of fp32 weights in the compute dtype, which it keeps for
    the whole rollout (full fine-tuning; a LoRA base is already in the compute dtype).
    """
    if config.rollout_memory_gb is not None:
        budget = int(config.rollout_memory_gb * 2**30)
    else:
        budget = available_bytes(policy.device) - _autocast_copies_bytes(policy)
    shape = ModelShape.of(policy.model, policy.compute_dtype)
    eager = getattr(policy.model.config, "_attn_implementation", None) == "eager"
    return MemoryPlan(shape, max(0, budget), prefill_tokens=config.prefill_tokens, eager_attention=eager)


def _autocast_copies_bytes(policy: Policy) -> int:
    if policy.compute_dtype == torch.float32:
        return 0
    size = torch.empty((), dtype=policy.compute_dtype).element_size()
    return sum(p.numel() * size for p in policy.trainable_parameters() if p.dtype != policy.compute_dtype)


def make_runners(
    config: GRPOConfig, chat: ChatFormat, controller: CurriculumController
) -> list[EpisodeRunner]:
    """One runner per episode of a step, each env a ``CurriculumGate(HintAugmentation(env))`` on ``controller``.

    The gates do not record on their own (``auto_record=False``): the loop records every episode it trains on,
    including those a length limit cut before the env finished them.

    Example:
        >>> from envtune_gym.agents.tiny import build_tiny_policy
        >>> config = GRPOConfig.from_preset("tiny", tasks_per_step=1, group_size=2)
        >>> controller = CurriculumController(config.stages)
        >>> runners = make_runners(config, ChatFormat(build_tiny_policy(vocab_size=600)[1]), controller)
        >>> len(runners), curriculum_gate(runners).controller is controller
        (2, True)
    """
    runners = []
    for _ in range(config.tasks_per_step * config.group_size):
        env = gym.make(config.env_id, max_steps_per_turn=config.max_steps_per_turn, **config.env_kwargs)
        gate = CurriculumGate(
            HintAugmentation(env), controller=controller, metric=config.curriculum_metric, auto_record=False
        )
        runners.append(EpisodeRunner(gate, chat, config.max_episode_tokens))
    return runners


def curriculum_gate(runners: Sequence[EpisodeRunner]) -> CurriculumGate:
    """The first runner's gate, once every runner's env is checked to be a gate on the same controller."""
    gates = [runner.env for runner in runners]
    if not gates or not all(isinstance(gate, CurriculumGate) for gate in gates):
        raise TypeError("every runner's env must be a CurriculumGate: the loop draws and records through it")
    if any(gate.controller is not gates[0].controller for gate in gates):
        raise ValueError("the runners' gates must share one CurriculumController (see make_runners)")
    return gates[0]


def _record_outcomes(gate: CurriculumGate, trajectories: Sequence[Trajectory]) -> bool:
    """Record every episode in group order (all of them, even if the stage moves midway); True if it moved."""
    changed = False
    for trajectory in trajectories:
        changed |= gate.record(trajectory.success, trajectory.reward)
    return changed


# --------------------------------------------------------------------------------------------------------------
# The update


def policy_update(
    policy: Policy,
    reference: torch.nn.Module | None,
    optimizer: torch.optim.Optimizer,
    trajectories: Sequence[Trajectory],
    advantages: torch.Tensor,
    config: GRPOConfig,
) -> dict[str, float]:
    """The clipped GRPO update over every model token of the step (token-mean), ``ppo_epochs`` times.

    With ``mask_truncated``, episodes cut by a length limit are out of the loss entirely (DAPO's overlong
    filtering): no policy-gradient, KL or entropy term, and none of their tokens in the token-mean denominator.
    """
    keep = _kept(trajectories, config)
    batches = []
    for index, chunk in micro_batches(trajectories, config.micro_batch_size):
        batch = collate(chunk, advantages[index : index + len(chunk)], policy.device)
        batch.loss_mask = batch.loss_mask * keep[index : index + len(chunk), None].to(policy.device)
        batches.append(batch)
    total_tokens = max(1, sum(int(batch.loss_mask.sum()) for batch in batches))
    ref_logprobs = [_reference_logprobs(policy, reference, batch, config) for batch in batches]
    policy.model.train()
    totals: Counter[str] = Counter()
    grad_norm = 0.0
    for epoch in range(config.ppo_epochs):
        optimizer.zero_grad(set_to_none=True)
        for batch, ref in zip(batches, ref_logprobs, strict=True):
            terms = _micro_step(policy, batch, ref, total_tokens, config)
            if epoch == 0:
                totals.update(terms)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(policy.trainable_parameters(), config.max_grad_norm))
        optimizer.step()
    return {key: value / total_tokens for key, value in totals.items()} | {
        "grad_norm": grad_norm if math.isfinite(grad_norm) else float("nan"),
        "train_tokens": float(sum(int(batch.attention_mask.sum()) for batch in batches)),
    }


def _kept(trajectories: Sequence[Trajectory], config: GRPOConfig) -> torch.Tensor:
    """1.0 for each episode the loss uses, 0.0 for one that ``mask_truncated`` leaves out."""
    return torch.tensor(
        [0.0 if config.mask_truncated and item.cut_by_length else 1.0 for item in trajectories]
    )


def _micro_step(
    policy: Policy, batch: Batch, ref: torch.Tensor | None, total_tokens: int, config: GRPOConfig
) -> dict[str, float]:
    with policy.autocast():  # the forward in the compute dtype; the backward below follows it
        logp, entropy = sequence_logprobs(policy.model, batch, config, with_entropy=True)
    mask = batch.loss_mask
    terms = clipped_surrogate(
        logp, batch.old_logprobs, batch.advantages[:, None], config.clip_low, config.clip_high
    )
    per_token = terms.surrogate
    kl = k3_kl(logp, ref) if ref is not None else torch.zeros_like(logp)
    if ref is not None:
        per_token = per_token + config.kl_coef * kl
    if config.entropy_coef:
        per_token = per_token - config.entropy_coef * entropy
    loss = masked_sum(per_token, mask) / total_tokens
    loss.backward()
    with torch.no_grad():
        return {
            "loss": float(loss) * total_tokens,
            "pg_loss": float(masked_sum(terms.surrogate, mask)),
            "kl": float(masked_sum(kl, mask)),
            "entropy": float(masked_sum(entropy, mask)),
            "clip_frac_low": float(masked_sum(terms.clipped_low.float(), mask)),
            "clip_frac_high": float(masked_sum(terms.clipped_high.float(), mask)),
            "logprob_mismatch": float(masked_sum((logp - batch.old_logprobs).abs(), mask)),
        }


def _reference_logprobs(
    policy: Policy, reference: torch.nn.Module | None, batch: Batch, config: GRPOConfig
) -> torch.Tensor | None:
    if config.kl_coef == 0:
        return None
    policy.model.eval()
    with torch.no_grad(), policy.autocast():
        if reference is not None:
            return sequence_logprobs(reference, batch, config)[0]
        with policy.model.disable_adapter():  # LoRA: the base model is the reference, no second copy
            return sequence_logprobs(policy.model, batch, config)[0]


def _optimizer(
    policy: Policy, config: GRPOConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    optimizer = torch.optim.AdamW(
        policy.trainable_parameters(),
        lr=config.learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        weight_decay=config.weight_decay,
    )
    warmup = max(1, config.warmup_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    return optimizer, scheduler


def _reference_model(
    policy: Policy, config: GRPOConfig, out: Path | None, *, resume: bool = False
) -> torch.nn.Module | None:
    """The frozen KL reference: the policy as GRPO starts (after any warm start), in the compute dtype.

    None when KL is off, or with LoRA, where the same model with its adapters switched off is the reference.
    With ``out`` it is saved once, to ``OUT/reference/``, and a resumed run loads it from there: a copy of the
    resumed weights would be a different reference.
    """
    if config.kl_coef == 0 or policy.lora:
        return None
    import copy

    reference = copy.deepcopy(policy.model).to(policy.compute_dtype).eval()
    for parameter in reference.parameters():
        parameter.requires_grad_(False)
    if out is None:
        return reference
    if resume:
        ckpt.load_reference(out, reference)
    else:
        ckpt.save_reference(out, reference)
    return reference


def fit_threads_to_cores() -> int:
    """Use no more torch threads than this process may run on (its CPU affinity, e.g. a container's share).

    torch counts the machine's physical cores; threads beyond the cores granted only wait for each other.
    Returns the thread count now in use.
    """
    if hasattr(os, "sched_getaffinity"):
        torch.set_num_threads(max(1, min(torch.get_num_threads(), len(os.sched_getaffinity(0)))))
    return torch.get_num_threads()


def _quiet_transformers() -> None:
    """Our progress bar is the one to watch; transformers' own bars (e.g. when saving shards) are noise."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def _require_checkpoint(out: Path | None) -> Path:
    if out is None:
        raise ValueError("resume needs --out: the directory of the run to continue")
    directory = ckpt.latest_checkpoint(out)
    if directory is None:
        raise ValueError(f"no checkpoint under {str(out)!r} to resume from (looked for checkpoints/latest)")
    return directory


# --------------------------------------------------------------------------------------------------------------
# Metrics


def _stage_metrics(stage: int, controller: CurriculumController, changed: bool) -> dict[str, Any]:
    """The stage the step trained in and whether the curriculum moved after it."""
    return {
        "stage": stage,
        "stage_name": controller.stages[stage].name,
        "stage_changed": changed,
        "next_stage": controller.stage,
    }


def _episode_metrics(trajectories: Sequence[Trajectory]) -> dict[str, Any]:
    """Rewards, success and the shape of the step's episodes (lengths, calls, errors, cuts)."""
    rewards = np.array([item.reward for item in trajectories])
    calls = sum(item.tool_calls for item in trajectories)
    messages = max(1, sum(item.messages for item in trajectories))
    finishes = Counter(item.finish for item in trajectories)
    episodes = len(trajectories)
    return {
        "reward_mean": float(rewards.mean()),
        "reward_std": float(rewards.std()),
        "success": float(np.mean([item.success for item in trajectories])),
        "turn_accuracy": sum(item.turns_passed for item in trajectories)
        / max(1, sum(item.turns_checked for item in trajectories)),
        "episodes": episodes,
        "model_tokens": sum(item.model_tokens for item in trajectories),
        "response_length_mean": float(np.mean([len(item.response_ids) for item in trajectories])),
        "messages_per_episode": messages / episodes,
        "tool_calls_per_episode": calls / episodes,
        "call_error_rate": sum(item.call_errors for item in trajectories) / max(1, calls),
        "format_error_rate": sum(item.format_errors for item in trajectories) / messages,
        "frac_cut_by_length": (finishes["length"] + finishes["budget"]) / episodes,
    }


def _speed_metrics(
    trajectories: Sequence[Trajectory], update: dict[str, float], rollout_seconds: float, train_seconds: float
) -> dict[str, float]:
    model_tokens = sum(item.model_tokens for item in trajectories)
    return {
        "rollout_seconds": rollout_seconds,
        "train_seconds": train_seconds,
        "rollout_tokens_per_s": model_tokens / max(rollout_seconds, 1e-9),
        "train_tokens_per_s": update.get("train_tokens", 0.0) / max(train_seconds, 1e-9),
    }


__all__ = [
    "RunState",
    "TrainResult",
    "collect_rollouts",
    "curriculum_gate",
    "grpo_step",
    "make_runners",
    "policy_update",
    "summarize",
    "train",
]
