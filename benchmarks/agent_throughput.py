"""Rollout and training throughput of the GRPO agent, with peak memory, on CPU or GPU.

Three measurements, each against a reference in the same run:

1. rollout: our batched sampler (KV cache, per-token log-probs) vs transformers' ``model.generate`` on the same
   contexts and token budget, in generated tokens/s;
2. training: one GRPO micro-batch forward/backward with the chunked fp32 log-softmax vs the same step computing
   full fp32 logits, in tokens/s and peak memory;
3. for the tiny preset, a real multi-turn rollout through ``EnvTune/FileSystem-v0`` (tokens/s including the env).

With ``--multi-turn``, instead: the KV-reusing rollout engine against the per-round re-prefilling reference path
on real FileSystem episodes of 3+ turns (the tiny model, warm-started on oracle demonstrations so that it calls
tools), both in this process on the same episodes and draws. It ends with the line
``multi-turn rollout: <W>x wall, <C>x fewer computed tokens (new vs per-round re-prefill)``.

Examples:
    $ python benchmarks/agent_throughput.py                                   # tiny model, CPU
    $ python benchmarks/agent_throughput.py --model qwen3-4b-shape --lora     # 4B-shaped random bf16 model, GPU
    $ python benchmarks/agent_throughput.py --multi-turn                      # engine vs re-prefill, tiny, CPU
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envtune_gym.agents.batches import collate  # noqa: E402
from envtune_gym.agents.config import GRPOConfig  # noqa: E402
from envtune_gym.agents.grpo import _micro_step, policy_update  # noqa: E402
from envtune_gym.agents.losses import clipped_surrogate, masked_sum  # noqa: E402
from envtune_gym.agents.memory import QWEN3_4B_CONFIG  # noqa: E402
from envtune_gym.agents.policy import Policy, enable_activation_checkpointing, resolve_device  # noqa: E402
from envtune_gym.agents.rollout import Trajectory  # noqa: E402
from envtune_gym.agents.sampling import sample  # noqa: E402


def build_model(args: argparse.Namespace, device: torch.device) -> tuple[torch.nn.Module, int]:
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from envtune_gym.agents.tiny import build_tiny_policy

    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[args.dtype]
    if args.model == "tiny":
        model, tokenizer = build_tiny_policy(seed=0)
        model = model.to(dtype)
        vocab = len(tokenizer)
    else:
        config = Qwen3Config(**QWEN3_4B_CONFIG, attn_implementation="sdpa")
        with torch.device(device):
            model = Qwen3ForCausalLM(config).to(dtype)
        vocab = config.vocab_size
    if args.lora:
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        model = get_peft_model(
            model, LoraConfig(r=32, lora_alpha=64, target_modules=targets, task_type="CAUSAL_LM")
        )
    if args.gradient_checkpointing:
        enable_activation_checkpointing(model)
        if args.lora:
            model.enable_input_require_grads()
    return model.to(device), vocab


def measure(fn: Callable[[], Any], device: torch.device) -> tuple[float, float]:
    """Seconds and peak memory (GiB: CUDA allocated, or process RSS on CPU) of one call."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return time.perf_counter() - started, peak


