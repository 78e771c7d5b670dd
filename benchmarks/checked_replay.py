"""Checked ground-truth replay of BFCL's multi-turn tasks in tasks/s, against BFCL's ``multi_turn_checker``.

Both sides check every turn of every task with the ground truth as the model, in one process, best of
``--repeat`` runs:

* envtune: ``reset``, then per turn one step with the turn's calls and one reply step that ends the turn (the shadow
  copy runs the ground truth, state and results are compared);
* BFCL: ``multi_turn_checker(ground truth as the decoded model output, ground truth, entry, ...)``, which executes
  the model side and the ground-truth side through its eval path and compares them.

It also reports the resident memory of one env holding a long_context task and of 64 such envs.

    python benchmarks/checked_replay.py [--repeat 3] [--domains GorillaFileSystem ...]

Needs ``pip install --no-deps bfcl-eval==2026.3.23`` and ``mpmath``. Target: at least 5x.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import resource
import time

import envtune_gym
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.domains import DOMAINS
from envtune_gym.tasks.bfcl import load_bfcl_tasks

_model_names = itertools.count()


def replay_envtune(env: envtune_gym.ToolUseEnv, tasks, actions: dict[str, list[str]]) -> None:
    for task in tasks:
        env.reset(options={"task_id": task.id})
        for action in actions[task.id]:
            _, _, terminated, _, info = env.step(action)
        if not (terminated and info.get("success")):
            raise AssertionError(f"ground truth of {task.id} did not succeed: {info.get('turn_result')}")


def replay_bfcl(tasks) -> None:
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_checker import multi_turn_checker

    model = (
        f"bench{next(_model_names)}"  # BFCL caches instances in module globals by name: fresh ones per run
    )
    for task in tasks:
        entry = {"id": task.id, "initial_config": task.initial_config, "involved_classes": task.domains}
        decoded = [[calls] if calls else [] for calls in task.ground_truth]
        if not multi_turn_checker(decoded, task.ground_truth, entry, task.category, model)["valid"]:
            raise AssertionError(f"BFCL rejected the ground truth of {task.id}")


def best_seconds(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def resident_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / 2**20


def env_memory(tasks) -> tuple[float, float]:
    """Resident MB added by one env, and by 64 envs, each in the middle of a long_context task."""
    task = max((t for t in tasks if t.category == "long_context"), key=lambda t: len(str(t.initial_config)))
    results = []
    for count in (1, 64):
        gc.collect()
        before = resident_mb()
        envs = [envtune_gym.ToolUseEnv([task]) for _ in range(count)]
        for env in envs:
            env.reset()
            env.step(next(oracle_actions(task)))
        gc.collect()
        results.append(resident_mb() - before)
        del envs
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--domains", nargs="*", help="keep tasks involving only these classes (default: all ours)"
    )
    args = parser.parse_args()

    allowed = set(args.domains or DOMAINS)
    tasks = tuple(task for task in load_bfcl_tasks() if set(task.domains) <= allowed)
    env = envtune_gym.ToolUseEnv(tasks)
    actions = {task.id: list(oracle_actions(task)) for task in tasks}  # the model's text, made in advance
    replay_envtune(env, tasks, actions)  # warm the per-task caches, as a training run would
    ours = theirs = float("inf")
    for _ in range(args.repeat):  # interleaved, so machine speed drifts affect both sides alike
        ours = min(ours, best_seconds(lambda: replay_envtune(env, tasks, actions), 1))
        theirs = min(theirs, best_seconds(lambda: replay_bfcl(tasks), 1))
    print(f"{len(tasks)} BFCL tasks (all four categories) whose classes are in {sorted(allowed)}")
    print(f"envtune checked replay:        {len(tasks) / ours:8,.0f} tasks/s")
    print(f"BFCL multi_turn_checker (GT):  {len(tasks) / theirs:8,.0f} tasks/s")
    print(f"ratio envtune / BFCL: {theirs / ours:.2f}x (target >= 5x)")
    one, many = env_memory(tasks)
    print(f"resident memory of envs holding a long_context task: 1 env {one:.1f} MB, 64 envs {many:.1f} MB")


if __name__ == "__main__":
    main()
