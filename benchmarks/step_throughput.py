"""Tool-call throughput of ``env.step`` on a ground-truth replay, against BFCL's reference executor.

Both sides replay the ground truth of BFCL's file-system-only multi-turn tasks (all four categories, long context
included), in one process, one after the other, best of ``--repeat`` runs:

* envtune: ``reset`` then, per turn, one ``step`` with the turn's calls as action text (parse, bind, validate,
  execute, serialise the results, build the observation and ``info``) and one reply step that ends the turn (it
  runs the turn's ground truth on the shadow copy and checks state and results). The call steps are timed on
  their own (the figure the target is about), and the whole replay, checks and resets included, separately.
* BFCL: ``execute_multi_turn_func_call`` per turn on fresh instances (its eval path, no checking at all).

The ratio is envtune calls/s over BFCL calls/s, for actions in BFCL's python-call syntax (``ast``) and in Hermes
``<tool_call>`` JSON (what Qwen-style models emit). Target: at least 2x.

    python benchmarks/step_throughput.py [--repeat 5]

Needs ``pip install --no-deps bfcl-eval==2026.3.23`` and ``mpmath``.
"""

from __future__ import annotations

import argparse
import itertools
import time

import envtune_gym
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.tasks.bfcl import load_bfcl_tasks

_run_ids = itertools.count()


def replay_envtune(env: envtune_gym.ToolUseEnv, tasks, style: str) -> tuple[int, int, float]:
    """Replay every task's oracle trajectory; returns (calls, steps, seconds spent in steps with calls)."""
    calls = steps = 0
    call_seconds = 0.0
    for task in tasks:
        env.reset(options={"task": task})
        for action in oracle_actions(task, style=style):
            start = time.perf_counter()
            _, _, terminated, _, info = env.step(action)
            if info["calls"]:
                call_seconds += time.perf_counter() - start
                calls += len(info["calls"])
            steps += 1
        if not (terminated and info.get("success")):
            raise AssertionError(f"ground truth of {task.id} did not succeed: {info.get('turn_result')}")
    return calls, steps, call_seconds


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    tasks = load_bfcl_tasks(domains={"GorillaFileSystem"})
    env = envtune_gym.ToolUseEnv(tasks)
    styles = ("python", "hermes")
    for style in styles:
        replay_envtune(env, tasks, style)  # warm the per-task caches (parsed ground truth, schemas)
    # Interleave the runs, so a machine that speeds up or slows down mid-run affects both sides alike.
    bfcl_best = float("inf")
    best = {style: {"call_seconds": float("inf"), "whole": float("inf")} for style in styles}
    bfcl_calls = calls = steps = 0
    for _ in range(args.repeat):
        bfcl_calls, seconds = _timed(lambda: replay_bfcl(tasks))
        bfcl_best = min(bfcl_best, seconds)
        for style in styles:
            (calls, steps, call_seconds), whole = _timed(
                lambda style=style: replay_envtune(env, tasks, style)
            )
            best[style]["call_seconds"] = min(best[style]["call_seconds"], call_seconds)
            best[style]["whole"] = min(best[style]["whole"], whole)
    if calls != bfcl_calls:
        raise AssertionError(f"call counts differ: envtune {calls}, BFCL {bfcl_calls}")
    bfcl_rate = bfcl_calls / bfcl_best
    print(f"{len(tasks)} BFCL file-system tasks (4 categories), {bfcl_calls} ground-truth calls per replay")
    print(f"BFCL execute_multi_turn_func_call (eval path, unchecked): {bfcl_rate:9,.0f} calls/s")
    for style in styles:
        rate = calls / best[style]["call_seconds"]
        whole = best[style]["whole"]
        print(
            f"envtune env.step, {style:6} actions: {rate:9,.0f} calls/s in call steps "
            f"-> ratio {rate / bfcl_rate:.2f}x (target >= 2x); whole checked replay {calls / whole:,.0f} calls/s, "
            f"{steps / whole:,.0f} steps/s"
        )


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


if __name__ == "__main__":
    main()
