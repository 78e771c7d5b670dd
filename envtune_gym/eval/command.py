"""``envtune eval``: score a policy on an env id and print the Markdown summary.

Example:
    $ envtune eval EnvTune/BFCL-v0 --policy oracle --workers 4                     # 100.00 everywhere
    $ envtune eval EnvTune/BFCL-v0 --policy random --samples 2 --split test --out runs/eval_random
    $ envtune eval EnvTune/BFCL-v0 --policy oracle --per-turn --category base      # per-turn accuracy too
    $ envtune eval EnvTune/FileSystem-v0 --policy hf --model runs/tiny/checkpoints/step_000060/policy
    $ envtune eval EnvTune/BFCL-v0 --split test --policy openai --base-url http://127.0.0.1:8000/v1 \\
          --model Qwen/Qwen3-4B-Instruct-2507 --workers 16 --out runs/eval_q4b
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
from collections.abc import Callable

from envtune_gym.envs.factory import check_env, resolve_env_kwargs
from envtune_gym.eval import report, runner
from envtune_gym.eval.endpoint import EndpointUnreachable, OpenAIPolicy
from envtune_gym.eval.policies import OraclePolicy, Policy, RandomPolicy, TransformersPolicy
from envtune_gym.tasks import CATEGORIES

POLICIES = ("oracle", "random", "hf", "openai")


class UsageError(ValueError):
    """Bad command-line input (reported in one line, exit status 2)."""


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``eval`` on the ``envtune`` parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="envtune")
        >>> add_commands(parser.add_subparsers(dest="command"))
        >>> args = parser.parse_args(["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--limit", "2"])
        >>> args.samples, args.workers, args.limit
        (1, 4, 2)
    """
    parser = commands.add_parser(
        "eval",
        help="score a policy on an env the way BFCL does (accuracy, pass@k, pass^k)",
        description="Score a policy on an env id: BFCL's multi-turn accuracy per category, pass@k and pass^k "
        "over --samples episodes per task, and with --per-turn each checked turn scored alone from its "
        "ground-truth start. See docs/eval.md.",
    )
    parser.add_argument("env_id", metavar="ENV_ID", help="e.g. EnvTune/BFCL-v0 or EnvTune/FileSystem-v0")
    parser.add_argument("--policy", required=True, choices=POLICIES, help="who plays")
    policy = parser.add_argument_group("policy (hf and openai)")
    policy.add_argument(
        "--model", help="hf: 'tiny', a hub id, a model or checkpoint dir; openai: the model name"
    )
    policy.add_argument(
        "--base-url", help="openai: API root, e.g. http://127.0.0.1:8000/v1 (default: $OPENAI_BASE_URL)"
    )
    policy.add_argument(
        "--api-key-env", help="openai: the environment variable holding the key (default: OPENAI_API_KEY)"
    )
    policy.add_argument(
        "--temperature", type=float,
        help="0 is greedy (default: 0 with --samples 1, else 1: greedy samples of a task would all be the same)",
    )  # fmt: skip
    policy.add_argument(
        "--max-new-tokens", type=int, help="tokens per message (hf default: 512; openai: server's)"
    )
    policy.add_argument(
        "--timeout", type=float, default=60.0, help="openai: seconds per request (default: %(default)s)"
    )
    policy.add_argument("--max-retries", type=int, default=3, help="openai: retries (default: %(default)s)")
    policy.add_argument("--device", default="auto", help="hf: auto, cpu, cuda... (default: %(default)s)")
    policy.add_argument(
        "--batch-size", type=int,
        help="hf: messages of different episodes generated together (default: --workers when greedy, else 1)",
    )  # fmt: skip
    policy.add_argument(
        "--system-prompt", help="hf and openai: a system message before the first user message"
    )
    policy.add_argument(
        "--seed", type=int, default=0, help="random policy and sampling seed (default: %(default)s)"
    )
    tasks = parser.add_argument_group("tasks")
    tasks.add_argument(
        "--split", choices=("train", "test"), help="the Environment Tuning split of BFCL's tasks"
    )
    tasks.add_argument(
        "--task-source",
        choices=("bundled", "bfcl", "synth"),
        help="domain envs: bundled tasks, BFCL's, or synthesized ones (docs/synth.md)",
    )
    tasks.add_argument(
        "--tasks", metavar="SET_OR_FILE", help="a task set name, or a task file (.jsonl/.json)"
    )
    tasks.add_argument(
        "--num-tasks", type=int, metavar="N", help="--task-source synth: how many (default 200)"
    )
    tasks.add_argument(
        "--synth-seed", type=int, metavar="S", help="--task-source synth: the set's seed (default 0)"
    )
    tasks.add_argument(
        "--category", nargs="+", action="extend", choices=CATEGORIES, help="keep these categories"
    )
    tasks.add_argument(
        "--task", nargs="+", action="extend", dest="task_ids", metavar="ID", help="only these task ids"
    )
    tasks.add_argument("--limit", type=int, help="only the first N tasks")
    run = parser.add_argument_group("run")
    run.add_argument(
        "--samples", type=int, default=1, help="episodes per task, the n of pass@k (default: %(default)s)"
    )
    run.add_argument(
        "--workers", type=int, default=4, help="threads, each with its env and policy (default: %(default)s)"
    )
    run.add_argument("--max-steps-per-turn", type=int, default=20, help="(default: %(default)s, as BFCL)")
    run.add_argument(
        "--per-turn", action="store_true",
        help="also play every checked turn of every task alone, from the ground-truth state after the turns "
        "before it (shown as history): per-turn accuracy by category and turn index",
    )  # fmt: skip
    run.add_argument("--out", help="write trajectories.jsonl, summary.json, summary.md and accuracy.png here")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run_eval)


