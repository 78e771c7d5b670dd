"""The tiny preset's training on a quiet machine and beside a competing process, with and without spinning threads.

On a 2-core machine, OpenMP threads that spin while they wait steal the cores a competing process needs, and the
competitor steals theirs back: a short run can take many times longer under load. ``envtune`` starts torch with
``OMP_WAIT_POLICY=PASSIVE`` (threads sleep while they wait) unless the variable is already set. This script runs
the same short training four ways, each in a fresh process (the policy is read when OpenMP starts):
``{OpenMP's default, passive} x {quiet, loaded}``, the load being one busy process per core, and prints the wall times and
the ratios.

Example:
    $ python benchmarks/train_under_load.py --steps 8
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import time

TRAIN = """
import sys, torch
from envtune_gym.agents.config import GRPOConfig
from envtune_gym.agents.grpo import train
train(GRPOConfig.from_preset("tiny", total_steps=int(sys.argv[1]), sft_steps=10, progress=False, tensorboard=False))
"""


def _busy(stop_at: float) -> None:
    while time.time() < stop_at:
        sum(range(10_000))


def run(steps: int, policy: str, loaded: bool) -> float:
    """Seconds for one training run in a fresh process, with ``OMP_WAIT_POLICY=policy`` (``default``: unset)."""
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if policy != "default":
        env["OMP_WAIT_POLICY"] = policy
    workers = []
    if loaded:
        stop_at = time.time() + 3600
        workers = [multiprocessing.Process(target=_busy, args=(stop_at,)) for _ in range(os.cpu_count() or 2)]
        for worker in workers:
            worker.start()
    try:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", TRAIN, str(steps)], env=env, check=True, capture_output=True)
        return time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
            worker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="GRPO steps of the tiny preset per run")
    args = parser.parse_args()
    seconds = {
        (policy, loaded): run(args.steps, policy, loaded)
        for loaded in (False, True)
        for policy in ("default", "PASSIVE")
    }
    for (policy, loaded), value in seconds.items():
        print(f"{policy.lower():8s} {'loaded' if loaded else 'quiet':7s} {value:7.1f} s")
    print(
        f"train under load: passive threads {seconds['default', True] / seconds['PASSIVE', True]:.2f}x faster "
        f"loaded, {seconds['default', False] / seconds['PASSIVE', False]:.2f}x quiet (OpenMP's default, which spins a while, / passive); "
        f"load slows passive {seconds['PASSIVE', True] / seconds['PASSIVE', False]:.2f}x, default "
        f"{seconds['default', True] / seconds['default', False]:.2f}x"
    )


if __name__ == "__main__":
    main()
