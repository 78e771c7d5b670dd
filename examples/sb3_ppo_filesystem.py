"""Train Stable-Baselines3's PPO on a few short EnvTune/FileSystem-v0 tasks and compare it with a random policy.

The text env becomes an SB3 env with :func:`envtune_gym.integrations.sb3.make_sb3_env`: ``Discrete`` actions over
a catalogue of candidate calls, hashed text observations, the dense ``ProgressReward``. The tasks are the
bundled base tasks with at most ``--max-turns`` turns of one call each (three tasks by default), so that PPO
learns on a CPU in a minute or two.

    pip install "envtune-gym[sb3]"
    python examples/sb3_ppo_filesystem.py                      # the generic catalogue (a fair agent)
    python examples/sb3_ppo_filesystem.py --oracle-catalogue   # ground truth in the action set: an upper bound

It prints the success rate (BFCL's verdict) and mean return of PPO (greedy) and of two random policies: uniform
over the real catalogue entries, and uniform over all of ``Discrete(n)`` (padding included).
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.logger import Logger

import envtune_gym  # noqa: F401  (registers the ids)
from envtune_gym.integrations.sb3 import EvalResult, evaluate_success, make_sb3_env, random_policy
from envtune_gym.tasks import Task

ENV_ID = "EnvTune/FileSystem-v0"


def short_tasks(max_turns: int) -> list[Task]:
    """Bundled base tasks with at most ``max_turns`` turns, each with exactly one ground-truth call."""
    tasks = gym.make(ENV_ID, category="base").unwrapped.tasks
    return [
        task
        for task in tasks
        if task.num_turns <= max_turns and all(len(calls) == 1 for calls in task.ground_truth)
    ]


def make_env(args: argparse.Namespace, tasks: list[Task]) -> gym.Env:
    return make_sb3_env(
        ENV_ID,
        tasks=tasks,
        max_steps_per_turn=args.max_steps_per_turn,
        max_actions=args.max_actions,
        dim=args.dim,
        oracle_catalogue=args.oracle_catalogue,
    )


def report(name: str, result: EvalResult) -> None:
    print(
        f"{name:<22} success {result.success_rate:6.1%}  mean return {result.mean_return:.3f}  "
        f"mean length {result.mean_length:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=32_768, help="PPO timesteps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=60, help="evaluation episodes per policy")
    parser.add_argument("--max-turns", type=int, default=2, help="keep tasks with at most this many turns")
    parser.add_argument("--max-actions", type=int, default=32, help="n of Discrete(n)")
    parser.add_argument("--max-steps-per-turn", type=int, default=3, help="the env's step budget per turn")
    parser.add_argument("--dim", type=int, default=128, help="hash buckets per text block")
    parser.add_argument(
        "--oracle-catalogue",
        action="store_true",
        help="pin the ground-truth calls in the catalogue (leaks the answer: a diagnostic upper bound)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)  # a 64x64 MLP: more threads only add overhead

    tasks = short_tasks(args.max_turns)
    catalogue = "oracle catalogue (ground truth leaked)" if args.oracle_catalogue else "generic catalogue"
    print(
        f"{len(tasks)} tasks ({', '.join(task.id for task in tasks)}); {catalogue}, Discrete({args.max_actions})"
    )

    model = PPO(
        "MlpPolicy",
        make_env(args, tasks),
        seed=args.seed,
        n_steps=256,
        batch_size=64,
        n_epochs=10,
        learning_rate=1e-3,
        ent_coef=0.01,
        policy_kwargs={"net_arch": [64, 64]},
        device="cpu",
    )
    model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's default leaves an empty /tmp/SB3-* dir
    started = time.perf_counter()
    model.learn(args.steps)
    print(f"trained {args.steps} steps in {time.perf_counter() - started:.0f} s")

    def greedy(observation: np.ndarray, env: gym.Env) -> int:
        return int(model.predict(observation, deterministic=True)[0])

    seed = 10_000 + args.seed  # evaluation episodes draw their tasks with seeds apart from training's
    report("PPO (greedy)", evaluate_success(make_env(args, tasks), greedy, episodes=args.episodes, seed=seed))
    masked = random_policy(args.seed)
    report(
        "random (real entries)",
        evaluate_success(make_env(args, tasks), masked, episodes=args.episodes, seed=seed),
    )
    uniform = random_policy(args.seed, masked=False)
    report(
        "random (all indices)",
        evaluate_success(make_env(args, tasks), uniform, episodes=args.episodes, seed=seed),
    )


if __name__ == "__main__":
    main()
