"""The GRPO agent on its real target, offline: 2 steps of the ``qwen3-4b`` preset on one GPU.

Builds a Qwen3-4B-shaped model (the config of Qwen/Qwen3-4B-Instruct-2507) with random bf16 weights and a
tokenizer trained on the spot (so nothing is downloaded), saves both to a temporary directory, then runs
``envtune train --preset qwen3-4b`` for 2 steps on BFCL-v0's train split: LoRA, gradient checkpointing, KL to the
adapter-free reference, the progress reward, the KV-reusing rollout engine within its memory budget. It prints
peak GPU memory, rollout and training tokens/s and seconds per step. Target: under 8 minutes on an H100-class GPU.

A random model rarely emits its end-of-turn token, so its messages run to ``max_new_tokens`` (1,024) and episodes
end after their first message: the rollout is a long-decode load on 64 episodes of real BFCL prompts.

Needs BFCL's data: ``pip install -e ".[train]" && pip install --no-deps bfcl-eval==2026.3.23``.

Examples:
    $ python benchmarks/gpu_check.py                 # one GPU: the real shape and the preset's batch
    $ python benchmarks/gpu_check.py --small         # a CPU rehearsal: a small shape, a small batch
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from envtune_gym.agents.config import GRPOConfig  # noqa: E402
from envtune_gym.agents.grpo import train  # noqa: E402
from envtune_gym.agents.memory import QWEN3_4B_CONFIG, format_bytes  # noqa: E402

#: The CPU rehearsal: the same code path on a shape a 2-core machine runs in a minute.
SMALL_SHAPE = dict(QWEN3_4B_CONFIG, hidden_size=128, intermediate_size=384, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=32)  # fmt: skip
SMALL_OVERRIDES: dict[str, Any] = dict(
    tasks_per_step=1, group_size=2, max_new_tokens=16, max_episode_tokens=16384, micro_batch_size=2,
    rollout_memory_gb=4.0,
)  # fmt: skip


def build_model_directory(directory: Path, shape: dict[str, Any], vocab: int) -> Path:
    """A random Qwen3 model in bf16 and a locally trained tokenizer, saved as a loadable model directory."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from envtune_gym.agents.tiny import build_tokenizer, demonstration_corpus

    # Unique lines only: BFCL's tool docs repeat in every conversation, and a BPE trained on the repeats would
    # learn whole docs as single tokens; on unique text it compresses about as an ordinary tokenizer does.
    lines = dict.fromkeys(
        line for text in demonstration_corpus(("EnvTune/BFCL-v0",)) for line in text.split("\n")
    )
    tokenizer = build_tokenizer(["\n".join(lines)], vocab_size=vocab)
    config = Qwen3Config(**shape, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id)  # fmt: skip
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = Qwen3ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    del model
    if device == "cuda":
        torch.cuda.empty_cache()
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a small shape and batch (a CPU rehearsal)")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=16384, help="size of the locally trained tokenizer")
    parser.add_argument("--out", default=None, help="run directory (default: a temporary one)")
    args = parser.parse_args()
    if not args.small and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device here; run with --small for the CPU rehearsal")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="envtune-gpu-check-") as scratch:
        model_dir = build_model_directory(Path(scratch) / "model", SMALL_SHAPE if args.small else QWEN3_4B_CONFIG,
                                          args.vocab)  # fmt: skip
        built = time.perf_counter() - started
        overrides = dict(SMALL_OVERRIDES if args.small else {})
        config = GRPOConfig.from_preset(
            "qwen3-4b", model=str(model_dir), total_steps=args.steps, out=args.out or str(Path(scratch) / "run"),
            checkpoint_every=10**6, tensorboard=False, progress=False, **overrides,
        )  # fmt: skip
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        result = train(config)
    report(result.rows, config, built, time.perf_counter() - started)


def report(
    rows: list[dict[str, Any]], config: GRPOConfig, build_seconds: float, total_seconds: float
) -> None:
    """Print each step's figures as JSON, then one summary line."""
    cuda = torch.cuda.is_available()
    peak = torch.cuda.max_memory_allocated() if cuda else float("nan")
    keys = ("step", "rollout_seconds", "train_seconds", "rollout_tokens_per_s", "train_tokens_per_s",
            "model_tokens", "train_tokens", "rollout_computed_tokens", "rollout_most_resident", "rollout_evictions",
            "rollout_peak_estimate_gib", "kl", "reward_mean", "frac_cut_by_length")  # fmt: skip
    for row in rows:
        print(json.dumps({key: row.get(key) for key in keys}))
    seconds_per_step = sum(row["rollout_seconds"] + row["train_seconds"] for row in rows) / len(rows)
    rollout = sum(row["model_tokens"] for row in rows) / sum(row["rollout_seconds"] for row in rows)
    training = sum(row["train_tokens"] for row in rows) / sum(row["train_seconds"] for row in rows)
    device = torch.cuda.get_device_name() if cuda else "cpu"
    print(f"gpu check on {device}: {len(rows)} steps of {config.tasks_per_step}x{config.group_size} episodes, "
          f"peak memory {format_bytes(peak) if cuda else 'n/a (CPU)'}, rollout {rollout:,.0f} tok/s, training "
          f"{training:,.0f} tok/s, {seconds_per_step:.1f} s/step, {total_seconds:.0f} s in all "
          f"({build_seconds:.0f} s building the model)")  # fmt: skip


if __name__ == "__main__":
    main()
