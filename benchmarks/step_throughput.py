"""Tool-call throughput of ``env.step`` on a ground-truth replay, against BFCL's reference executor.

Both sides replay the ground truth of BFCL's file-system-only multi-turn tasks (all four categories, long context
included), in one process, one after the other, best of ``--repeat`` runs:

* envtune: ``reset`` then, per turn, one ``step`` with the turn's calls as BFCL python-call text (parse, bind,
  jsonschema validation, execution, result serialisation, observation and info) and one reply step that ends the
  turn (which also runs the turn's ground truth on the shadow copy and checks state and results);
* BFCL: ``execute_multi_turn_func_call`` per turn on fresh instances (its eval path, no checking at all).

The printed ratio is envtune calls/s divided by BFCL calls/s; the target is at least 2x.

    python benchmarks/step_throughput.py [--repeat 5]

Needs ``pip install --no-deps bfcl-eval==2026.3.23`` and ``mpmath``.
"""

from __future__ import annotations

import argparse
import itertools
import time

import envtune_gym
from envtune_gym.tasks.bfcl import load_bfcl_tasks

_run_ids = itertools.count()


def replay_envtune(env: envtune_gym.ToolUseEnv, tasks) -> tuple[int, int]:
    calls = steps = 0
    for task in tasks:
        env.reset(options={"task": task})
        for turn_calls in task.ground_truth:
            if turn_calls:
                _, _, _, _, info = env.step("[" + ", ".join(turn_calls) + "]")
                calls += len(info["calls"])
                steps += 1
            _, _, terminated, _, info = env.step("Done.")
            steps += 1
        if not (terminated and info["success"]):
            raise AssertionError(f"ground truth of {task.id} did not succeed: {info['turn_result']}")
    return calls, steps


def replay_bfcl(tasks) -> int:
    from bfcl_eval.eval_checker.multi_turn_eval.multi_turn_utils import execute_multi_turn_func_call

    run = next(_run_ids)  # BFCL keeps instances in module globals keyed by name: a fresh name per run
    calls = 0
    for task in tasks:
        for turn_calls in task.ground_truth:
            results, _ = execute_multi_turn_func_call(
                turn_calls, task.initial_config, task.domains, f"bench{run}", task.id,
                long_context=task.uses_long_context,
            )  # fmt: skip
            calls += len(results)
    return calls


def best_rate(fn, repeat: int) -> tuple[float, int]:
    best = float("inf")
    count = 0
    for _ in range(repeat):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return count / best, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tasks = load_bfcl_tasks(domains={"GorillaFileSystem"})
    env = envtune_gym.ToolUseEnv(tasks)
    replay_envtune(env, tasks)  # warm caches (schemas, parsed ground truth) as a long training run would

    ours_rate, ours_calls = best_rate(lambda: replay_envtune(env, tasks)[0], args.repeat)
    _, steps = replay_envtune(env, tasks)
    bfcl_rate, bfcl_calls = best_rate(lambda: replay_bfcl(tasks), args.repeat)
    if ours_calls != bfcl_calls:
        raise AssertionError(f"call counts differ: envtune {ours_calls}, BFCL {bfcl_calls}")

    print(f"tasks: {len(tasks)} BFCL file-system tasks, {ours_calls} ground-truth calls, {steps} env steps per replay")
    print(f"envtune env.step (checked): {ours_rate:10,.0f} calls/s  ({ours_rate * steps / ours_calls:,.0f} steps/s)")
    print(f"BFCL executor (eval path):  {bfcl_rate:10,.0f} calls/s")
    print(f"ratio envtune / BFCL: {ours_rate / bfcl_rate:.2f}x (target >= 2x)")


if __name__ == "__main__":
    main()