def bench_rollout(model, vocab: int, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    generator = torch.Generator(device=device).manual_seed(0)
    contexts = torch.randint(
        10, vocab, (args.episodes, args.prompt_tokens), generator=generator, device=device
    )
    rows = contexts.tolist()
    model.eval()

    def ours() -> None:
        sample(model, rows, max_new_tokens=args.new_tokens, stop_ids=[-1], pad_id=0, temperature=1.0,
               rngs=[np.random.default_rng([1, row]) for row in range(len(rows))])  # fmt: skip

    def reference() -> None:
        with torch.inference_mode():
            model.generate(
                contexts, attention_mask=torch.ones_like(contexts), do_sample=True, temperature=1.0, top_k=0,
                max_new_tokens=args.new_tokens, min_new_tokens=args.new_tokens, pad_token_id=0,
            )  # fmt: skip

    ours()  # warm-up (kernels, allocator)
    seconds, peak = measure(ours, device)
    reference_seconds, reference_peak = measure(reference, device)
    tokens = args.episodes * args.new_tokens
    return {
        "rollout_tokens_per_s": tokens / seconds,
        "generate_tokens_per_s": tokens / reference_seconds,
        "rollout_vs_generate": reference_seconds / seconds,
        "rollout_peak_gib": peak,
        "generate_peak_gib": reference_peak,
    }


def synthetic_trajectories(vocab: int, args: argparse.Namespace) -> list[Trajectory]:
    generator = torch.Generator().manual_seed(2)
    trajectories = []
    for index in range(args.train_sequences):
        ids = torch.randint(10, vocab, (args.train_tokens,), generator=generator).tolist()
        prompt, response = ids[: args.prompt_tokens], ids[args.prompt_tokens :]
        mask = [1 if (position // 64) % 2 == 0 else 0 for position in range(len(response))]  # model/env turns
        trajectories.append(
            Trajectory(
                "bench",
                index // 2,
                prompt,
                response,
                mask,
                [-1.0 if m else 0.0 for m in mask],
                reward=index % 2,
            )
        )
    return trajectories


def bench_training(model, vocab: int, args: argparse.Namespace, device: torch.device) -> dict[str, float]:
    config = GRPOConfig(micro_batch_size=args.micro_batch, logprob_chunk_size=args.chunk, group_size=2)
    policy = Policy(model, None, device, lora=args.lora)
    trajectories = synthetic_trajectories(vocab, args)
    advantages = torch.tensor([1.0, -1.0] * (len(trajectories) // 2))
    optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=1e-6)

    def chunked() -> None:
        policy_update(policy, None, optimizer, trajectories, advantages, config)

    micro = collate(trajectories[: args.micro_batch], advantages[: args.micro_batch], device)
    micro_tokens = max(1, int(micro.loss_mask.sum()))

    def chunked_micro_batch() -> None:
        model.train()
        _micro_step(policy, micro, None, micro_tokens, config)
        optimizer.zero_grad(set_to_none=True)

    def full_logits_micro_batch() -> None:  # the usual way: the model's full logits, then an fp32 log-softmax
        model.train()
        position_ids = (micro.attention_mask.cumsum(-1) - 1).clamp(min=0)
        logits = model(
            input_ids=micro.input_ids, attention_mask=micro.attention_mask, position_ids=position_ids
        ).logits
        logp = torch.log_softmax(logits[:, micro.start : -1].float(), dim=-1)
        logp = logp.gather(-1, micro.targets[..., None]).squeeze(-1)
        terms = clipped_surrogate(logp, micro.old_logprobs, micro.advantages[:, None])
        (masked_sum(terms.surrogate, micro.loss_mask) / micro_tokens).backward()
        optimizer.zero_grad(set_to_none=True)

    chunked()  # warm-up
    seconds, peak = measure(chunked, device)
    tokens = args.train_sequences * args.train_tokens
    result = {"train_tokens_per_s": tokens / seconds, "train_peak_gib": peak}
    chunked_seconds, chunked_peak = measure(chunked_micro_batch, device)
    result |= {"chunked_micro_batch_s": chunked_seconds, "chunked_micro_batch_peak_gib": chunked_peak}
    try:
        full_seconds, full_peak = measure(full_logits_micro_batch, device)
        result |= {
            "full_logits_micro_batch_s": full_seconds,
            "full_logits_micro_batch_peak_gib": full_peak,
            "peak_memory_full_vs_chunked": full_peak / chunked_peak,
        }
    except torch.OutOfMemoryError:
        result["full_logits_micro_batch"] = "out of memory"
    return result


def bench_env_rollout(args: argparse.Namespace) -> dict[str, float]:
    from envtune_gym.agents.grpo import collect_rollouts, make_runners
    from envtune_gym.agents.policy import load_policy
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.wrappers.curriculum import CurriculumController

    config = GRPOConfig.from_preset("tiny", progress=False)
    policy = load_policy(config)
    chat = ChatFormat(policy.tokenizer)
    runners = make_runners(config, chat, CurriculumController(config.stages))
    started = time.perf_counter()
    trajectories = collect_rollouts(0, policy, chat, runners, config).trajectories
    seconds = time.perf_counter() - started
    return {
        "env_rollout_episodes": len(trajectories),
        "env_rollout_model_tokens_per_s": sum(item.model_tokens for item in trajectories) / seconds,
        "env_rollout_episodes_per_s": len(trajectories) / seconds,
    }


def bench_multi_turn(args: argparse.Namespace) -> None:
    """The engine and the re-prefill path on the same multi-turn episodes; prints the comparison line."""
    import gymnasium as gym
    import numpy as np

    from envtune_gym.agents.engine import RolloutEngine, reprefill_rollouts
    from envtune_gym.agents.grpo import rollout_plan
    from envtune_gym.agents.policy import load_policy
    from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner
    from envtune_gym.agents.sft import oracle_demonstrations, supervised_steps

    config = GRPOConfig.from_preset("tiny", progress=False, sft_steps=args.sft_steps, max_new_tokens=args.new_tokens,
                                    max_steps_per_turn=args.max_steps_per_turn)  # fmt: skip
    policy = load_policy(config)
    chat = ChatFormat(policy.tokenizer)
    if config.sft_steps:  # a policy that calls tools, so episodes carry real results over several turns
        supervised_steps(policy, oracle_demonstrations(chat, config), config)
    policy.model.eval()
    env = gym.make(config.env_id)
    tasks = [task.id for task in env.unwrapped.tasks if len(task.turns) >= 3][: args.groups]

    def play(engine: bool) -> tuple[float, int, list[Any]]:
        runners = []
        for index in range(args.groups * args.group_size):
            game = gym.make(config.env_id, max_steps_per_turn=config.max_steps_per_turn)
            runner = EpisodeRunner(game, chat, config.max_episode_tokens)
            runner.start(tasks[index // args.group_size], group=index // args.group_size)
            runners.append(runner)
        rngs = [np.random.default_rng([config.seed, index]) for index in range(len(runners))]
        started = time.perf_counter()
        if engine:
            stats = RolloutEngine(policy.model, chat, rollout_plan(policy, config), max_new_tokens=config.max_new_tokens,
                                  temperature=config.temperature, max_rows=len(runners)).run(runners, rngs)  # fmt: skip
        else:
            stats = reprefill_rollouts(policy.model, chat, runners, rngs, max_new_tokens=config.max_new_tokens,
                                       temperature=config.temperature, batch_size=len(runners))  # fmt: skip
        return time.perf_counter() - started, stats.computed_tokens, [runner.trajectory for runner in runners]

    play(True)  # warm-up
    old_seconds, old_tokens, old = play(False)
    new_seconds, new_tokens, new = play(True)
    same = sum(a.response_ids == b.response_ids for a, b in zip(old, new, strict=True))
    turns = np.mean([item.turns_checked for item in new])
    messages = np.mean([item.messages for item in new])
    print(json.dumps({
        "episodes": len(new), "tasks": tasks, "turns_checked_per_episode": round(float(turns), 2),
        "messages_per_episode": round(float(messages), 2), "model_tokens": sum(item.model_tokens for item in new),
        "identical_episodes": f"{same}/{len(new)}", "reprefill_seconds": round(old_seconds, 3),
        "engine_seconds": round(new_seconds, 3), "reprefill_computed_tokens": old_tokens,
        "engine_computed_tokens": new_tokens, "torch_threads": torch.get_num_threads(),
    }, indent=1))  # fmt: skip
    print(f"multi-turn rollout: {old_seconds / new_seconds:.2f}x wall, {old_tokens / new_tokens:.2f}x fewer computed "
          "tokens (new vs per-round re-prefill)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--multi-turn", action="store_true", help="engine vs per-round re-prefill (tiny, real envs)"
    )
    parser.add_argument(
        "--groups", type=int, default=8, help="--multi-turn: tasks (groups; 8 as in qwen3-4b)"
    )
    parser.add_argument("--group-size", type=int, default=8, help="--multi-turn: episodes per task")
    parser.add_argument(
        "--sft-steps", type=int, default=35, help="--multi-turn: warm-start steps before rolling out"
    )
    parser.add_argument(
        "--max-steps-per-turn", type=int, default=3, help="--multi-turn: env steps per user turn"
    )
    parser.add_argument("--model", choices=["tiny", "qwen3-4b-shape"], default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default=None)
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--episodes", type=int, default=None, help="rows generated together")
    parser.add_argument("--prompt-tokens", type=int, default=None)
    parser.add_argument("--new-tokens", type=int, default=None)
    parser.add_argument("--train-sequences", type=int, default=None)
    parser.add_argument("--train-tokens", type=int, default=None, help="tokens per training sequence")
    parser.add_argument("--micro-batch", type=int, default=None)
    parser.add_argument("--chunk", type=int, default=1024)
    args = parser.parse_args()
    if args.multi_turn:
        args.new_tokens = args.new_tokens or 48
        bench_multi_turn(args)
        return
    big = args.model != "tiny"
    defaults = dict(dtype="bfloat16" if big else "float32", episodes=32 if big else 16,
                    prompt_tokens=2048 if big else 256, new_tokens=256 if big else 64,
                    train_sequences=8 if big else 16, train_tokens=4096 if big else 512,
                    micro_batch=2 if big else 8)  # fmt: skip
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    model, vocab = build_model(args, device)
    report: dict[str, Any] = {
        "model": args.model, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "dtype": args.dtype, "lora": args.lora, "gradient_checkpointing": args.gradient_checkpointing,
        "episodes": args.episodes, "prompt_tokens": args.prompt_tokens, "new_tokens": args.new_tokens,
        "train_sequences": args.train_sequences, "train_tokens": args.train_tokens, "micro_batch": args.micro_batch,
    }  # fmt: skip
    report |= bench_rollout(model, vocab, args, device)
    report |= bench_training(model, vocab, args, device)
    if args.model == "tiny":
        report |= bench_env_rollout(args)
    print(json.dumps({key: round(value, 3) if isinstance(value, float) else value for key, value in report.items()},
                     indent=1))  # fmt: skip
    print(f"rollout: {report['rollout_tokens_per_s']:,.0f} tok/s = {report['rollout_vs_generate']:.2f}x "
          f"transformers generate; training: {report['train_tokens_per_s']:,.0f} tok/s, peak "
          f"{report['train_peak_gib']:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
