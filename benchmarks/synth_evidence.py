"""Does training on synthesized tasks help? The tiny agent trained on synthesized tasks vs on the bundled tasks.

Two runs of the ``tiny`` preset with the same budget (steps, groups, warm start), differing only in their tasks:

* ``bundled``: FileSystem's bundled tasks (the preset's default);
* ``synth``: ``num_tasks`` FileSystem tasks synthesized with seed 1.

Each policy, and the untrained starting model, is then scored with greedy decoding on two test sets, both cut by
the preset's stage filter (base tasks of at most two calls, what the tiny model is trained for):

* held-out synthesized tasks of seed 2 (no task shared with seed 1's set);
* the bundled FileSystem tasks.

Prints success (BFCL's episode verdict) and turn accuracy (checked turns passed) per policy and test set, as a
Markdown table. Takes ~10-20 minutes on a 2-core CPU.

    python benchmarks/synth_evidence.py [--steps 60] [--num-tasks 400] [--test-tasks 1000] [--knobs JSON]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import gymnasium as gym  # noqa: E402

import envtune_gym  # noqa: E402, F401
from envtune_gym.agents.config import GRPOConfig  # noqa: E402
from envtune_gym.agents.grpo import train  # noqa: E402
from envtune_gym.agents.metrics import summarize  # noqa: E402
from envtune_gym.eval.policies import TransformersPolicy  # noqa: E402
from envtune_gym.eval.runner import evaluate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--num-tasks", type=int, default=400, help="synthesized training tasks")
    parser.add_argument(
        "--test-tasks", type=int, default=1000, help="synthesized test tasks (before the filter)"
    )
    parser.add_argument("--out", default="runs/synth_evidence")
    parser.add_argument("--knobs", default="{}", help="JSON synth knobs of the training and held-out sets")
    parser.add_argument(
        "--max-new-tokens", type=int, default=32, help="per model message, in training and eval"
    )
    parser.add_argument("--sft-steps", type=int, default=35, help="warm-start steps on oracle demonstrations")
    args = parser.parse_args()
    out = Path(args.out)
    knobs = json.loads(args.knobs)
    synth = {"task_source": "synth", "num_tasks": args.num_tasks, "synth_knobs": knobs}
    train_sets = {"bundled": {}, "synth": {**synth, "synth_seed": 1}}
    held_out = {"task_source": "synth", "num_tasks": args.test_tasks, "synth_seed": 2, "synth_knobs": knobs}
    test_sets = {"synth seed 2 (held out)": held_out, "bundled": {}}
    stage = GRPOConfig.from_preset("tiny").stages[0]
    policies = {"untrained": "tiny"}
    rewards = {}
    for name, env_kwargs in train_sets.items():
        config = GRPOConfig.from_preset(
            "tiny", out=str(out / name), env_kwargs=env_kwargs, total_steps=args.steps, progress=False,
            tensorboard=False, max_new_tokens=args.max_new_tokens, sft_steps=args.sft_steps,
        )  # fmt: skip
        shutil.rmtree(out / name, ignore_errors=True)
        result = train(config)
        rewards[name] = summarize(result.rows, "reward_mean")
        policies[f"trained on {name}"] = str(out / name / "checkpoints" / f"step_{args.steps:06d}" / "policy")
    rows = []
    for policy_name, model in policies.items():
        for test_name, env_kwargs in test_sets.items():
            env = gym.make("EnvTune/FileSystem-v0", **env_kwargs)
            task_ids = [task.id for task in env.unwrapped.tasks if stage.matches(task)]
            result = evaluate(
                "EnvTune/FileSystem-v0", lambda model=model: TransformersPolicy(model, max_new_tokens=args.max_new_tokens),
                env_kwargs=env_kwargs, task_ids=task_ids, workers=1, max_steps_per_turn=2, progress=False,
            )  # fmt: skip
            checked = sum(episode.turns_checked for episode in result.episodes)
            passed = sum(episode.turns_passed for episode in result.episodes)
            rows.append(
                (policy_name, test_name, len(task_ids), result.scores.overall.accuracy, passed / checked)
            )
    print("| policy | test set | tasks | success | turn accuracy |\n| --- | --- | --- | --- | --- |")
    for policy_name, test_name, tasks, success, turns in rows:
        print(f"| {policy_name} | {test_name} | {tasks} | {success:.3f} | {turns:.3f} |")
    print("\ntraining reward (first quarter -> last quarter):")
    for name, reward in rewards.items():
        print(f"  {name}: {reward['first_quarter']:.3f} -> {reward['last_quarter']:.3f}")
    (out / "evidence.json").write_text(json.dumps({"rows": rows, "rewards": rewards}, indent=2))


if __name__ == "__main__":
    main()
