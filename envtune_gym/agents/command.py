"""``envtune train`` and ``envtune sft``: the GRPO agent from the command line.

Every :class:`~envtune_gym.agents.config.GRPOConfig` field is a flag (``--group-size 8``, ``--lora true``,
``--stages '[{"name": "base", "categories": ["base"]}]'``); ``--config FILE`` (JSON or TOML) sits between the
preset and the flags.

Example:
    $ envtune train                                   # the tiny preset on a CPU, a few minutes, into runs/tiny
    $ envtune train --preset qwen3-4b --out runs/q4b  # the paper's stage plan on one GPU
    $ envtune train --out runs/q4b --preset qwen3-4b --resume
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from envtune_gym.agents.config import PRESETS, GRPOConfig, field_names, load_config_file, parse_flag_value

_RUN_FLAGS = ("preset", "config", "resume", "overwrite")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``train`` and ``sft`` on the ``envtune`` parser."""
    train = commands.add_parser(
        "train", help="train a policy with GRPO (default: the tiny preset, CPU, minutes)"
    )
    _add_options(train)
    train.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    train.set_defaults(handler=_train)
    sft = commands.add_parser("sft", help="only the supervised warm start on oracle demonstrations")
    _add_options(sft)
    sft.set_defaults(handler=_sft, resume=False)


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny", help="(default: %(default)s)")
    parser.add_argument("--config", help="JSON or TOML file of config fields, applied over the preset")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    fields = parser.add_argument_group("config fields (see docs/agent.md)")
    for name in field_names():
        fields.add_argument(f"--{name.replace('_', '-')}", dest=f"field_{name}", metavar="VALUE")


def build_config(args: argparse.Namespace) -> GRPOConfig:
    """Preset, then the config file, then the flags given."""
    overrides: dict[str, Any] = load_config_file(args.config) if args.config else {}
    for name in field_names():
        text = getattr(args, f"field_{name}")
        if text is not None:
            overrides[name] = parse_flag_value(name, text)
    config = GRPOConfig.from_preset(args.preset).with_overrides(overrides)
    if config.out is None:
        config = config.with_overrides({"out": str(Path("runs") / args.preset)})
    return config


def _prepare_out(config: GRPOConfig, args: argparse.Namespace) -> None:
    out = Path(config.out)
    if args.resume or not out.exists() or not any(out.iterdir()):
        return
    if not args.overwrite:
        raise ValueError(
            f"{str(out)!r} already holds a run: pass --resume to continue it or --overwrite to replace it"
        )
    shutil.rmtree(out)


def _require_train_extra(command: str) -> bool:
    import importlib.util

    missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
    if missing:
        print(
            f"envtune {command}: needs {' and '.join(missing)}: pip install 'envtune-gym[train]' "
            "(on a CPU-only machine, install PyTorch's CPU build first)",
            file=sys.stderr,
        )
    return not missing


def _train(args: argparse.Namespace) -> int:
    if not _require_train_extra("train"):
        return 2
    from envtune_gym.agents.grpo import train
    from envtune_gym.agents.metrics import summarize

    try:
        config = build_config(args)
        _prepare_out(config, args)
        result = train(config, resume=args.resume)
    except ValueError as exc:
        print(f"envtune train: {exc}", file=sys.stderr)
        return 2
    if result.rows:
        reward = summarize(result.rows, "reward_mean")
        success = summarize(result.rows, "success")
        print(
            f"reward {reward['first_quarter']:.3f} -> {reward['last_quarter']:.3f} (first -> last quarter of steps), "
            f"success {success['first_quarter']:.3f} -> {success['last_quarter']:.3f}, "
            f"stage {result.controller.stage} ({result.controller.current.name})"
        )
    print(f"outputs in {config.out}: metrics.jsonl, curves.png, checkpoints/, tensorboard/")
    return 0


def _sft(args: argparse.Namespace) -> int:
    if not _require_train_extra("sft"):
        return 2
    from envtune_gym.agents.policy import load_policy
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.agents.sft import warm_start

    try:
        config = build_config(args)
        if config.sft_steps == 0:
            raise ValueError("sft_steps is 0: pass --sft-steps N")
        _prepare_out(config, args)
        policy = load_policy(config)
        rows = warm_start(
            policy,
            ChatFormat(policy.tokenizer, config.system_prompt, config.tool_docs),
            None,
            config,
            Path(config.out),
        )
    except ValueError as exc:
        print(f"envtune sft: {exc}", file=sys.stderr)
        return 2
    policy.save(Path(config.out) / "sft_policy")
    print(f"loss {rows[0]['loss']:.3f} -> {rows[-1]['loss']:.3f}; policy saved to {config.out}/sft_policy")
    return 0