def run_eval(args: argparse.Namespace) -> int:
    """The ``eval`` handler: 0 after printing the summary, 2 with one line on bad input or no server."""
    try:
        _check_counts(args)
        _choose_temperature(args)
        _check_local_model(args)
        env_kwargs = {
            key: value
            for key, value in (
                ("category", args.category),
                ("task_source", args.task_source),
                ("tasks", args.tasks),
                ("num_tasks", args.num_tasks),
                ("synth_seed", args.synth_seed),
            )
            if value is not None
        }
        # A bad id or --split is refused before the policy loads a model or asks a server (seconds to minutes).
        check_env(args.env_id, env_kwargs)
        resolve_env_kwargs(args.env_id, env_kwargs, args.split, args.max_steps_per_turn)
        factory = policy_factory(args)
        result = runner.evaluate(
            args.env_id, factory, env_kwargs=env_kwargs, task_ids=args.task_ids, split=args.split,
            limit=args.limit, samples=args.samples, workers=args.workers,
            max_steps_per_turn=args.max_steps_per_turn, progress=not args.no_progress, out_dir=args.out,
            per_turn=args.per_turn,
        )  # fmt: skip
    # Bad input, missing data or extras, --out, or no server at --base-url.
    except (ValueError, OSError, ImportError, EndpointUnreachable) as exc:
        print(f"envtune eval: {_one_line(exc)}", file=sys.stderr)
        return 2
    print(report.markdown_report(result), end="")
    if args.out:
        extra = f", {report.PER_TURN_FILE}" if args.per_turn else ""
        print(f"\noutputs in {args.out}: trajectories.jsonl{extra}, summary.json, summary.md, accuracy.png")
    return 0


