"""Task synthesis speed per generator, quality gates included, against the 200 tasks/s target.

Each built-in generator makes ``--n`` tasks of seed 0 (the four categories in turn, default knobs) in one process;
every task is drawn, shaped, built and replayed through the executable, necessary, grounded and unambiguous
gates, redraws included. Prints tasks/s, the ratio to the target and the redraw statistics.

    python benchmarks/synth_throughput.py [--n 2000] [--generators filesystem trading]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from envtune_gym.synth import Synthesizer, generator_names  # noqa: E402

TARGET = 200.0  # tasks per second per domain, gates included


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--generators", nargs="*", default=None)
    args = parser.parse_args()
    names = args.generators or generator_names()
    worst = float("inf")
    for name in names:
        synth = Synthesizer(name, seed=0)
        synth.task(0)  # imports and first-use caches out of the timing
        start = time.perf_counter()
        for _ in synth.tasks(args.n, start=1):
            pass
        rate = args.n / (time.perf_counter() - start)
        worst = min(worst, rate)
        print(
            f"{name:>22}: {rate:7,.0f} tasks/s = {rate / TARGET:5.2f}x the {TARGET:.0f}/s target; {synth.stats.summary()}"
        )
    print(f"slowest generator: {worst / TARGET:.2f}x the target (>= 1x required)")


if __name__ == "__main__":
    main()
