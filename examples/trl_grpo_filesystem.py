"""GRPO with TRL's ``GRPOTrainer`` on EnvTune's FileSystem tasks; runs on a CPU with the tiny local policy.

    pip install ".[train]" "trl==1.16.0"
    python examples/trl_grpo_filesystem.py                       # rollout_func: whole two-turn episodes
    python examples/trl_grpo_filesystem.py --mode environment    # environment_factory: first turns, TRL's tool loop
    python examples/trl_grpo_filesystem.py --model Qwen/Qwen3-0.6B --tasks all --steps 200   # a real model, GPU

With ``--model tiny`` (the default) the policy is built on the spot, as ``envtune train`` builds it: a 2-layer
Qwen3-architecture model and a byte-level BPE tokenizer trained on the FileSystem oracle conversations (here also
on the prompts TRL renders for ``environment_factory``), then a short supervised warm start on the oracle's
demonstrations of the training tasks, so that GRPO starts from a policy that solves them some of the time. The
training tasks are the tiny preset's: FileSystem's three base tasks with at most two calls. It prints the mean
reward of the first and last quarter of steps and leaves TRL's logs in ``--out``.

See docs/integrations/trl.md for multi-GPU and vLLM launches.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from typing import Any

import gymnasium as gym
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import get_json_schema
from trl import GRPOConfig, GRPOTrainer

import envtune_gym  # noqa: F401 - registers the EnvTune/* ids
from envtune_gym.agents.config import GRPOConfig as AgentConfig
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, demonstration
from envtune_gym.agents.tiny import build_tiny_policy, demonstration_corpus, render_chat
from envtune_gym.integrations.trl import (
    add_hermes_response_parser,
    env_reward,
    make_environment_class,
    make_rollout_func,
    oracle_messages,
    task_dataset,
    tool_methods,
)

ENV_ID = "EnvTune/FileSystem-v0"
#: The Environment Tuning code's forced quit: at most 2 steps that do not end a turn (the tiny preset's setting).
ENV_KWARGS = {"max_steps_per_turn": 2}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["rollout", "environment"], default="rollout")
    parser.add_argument("--model", default="tiny", help="'tiny' (built locally) or a hub id / local path")
    parser.add_argument("--tasks", choices=["tiny", "all"], default="tiny", help="the tiny preset's 3 or all")
    parser.add_argument("--steps", type=int, default=40, help="GRPO optimizer steps")
    parser.add_argument("--group-size", type=int, default=8, help="num_generations: episodes per task")
    parser.add_argument("--learning-rate", type=float, default=None, help="default 3e-4 (tiny) or 1e-6")
    parser.add_argument("--warm-start-steps", type=int, default=60, help="supervised steps (tiny only)")
    parser.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU, pip install vllm)")
    parser.add_argument("--vllm-mode", choices=["colocate", "server"], default="colocate")
    parser.add_argument("--out", default="runs/trl-filesystem")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def task_ids(which: str) -> list[str]:
    """The tiny preset's tasks (base, at most two calls), or every FileSystem task."""
    tasks = gym.make(ENV_ID).unwrapped.tasks
    if which == "all":
        return [task.id for task in tasks]
    stages = AgentConfig.from_preset("tiny").stages
    return [task.id for task in tasks if any(stage.matches(task) for stage in stages)]


# ----------------------------------------------------------------------------------------------------------------
# The tiny policy and its warm start


def tiny_policy(ids: list[str], seed: int, steps: int) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The tiny model with a tokenizer that knows both renderings, warm-started on the oracle's demonstrations."""
    environment = make_environment_class(ENV_ID, env_kwargs=ENV_KWARGS, first_turn_only=True)()
    tools = [get_json_schema(method) for method in tool_methods(environment)]
    # The environment_factory prompt shows the tools as transformers writes them (not as the env does), so the
    # tokenizer learns those lines too; otherwise that prompt would be thousands of tokens.
    corpus = demonstration_corpus((ENV_ID,)) + [
        render_chat(oracle_messages(environment, task.id), tools=tools)
        for task in gym.make(ENV_ID).unwrapped.tasks
        if task.ground_truth[0]
    ]
    model, tokenizer = build_tiny_policy(corpus, seed=seed)
    add_hermes_response_parser(tokenizer)  # TRL knows the tool-call format of known templates only
    sequences = rollout_demonstrations(tokenizer, ids) + factory_demonstrations(tokenizer, environment, ids)
    warm_start(model, sequences, steps)
    return model, tokenizer


def rollout_demonstrations(
    tokenizer: PreTrainedTokenizerBase, ids: list[str]
) -> list[tuple[list[int], list[int]]]:
    """Whole oracle episodes as the rollout function lays them out: ids and the loss mask (model tokens)."""
    runner = EpisodeRunner(gym.make(ENV_ID, **ENV_KWARGS), ChatFormat(tokenizer))
    tasks = {task.id: task for task in runner.env.unwrapped.tasks}
    sequences = []
    for task_id in ids:
        episode = demonstration(runner, task_id, list(oracle_actions(tasks[task_id], style="hermes")))
        sequences.append((episode.input_ids, [0] * len(episode.prompt_ids) + episode.response_mask))
    return sequences


