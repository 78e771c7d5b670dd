"""Supervised warm start on oracle demonstrations, the SFT half of SFT -> GRPO.

The env produces the demonstrations itself: the oracle's ground-truth actions (Hermes ``<tool_call>`` format,
which Qwen-style chat templates teach) are fed through the same :class:`~envtune_gym.agents.rollout.EpisodeRunner`
as the rollouts, so the token layout and masks are exactly those GRPO later trains on. The loss is the mean
negative log-likelihood of the demonstration's model tokens.

Example:
    >>> from envtune_gym.agents.config import GRPOConfig
    >>> from envtune_gym.agents.policy import load_policy
    >>> from envtune_gym.agents.rollout import ChatFormat
    >>> config = GRPOConfig.from_preset("tiny", tiny_vocab_size=600, sft_steps=2, progress=False)
    >>> policy = load_policy(config)
    >>> chat = ChatFormat(policy.tokenizer)
    >>> demos = oracle_demonstrations(chat, config)
    >>> rows = supervised_steps(policy, demos, config)
    >>> len(rows), rows[-1]["loss"] > 0
    (2, True)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from envtune_gym.agents.batches import collate, sequence_logprobs
from envtune_gym.agents.config import GRPOConfig
from envtune_gym.agents.metrics import MetricsLogger, ProgressBar
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.agents.policy import Policy
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, Trajectory, demonstration


def oracle_demonstrations(chat: ChatFormat, config: GRPOConfig) -> list[Trajectory]:
    """One demonstration per task that any curriculum stage draws, played by the oracle through the env."""
    env = gym.make(config.env_id, max_steps_per_turn=config.max_steps_per_turn, **config.env_kwargs)
    runner = EpisodeRunner(env, chat, max_episode_tokens=10**9)
    tasks = [task for task in env.unwrapped.tasks if any(stage.matches(task) for stage in config.stages)]
    demos = []
    for task in tasks:
        trajectory = demonstration(runner, task.id, list(oracle_actions(task, style="hermes")))
        if not trajectory.success:
            raise RuntimeError(f"the oracle failed task {task.id}: its demonstration would teach mistakes")
        demos.append(trajectory)
    return demos


def supervised_steps(
    policy: Policy, demos: list[Trajectory], config: GRPOConfig, logger: MetricsLogger | None = None
) -> list[dict[str, Any]]:
    """``config.sft_steps`` AdamW steps on batches of demonstrations drawn with the run's seed."""
    if not demos:
        raise ValueError("no demonstrations: the curriculum stages match none of the env's tasks")
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=config.sft_learning_rate)
    rng = np.random.default_rng(
        [config.seed, 7919]
    )  # its own stream: GRPO's draws stay the same with or without SFT
    rows = []
    policy.model.train()
    with ProgressBar(config.sft_steps, desc="sft", enabled=config.progress) as bar:
        for step in range(config.sft_steps):
            started = time.perf_counter()
            picks = rng.choice(len(demos), size=min(config.sft_batch_size, len(demos)), replace=False)
            batch = collate([demos[int(index)] for index in picks], torch.zeros(len(picks)), policy.device)
            with policy.autocast():
                logp, _ = sequence_logprobs(policy.model, batch, _untempered(config))
            tokens = batch.loss_mask.sum().clamp(min=1)
            loss = -(logp * batch.loss_mask).sum() / tokens
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = float(
                torch.nn.utils.clip_grad_norm_(policy.trainable_parameters(), config.max_grad_norm)
            )
            optimizer.step()
            seconds = time.perf_counter() - started
            row = {"step": step + 1, "loss": float(loss.detach()), "grad_norm": grad_norm,
                   "tokens": int(tokens), "train_tokens_per_s": float(batch.attention_mask.sum()) / seconds}  # fmt: skip
            rows.append(row)
            if logger is not None:
                logger.log(row)
            bar.update(row)
    return rows


def warm_start(
    policy: Policy, chat: ChatFormat, env: gym.Env, config: GRPOConfig, out: Path | None
) -> list[dict[str, Any]]:
    """The SFT stage of ``envtune train``: demonstrations, ``sft_steps`` steps, logged to ``sft_metrics.jsonl``."""
    del env  # demonstrations come from a fresh, unwrapped env so no curriculum wrapper interferes
    demos = oracle_demonstrations(chat, config)
    with MetricsLogger(out, tensorboard=False, filename="sft_metrics.jsonl") as logger:
        return supervised_steps(policy, demos, config, logger)


def _untempered(config: GRPOConfig) -> GRPOConfig:
    """The demonstrations' likelihood is that of the model itself, temperature 1."""
    import dataclasses

    return dataclasses.replace(config, temperature=1.0)
