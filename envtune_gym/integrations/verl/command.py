"""``envtune verl-data``: write the parquet rows and the agent-loop config a verl run needs.

Example:
    $ envtune verl-data EnvTune/BFCL-v0 --out data/bfcl --env-kwargs '{"split": "train"}' \\
        --val-env-kwargs '{"split": "test"}' --max-new-tokens 1024
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from envtune_gym.envs.factory import check_env
from envtune_gym.integrations.verl.data import (
    DEFAULT_WRAPPERS,
    export_parquet,
    json_mapping,
    resolve_wrappers,
    write_agent_loop_config,
)


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``verl-data`` on the ``envtune`` parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="envtune")
        >>> add_commands(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["verl-data", "EnvTune/Trading-v0", "--out", "data"])
        >>> args.out, args.tool_docs, args.wrapper
        ('data', 'full', None)
    """
    parser = commands.add_parser(
        "verl-data",
        help="write verl's task rows (parquet) and agent-loop config (YAML) for an env",
        description="Write OUT/train.parquet (one row per task), optionally OUT/val.parquet, and "
        "OUT/agent_loop.yaml for actor_rollout_ref.rollout.agent.agent_loop_config_path. See "
        "docs/integrations/verl.md.",
    )
    parser.add_argument("env_id", metavar="ENV_ID", help="e.g. EnvTune/BFCL-v0 or EnvTune/FileSystem-v0")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--env-kwargs", default="{}", help="JSON gym.make kwargs of the training rows")
    parser.add_argument(
        "--val-env-kwargs", help="JSON gym.make kwargs of validation rows (omit: no val.parquet)"
    )
    parser.add_argument(
        "--task", action="append", dest="tasks", metavar="TASK_ID", help="only this task (repeat)"
    )
    parser.add_argument("--max-turns", type=int, help="only tasks with at most this many user turns")
    parser.add_argument("--system-prompt", help="a system message for every episode")
    loop = parser.add_argument_group("agent loop (agent_loop.yaml)")
    loop.add_argument("--wrapper", action="append", metavar="NAME",
                      help=f"an env wrapper, in order (repeat; default: {', '.join(DEFAULT_WRAPPERS)})")  # fmt: skip
    loop.add_argument(
        "--tool-docs", choices=["full", "compact"], default="full", help="tool schemas in prompts"
    )
    loop.add_argument(
        "--max-new-tokens", type=int, help="cap of one model message (default: the response budget)"
    )
    parser.set_defaults(handler=run_verl_data)


def run_verl_data(args: argparse.Namespace) -> int:
    """Write the files; exit status 2 with the reason on bad input."""
    try:
        written = _write(args)
    except (ValueError, ImportError) as exc:
        print(f"envtune verl-data: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def _write(args: argparse.Namespace) -> list[Path]:
    out = Path(args.out)
    wrappers = args.wrapper or DEFAULT_WRAPPERS
    resolve_wrappers(wrappers)  # before writing anything
    train_kwargs = json_mapping(args.env_kwargs, "--env-kwargs")
    check_env(args.env_id, train_kwargs)  # a bad name: one line, before any file is written
    val_kwargs = None
    if args.val_env_kwargs is not None:
        val_kwargs = json_mapping(args.val_env_kwargs, "--val-env-kwargs")
        check_env(args.env_id, val_kwargs)
    rows: dict[str, Any] = {
        "task_ids": args.tasks,
        "max_turns": args.max_turns,
        "system_prompt": args.system_prompt,
    }
    written = [export_parquet(out / "train.parquet", args.env_id, env_kwargs=train_kwargs, **rows)]
    if val_kwargs is not None:
        written.append(export_parquet(out / "val.parquet", args.env_id, env_kwargs=val_kwargs, **rows))
    written.append(
        write_agent_loop_config(
            out / "agent_loop.yaml",
            wrappers=wrappers,
            tool_docs=args.tool_docs,
            max_new_tokens=args.max_new_tokens,
        )  # fmt: skip
    )
    return written