def policy_factory(args: argparse.Namespace) -> Callable[[], Policy]:
    """A factory of the policy the arguments name (the hf model is loaded once and shared by the workers)."""
    if args.policy == "oracle":
        return OraclePolicy
    if args.policy == "random":
        return lambda: RandomPolicy(seed=args.seed)
    if not args.model:
        raise UsageError(f"--policy {args.policy} needs --model")
    if args.policy == "hf":
        missing = [name for name in ("torch", "transformers") if importlib.util.find_spec(name) is None]
        if missing:
            raise UsageError(f"--policy hf needs {' and '.join(missing)}: pip install 'envtune-gym[train]'")
        batch_size = args.batch_size or (args.workers if args.temperature == 0 else 1)
        if batch_size > 1 and args.temperature > 0:
            raise UsageError("--batch-size > 1 needs --temperature 0: sampled episodes are generated one at a "
                             "time so that each depends on its seed alone")  # fmt: skip
        loaded = TransformersPolicy(
            args.model, device=args.device, temperature=args.temperature, max_new_tokens=args.max_new_tokens or 512,
            system_prompt=args.system_prompt, seed=args.seed, batch_size=batch_size,
        )  # fmt: skip
        spare = [loaded]
        return lambda: spare.pop() if spare else loaded.clone()
    base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
    if not base_url:
        raise UsageError(
            "--policy openai needs --base-url (e.g. http://127.0.0.1:8000/v1 for a local vLLM server)"
        )
    api_key = None
    if args.api_key_env:
        api_key = os.environ.get(args.api_key_env)
        if not api_key:
            raise UsageError(f"--api-key-env {args.api_key_env}: that environment variable is not set")
    # Check the inputs, and that a server answers, before the episodes: without one, each would spend its
    # retries on connection errors, for minutes, only to record them.
    OpenAIPolicy(base_url, args.model, timeout=args.timeout, max_retries=args.max_retries).check_endpoint()
    return lambda: OpenAIPolicy(
        base_url, args.model, api_key=api_key, timeout=args.timeout, max_retries=args.max_retries,
        temperature=args.temperature, max_tokens=args.max_new_tokens, system_prompt=args.system_prompt,
    )  # fmt: skip


def _check_counts(args: argparse.Namespace) -> None:
    for flag in ("samples", "workers", "limit", "max_new_tokens", "max_steps_per_turn", "batch_size"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    if args.max_retries < 0:
        raise UsageError(f"expected --max-retries >= 0, got {args.max_retries}")
    if not (math.isfinite(args.timeout) and args.timeout > 0):  # inf would overflow the socket's timeout
        raise UsageError(f"expected --timeout > 0 (a finite number of seconds), got {args.timeout}")
    if args.temperature is not None and not (math.isfinite(args.temperature) and args.temperature >= 0):
        raise UsageError(f"expected --temperature >= 0 (finite; 0 is greedy), got {args.temperature}")
    if args.out is not None and not args.out.strip():  # Path("") is the current directory
        raise UsageError("--out '' names no folder: give a path, e.g. --out runs/eval")


def _check_local_model(args: argparse.Namespace) -> None:
    """Report a missing local ``--model`` folder as such (transformers calls it a malformed repo id)."""
    model = args.model
    if args.policy != "hf" or not model or model == "tiny" or os.path.exists(os.path.expanduser(model)):
        return
    # A hub id is "name" or "org/name": a path-like or deeper name can only be meant as a folder here.
    if model.startswith(("/", "./", "../", "~")) or model.count("/") > 1 or "\\" in model:
        raise UsageError(
            f"--model {model!r}: no such directory (give a model or checkpoint folder, or a hub id)"
        )


def _choose_temperature(args: argparse.Namespace) -> None:
    """Sample (temperature 1) when ``--samples`` > 1 and no ``--temperature`` is given, else decode greedily.

    Greedy samples of a task repeat one episode, so pass@k would equal accuracy at k times the cost. An explicit
    ``--temperature 0`` is honoured, with a warning for ``hf``, whose greedy samples are identical.
    """
    several = args.samples > 1
    if args.temperature is None:
        if several and args.policy == "hf" and (args.batch_size or 1) > 1:
            raise UsageError("--samples > 1 samples at temperature 1, one message at a time: drop --batch-size, "
                             "or pass --temperature 0 to decode greedily (identical samples)")  # fmt: skip
        args.temperature = 1.0 if several else 0.0
    elif args.temperature == 0 and several and args.policy == "hf":
        print(f"envtune eval: warning: --temperature 0 makes the {args.samples} samples of a task identical, "
              "so pass@k equals accuracy", file=sys.stderr)  # fmt: skip


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
