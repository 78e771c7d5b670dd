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
import inspect
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from envtune_gym.agents.config import (
    PRESETS,
    GRPOConfig,
    describe_field_type,
    field_names,
    load_config_file,
    parse_flag_value,
)
from envtune_gym.cli_support import check_env
from envtune_gym.wrappers.curriculum import Stage

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
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="a JSON file, or TOML with a .toml suffix, of config fields, applied over the preset",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run in --out")
    fields = parser.add_argument_group(
        'config fields (see docs/agent.md); lists and tables as JSON, e.g. --env-kwargs \'{"split": "train"}\''
    )
    docs = field_docs()
    for name in field_names():
        fields.add_argument(
            f"--{name.replace('_', '-')}",
            dest=f"field_{name}",
            metavar=_metavar(name),
            help=_field_help(name, docs.get(name, "")).replace("%", "%%"),  # argparse formats help with %
        )


def field_docs() -> dict[str, str]:
    """Each :class:`GRPOConfig` field's ``#:`` comment (the fields' documentation), read from its source.

    A field without a comment of its own is absent; so is every field if the source cannot be read.
    """
    try:
        lines = inspect.getsource(GRPOConfig).splitlines()
    except (OSError, TypeError):  # no source shipped: the help shows types and defaults only
        return {}
    docs: dict[str, str] = {}
    comment: list[str] = []
    for line in lines:
        text = line.strip()
        if text.startswith("#:"):
            comment.append(text[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", text)
        if match and comment and match.group(1) not in docs:
            docs[match.group(1)] = " ".join(comment).replace("``", "")
        comment = []
    return docs


def _metavar(name: str) -> str:
    kind = describe_field_type(name)
    if kind.startswith("one of "):  # a Literal: show the choices
        return "{" + ",".join(choice.strip("'") for choice in kind[len("one of ") :].split(", ")) + "}"
    words = {"an integer": "INT", "a finite number": "FLOAT", "true or false": "BOOL", "a string": "TEXT"}
    base = kind.removesuffix(" or null")
    metavar = words.get(base, "JSON")
    return f"{metavar}|none" if kind.endswith(" or null") else metavar


def _field_help(name: str, doc: str) -> str:
    """The doc comment, the type in words, and the default under each preset (``train`` always applies one)."""
    if name == "out":
        default = "runs/PRESET"
    else:
        base = getattr(GRPOConfig(), name)
        values = {preset: _show(settings.get(name, base)) for preset, settings in PRESETS.items()}
        default = values["tiny"]
        others = [f"{preset}: {value}" for preset, value in values.items() if value != default]
        if others:
            default += f" ({'; '.join(others)})"
    kind = describe_field_type(name)
    return f"{doc + ' ' if doc else ''}[{kind}; default {default}]"


def _show(value: Any) -> str:
    """A default as a user would type it (stages by name: their full tables are long)."""
    if isinstance(value, list) and value and all(isinstance(item, Stage) for item in value):
        return "[" + ", ".join(stage.name for stage in value) + "]"
    if value is None:
        return "none"
    if isinstance(value, (bool, list, dict)):
        return json.dumps(value)
    return str(value)


def build_config(args: argparse.Namespace) -> GRPOConfig:
    """Preset, then the config file, then the flags given; the env id and its kwargs are checked too.

    This runs before torch is imported, so that a bad value is reported at once.
    """
    overrides: dict[str, Any] = load_config_file(args.config) if args.config else {}
    for name in field_names():
        text = getattr(args, f"field_{name}")
        if text is not None:
            overrides[name] = parse_flag_value(name, text)
    config = GRPOConfig.from_preset(args.preset).with_overrides(overrides)
    if config.out is None:
        config = config.with_overrides({"out": str(Path("runs") / args.preset)})
    check_env(config.env_id, config.env_kwargs)
    if (
        "max_steps_per_turn" in config.env_kwargs
    ):  # the agent passes the field to gym.make: a duplicate raises
        raise ValueError(
            "env_kwargs must not set max_steps_per_turn: use --max-steps-per-turn (the config field)"
        )
    return config


def _prepare_out(config: GRPOConfig, args: argparse.Namespace) -> None:
    """Refuse to mix runs, and create the run directory now so that an unwritable one fails before training."""
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out {str(out)!r} is a file, not a directory")
    if not args.resume and out.exists() and any(out.iterdir()):
        if not args.overwrite:
            raise ValueError(
                f"{str(out)!r} already holds a run: pass --resume to continue it or --overwrite to replace it"
            )
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create the run directory {str(out)!r}: {exc.strerror or exc}") from exc


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
    try:  # before the extras are imported (seconds): a bad config is reported at once
        config = build_config(args)
        if not _require_train_extra("train"):
            return 2
        _prepare_out(config, args)  # creates the run directory: only for a run that can start
    except ValueError as exc:
        print(f"envtune train: {exc}", file=sys.stderr)
        return 2
    from envtune_gym.agents.grpo import train
    from envtune_gym.agents.metrics import summarize

    try:
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
    print(f"outputs in {config.out}: {', '.join(_written_outputs(Path(config.out)))}")
    return 0


def _written_outputs(out: Path) -> list[str]:
    """The run's outputs that exist (TensorBoard logs only where tensorboard is installed)."""
    names = ["metrics.jsonl", "sft_metrics.jsonl", "curves.png", "checkpoints/", "tensorboard/"]
    return [name for name in names if (out / name.rstrip("/")).exists()]


def _sft(args: argparse.Namespace) -> int:
    try:  # before the extras are imported (seconds): a bad config is reported at once
        config = build_config(args)
        if config.sft_steps == 0:
            raise ValueError("sft_steps is 0: pass --sft-steps N")
        if not _require_train_extra("sft"):
            return 2
        _prepare_out(config, args)  # creates the run directory: only for a run that can start
    except ValueError as exc:
        print(f"envtune sft: {exc}", file=sys.stderr)
        return 2
    from envtune_gym.agents.policy import load_policy
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.agents.sft import warm_start

    try:
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
