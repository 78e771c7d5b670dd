"""Every built-in generator, at scale: the gates hold over 2,000 tasks, sets are distinct and reproducible.

One set per generator (seed 0) is made once and shared: 10,000 tasks for the four first-class domains, 2,000 for
the multi-domain generators. The first 2,000 are replayed by the oracle through ProgressReward; the whole set is
checked for distinctness and against BFCL's user turns. The sets are made in two shards each, in two processes
(task ``i`` depends only on the seed and ``i``, so a shard is the same tasks as that part of a whole set).
"""

from __future__ import annotations

import functools
import json
import multiprocessing
import os
import subprocess
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer
from envtune_gym.synth.generator import generator_names
from envtune_gym.tasks import CATEGORIES, Task
from envtune_gym.wrappers import ProgressReward

FIRST_CLASS = ("filesystem", "trading", "travel", "messaging")
SET_SIZE = 10_000
REPLAYED = 2_000
BUILTIN = [name for name in generator_names() if name != "toy_files"]


def synthesized(name: str) -> tuple[Task, ...]:
    return _all_sets()[name]


@functools.cache
def _all_sets() -> dict[str, tuple[Task, ...]]:
    shards = []
    for name in BUILTIN:
        size = SET_SIZE if name in FIRST_CLASS else REPLAYED
        shards += [(name, 0, size // 2), (name, size // 2, size - size // 2)]
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        made = list(pool.map(_shard, shards))
    sets: dict[str, list[Task]] = {name: [] for name in BUILTIN}
    for (name, _, _), tasks in zip(shards, made, strict=True):
        sets[name] += [Task.model_validate_json(task) for task in tasks]
    return {name: tuple(tasks) for name, tasks in sets.items()}


def _shard(shard: tuple[str, int, int]) -> list[str]:
    name, start, count = shard
    return [task.model_dump_json() for task in Synthesizer(name, seed=0).tasks(count, start)]


@functools.cache
def bfcl_user_turns() -> frozenset[str]:
    from envtune_gym.tasks.bfcl import BFCLDataNotFound, load_bfcl_tasks

    try:
        return frozenset(turn for task in load_bfcl_tasks() for turn in task.turns)
    except BFCLDataNotFound:
        pytest.skip("BFCL's data is not installed (pip install --no-deps bfcl-eval==2026.3.23)")


@pytest.mark.parametrize("name", BUILTIN)
def test_the_oracle_scores_one_on_every_task_and_the_shape_is_bfcl_s(name):
    tasks = synthesized(name)[:REPLAYED]
    env = ProgressReward(ToolUseEnv(tasks=tasks))
    for task in tasks:
        env.reset(options={"task_id": task.id})
        total = sum(float(env.step(action)[1]) for action in oracle_actions(task))
        assert total == pytest.approx(1.0), task.id
    knobs = Knobs()
    assert FIRST_CLASS[0] in BUILTIN and set(FIRST_CLASS) <= set(BUILTIN)
    assert Counter(task.category for task in tasks) == {category: REPLAYED // 4 for category in CATEGORIES}
    for task in tasks:
        assert 1 <= task.num_turns <= knobs.max_turns + (task.category in ("miss_param", "miss_func"))
        assert max(len(calls) for calls in task.ground_truth) <= knobs.max_calls_per_turn
        assert task.difficulty["turns"] == task.num_turns and task.checked_turns


@pytest.mark.parametrize("name", BUILTIN)
def test_a_set_is_distinct_and_shares_no_user_turn_with_bfcl(name):
    tasks = synthesized(name)
    keys = {
        json.dumps([task.initial_config, task.turns, task.ground_truth], sort_keys=True) for task in tasks
    }
    assert len(keys) >= 0.99 * len(tasks)
    shared = {turn for task in tasks for turn in task.turns if turn} & bfcl_user_turns()
    assert not shared, sorted(shared)[:5]


@pytest.mark.parametrize("name", BUILTIN)
def test_a_task_is_the_same_alone_in_a_shard_and_in_another_process(name):
    sharded = list(Synthesizer(name, seed=5).tasks(3, start=40))
    assert sharded == [Synthesizer(name, seed=5).task(index) for index in (40, 41, 42)]
    code = (
        "import json, sys; from envtune_gym.synth import Synthesizer; "
        f"print(json.dumps(Synthesizer({name!r}, seed=5).task(41).model_dump(mode='json'), sort_keys=True))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout  # fmt: skip
        for hash_seed in ("1", "2")
    }
    assert outputs == {json.dumps(sharded[1].model_dump(mode="json"), sort_keys=True) + "\n"}