def factory_demonstrations(
    tokenizer: PreTrainedTokenizerBase, environment: Any, ids: list[str]
) -> list[tuple[list[int], list[int]]]:
    """The oracle's first turns as TRL's tool loop renders them; the loss covers everything after the prompt."""
    tools = tool_methods(environment)
    sequences = []
    for task_id in ids:
        messages = oracle_messages(environment, task_id)
        prompt = _ids(tokenizer, messages[:1], tools, add_generation_prompt=True)
        full = _ids(tokenizer, messages, tools)
        sequences.append((full, [0] * len(prompt) + [1] * (len(full) - len(prompt))))
    return sequences


def _ids(tokenizer: PreTrainedTokenizerBase, messages: list[dict], tools: list, **kwargs: Any) -> list[int]:
    rendered = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=True, **kwargs)
    return list(rendered["input_ids"])


def warm_start(model: PreTrainedModel, sequences: list[tuple[list[int], list[int]]], steps: int) -> None:
    """``steps`` AdamW steps (lr 3e-3) of next-token loss on the masked tokens of every sequence."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        for ids, mask in sequences:
            labels = [token if keep else -100 for token, keep in zip(ids, mask, strict=True)]
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss / len(sequences)
            loss.backward()
        optimizer.step()
        optimizer.zero_grad()


# ----------------------------------------------------------------------------------------------------------------
# GRPO through TRL


def trl_config(args: argparse.Namespace, tiny: bool) -> GRPOConfig:
    """TRL's settings: one group of ``group_size`` episodes per task and step."""
    cuda = torch.cuda.is_available()
    settings: dict[str, Any] = dict(
        output_dir=args.out, seed=args.seed, max_steps=args.steps, logging_steps=1, report_to="none",
        save_strategy="no", use_cpu=not cuda, bf16=cuda, num_generations=args.group_size,
        per_device_train_batch_size=args.group_size * (3 if args.tasks == "tiny" else 4),
        learning_rate=args.learning_rate or (3e-4 if tiny else 1e-6), epsilon_high=0.28, temperature=1.0,
        # rollout_func: the cap of one message; environment_factory: of the whole completion, tool results included.
        max_completion_length=(32 if tiny else 1024) if args.mode == "rollout" else (128 if tiny else 2048),
        use_vllm=args.use_vllm, vllm_mode=args.vllm_mode,
    )  # fmt: skip
    fields = {field.name for field in dataclasses.fields(GRPOConfig)}
    # Activation checkpointing saves nothing on the tiny model; transformers 5.2x renamed the option.
    settings[
        "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    ] = not tiny
    return GRPOConfig(**settings)


def build_trainer(
    args: argparse.Namespace, model: Any, tokenizer: PreTrainedTokenizerBase | None, ids: list[str]
) -> GRPOTrainer:
    """The trainer of the chosen path, on the chosen tasks."""
    config = trl_config(args, tiny=args.model == "tiny")
    if args.mode == "rollout":
        rollout = make_rollout_func(ENV_ID, env_kwargs=ENV_KWARGS, max_episode_tokens=2048 if args.model == "tiny"
                                    else 16384)  # fmt: skip
        return GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=env_reward, args=config,
                           train_dataset=task_dataset(ENV_ID, task_ids=ids), rollout_func=rollout)  # fmt: skip
    environment = make_environment_class(ENV_ID, env_kwargs=ENV_KWARGS, first_turn_only=True)
    return GRPOTrainer(model=model, processing_class=tokenizer, environment_factory=environment, args=config,
                       train_dataset=task_dataset(ENV_ID, task_ids=ids, first_turn_only=True))  # fmt: skip


def report(trainer: GRPOTrainer, seconds: float) -> None:
    """The mean reward of the first and last quarter of steps."""
    rewards = [row["reward"] for row in trainer.state.log_history if "reward" in row]
    quarter = max(1, len(rewards) // 4)
    first, last = sum(rewards[:quarter]) / quarter, sum(rewards[-quarter:]) / quarter
    print(f"{len(rewards)} GRPO steps in {seconds:.0f} s: mean reward {first:.3f} (first quarter) -> "
          f"{last:.3f} (last quarter)")  # fmt: skip


def main() -> None:
    args = parse_args()
    os.environ.setdefault(
        "TRL_EXPERIMENTAL_SILENCE", "1"
    )  # rollout_func and environment_factory warn otherwise
    ids = task_ids(args.tasks)
    if args.model == "tiny":
        # One thread: the tiny model gains nothing from more, and on a busy CPU extra OpenMP threads slow it down
        # many times over.
        torch.set_num_threads(1)
        torch.manual_seed(args.seed)
        model, tokenizer = tiny_policy(ids, args.seed, args.warm_start_steps)
    else:
        model, tokenizer = (
            args.model,
            None,
        )  # TRL loads both (and sets the tool-call parser of known templates)
    trainer = build_trainer(args, model, tokenizer, ids)
    started = time.perf_counter()
    trainer.train()
    report(trainer, time.perf_counter() - started)


if __name__ == "__main__":
    main()
