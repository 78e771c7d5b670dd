"""The ``envtune`` command.

Example:
    $ envtune train                     # GRPO on the tiny default: a local model, a 2-core CPU, a few minutes
    $ envtune demo                      # one FileSystem episode played by the oracle, transcript printed
    $ envtune demo --task filesystem_miss_func_0 --style hermes
    $ envtune eval EnvTune/BFCL-v0 --policy oracle --split test   # BFCL's multi-turn accuracy of a policy
    $ envtune list                      # the envs: domains, tools and task counts (--json, --tools)
    $ envtune play EnvTune/FileSystem-v0 --task filesystem_base_0   # play an episode yourself, as the agent
    $ envtune verl-data EnvTune/BFCL-v0 --out data/bfcl --env-kwargs '{"split": "train"}'   # verl's inputs
    $ envtune synth filesystem --n 1000 --out fs.jsonl   # verified synthesized tasks, one JSON per line
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import envtune_gym
from envtune_gym.agents.command import add_commands as add_train_commands
from envtune_gym.catalog import catalog_json, env_catalog, format_catalog
from envtune_gym.cli_support import seed_type
from envtune_gym.envs.factory import make_env
from envtune_gym.eval.command import add_commands as add_eval_commands
from envtune_gym.integrations.verl.command import add_commands as add_verl_commands
from envtune_gym.play import play
from envtune_gym.serve.command import add_serve_commands
from envtune_gym.synth.command import add_commands as add_synth_commands
from envtune_gym.tasks.oracle import oracle_actions


def _demo(args: argparse.Namespace) -> int:
    options = {"task_id": args.task} if args.task else None
    try:
        # An unknown id or a non-EnvTune env (which has no task to show) is a one-line ValueError.
        env = make_env(args.env)
        _, info = env.reset(seed=args.seed, options=options)
    except ValueError as exc:
        print(f"envtune demo: {exc}", file=sys.stderr)
        return 2
    episode = env.unwrapped
    task = episode.task
    print(
        f"== {args.env}  task {task.id}: {task.category}, {task.num_turns} turns, domains {', '.join(task.domains)}"
    )
    print(f"== tools: {', '.join(tool['function']['name'] for tool in info['tools'])}")
    shown = 0
    reward = 0.0
    for action in oracle_actions(task, style=args.style):
        _, reward, terminated, truncated, info = env.step(action)
        entries = episode.transcript
        if "turn_result" in info:  # the verdict belongs before the next user message
            next_message = entries[-1:] if not (terminated or truncated) else []
            shown = _print_new_entries(entries[: len(entries) - len(next_message)], shown)
            print(f"   -- turn {info['turn_result']['turn']}: {_verdict(info['turn_result'])}")
        shown = _print_new_entries(entries, shown)
        if terminated or truncated:
            break
    print(f"== reward {reward}, success {info.get('success')}")
    return 0 if info.get("success") else 1


def _print_new_entries(transcript: list[tuple[str, str]], shown: int) -> int:
    for role, text in transcript[shown:]:
        print(f"\n[{role}] {text}")
    return len(transcript)


def _verdict(turn_result: dict) -> str:
    if not turn_result["checked"]:
        return "not checked (empty ground truth)"
    return "passed" if turn_result["passed"] else f"FAILED ({turn_result['error_type']})"


def _list(args: argparse.Namespace) -> int:
    entries = env_catalog(include_bfcl=not args.no_bfcl)
    render = catalog_json if args.json else format_catalog
    print(render(entries, with_tools=args.tools))
    return 0


def _play(args: argparse.Namespace) -> int:
    return play(
        args.env_id,
        task_id=args.task,
        seed=args.seed,
        hints=args.hints,
        max_steps_per_turn=args.max_steps_per_turn,
    )


def _add_list_command(commands: argparse._SubParsersAction) -> None:
    listing = commands.add_parser("list", help="list the envs: domains, tools, bundled and BFCL task counts")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--tools", action="store_true", help="also list each env's tool names")
    listing.add_argument(
        "--no-bfcl", action="store_true", help="skip BFCL's task counts (do not read bfcl-eval's data)"
    )
    listing.set_defaults(handler=_list)


def _add_play_command(commands: argparse._SubParsersAction) -> None:
    player = commands.add_parser("play", help="play an episode yourself, as the agent, in the terminal")
    player.add_argument(
        "env_id", metavar="ENV_ID", help="env id, e.g. EnvTune/FileSystem-v0 (see envtune list)"
    )
    player.add_argument("--task", help="task id (default: drawn with --seed)")
    player.add_argument("--seed", type=seed_type, help="seed for the task draw (default: a random task)")
    player.add_argument("--hints", action="store_true", help="add HintAugmentation's hints to failed steps")
    player.add_argument(
        "--max-steps-per-turn", type=int, metavar="N", help="steps allowed per turn (default: the env's, 20)"
    )
    player.set_defaults(handler=_play)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr (exit status 2), as every envtune error."""

    def error(self, message: str) -> NoReturn:
        """Print ``PROG: error: MESSAGE (see PROG --help)`` and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``envtune``; its subcommands' parsers share its one-line errors."""
    parser = _Parser(prog="envtune", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"envtune-gym {envtune_gym.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="play one episode with the oracle policy and print the transcript"
    )
    demo.add_argument("--env", default="EnvTune/FileSystem-v0", help="env id (default: %(default)s)")
    demo.add_argument("--task", help="task id (default: drawn with --seed)")
    demo.add_argument(
        "--seed", type=seed_type, default=0, help="seed for the task draw (default: %(default)s)"
    )
    demo.add_argument(
        "--style",
        choices=["python", "hermes", "json"],
        default="python",
        help="action format (default: %(default)s)",
    )
    demo.set_defaults(handler=_demo)
    _add_list_command(commands)
    _add_play_command(commands)
    add_train_commands(commands)
    add_eval_commands(commands)
    add_verl_commands(commands)
    add_synth_commands(commands)
    add_serve_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``envtune`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except BrokenPipeError:  # the reader went away (`envtune list | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
