"""``envtune synth``: write a synthesized task set as JSON lines.

Example:
    $ envtune synth filesystem --n 1000 --seed 0 --out fs.jsonl
    $ envtune synth trading --n 200 --category miss_param --max-turns 3 --out trading_miss_param.jsonl
    $ envtune train --env-kwargs '{"tasks": "fs.jsonl"}'        # train on the file
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from envtune_gym.cli_support import seed_type
from envtune_gym.synth.generate import Synthesizer
from envtune_gym.synth.generator import Knobs
from envtune_gym.tasks.files import write_task_file
from envtune_gym.tasks.model import CATEGORIES

#: The most tasks one command writes (a typo of a few zeros should not fill the disk).
MAX_TASKS = 10_000_000
_KNOB_FLAGS = {
    "min_turns": "fewest user turns",
    "max_turns": "most user turns (at most 6)",
    "max_calls_per_turn": "most ground-truth calls in one turn",
    "max_depth": "longest chain of calls that use an earlier result",
    "state_size": "entities in the initial state",
    "distractors": "near misses of the entities the turns refer to",
}


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``synth`` on the ``envtune`` parser."""
    synth = commands.add_parser(
        "synth", help="synthesize verified multi-turn tasks for a domain (JSON lines)", description=__doc__
    )
    synth.add_argument(
        "domain", metavar="DOMAIN",
        help="a generator: filesystem, trading, travel, messaging, or a multi-domain one (an unknown name lists "
        "them all)",
    )  # fmt: skip
    synth.add_argument("--n", type=_count, default=100, help="how many tasks (default: %(default)s)")
    synth.add_argument("--seed", type=seed_type, default=0, help="the set's seed (default: %(default)s)")
    synth.add_argument(
        "--start", type=seed_type, default=0, help="first task index, to shard a set (default: 0)"
    )
    synth.add_argument("--out", required=True, metavar="FILE", help="the .jsonl file to write")
    synth.add_argument(
        "--category", choices=CATEGORIES, help="only this category (default: the four in turn, i %% 4)"
    )
    defaults = Knobs()
    for knob, what in _KNOB_FLAGS.items():
        synth.add_argument(
            f"--{knob.replace('_', '-')}", type=int, default=getattr(defaults, knob), metavar="N",
            help=f"{what} (default: %(default)s)",
        )  # fmt: skip
    synth.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    synth.set_defaults(handler=_synth)


def _synth(args: argparse.Namespace) -> int:
    try:
        if not args.out.endswith(".jsonl"):
            raise ValueError(f"--out must name a .jsonl file, got {args.out!r}")
        knobs = Knobs.from_dict({knob: getattr(args, knob) for knob in _KNOB_FLAGS})
        synth = Synthesizer(args.domain, args.seed, category=args.category, knobs=knobs)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")  # renamed when complete: a failure leaves no half set
        started = time.perf_counter()
        written = write_task_file(partial, synth.tasks(args.n, args.start))
        partial.replace(out)
    except (ValueError, RuntimeError, OSError) as exc:
        print(f"envtune synth: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if not args.quiet:
        rate = written / max(time.perf_counter() - started, 1e-9)
        print(f"wrote {args.out}: {synth.stats.summary()}; {rate:,.0f} tasks/s", file=sys.stderr)
    return 0


def _count(text: str) -> int:
    value = seed_type(text)
    if not 1 <= value <= MAX_TASKS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_TASKS:,}, got {text}")
    return value
