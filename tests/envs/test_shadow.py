"""The lazy shadow gives the same verdicts as always running the ground truth on a second copy."""

from __future__ import annotations

import random

import pytest

from envtune_gym.agents.oracle import TURN_DONE
from envtune_gym.domains import registered_domains
from envtune_gym.envs import ToolUseEnv
from envtune_gym.envs.shadow import GroundTruthPlan, same_value
from envtune_gym.tasks.bundled import load_bundled

TASKS = [task for spec in registered_domains() if spec.task_set for task in load_bundled(spec.task_set)]


def trajectories(task, rng):
    """The ground truth, and variants: an extra read, a dropped call, a call moved into the next turn."""
    turns = [list(calls) for calls in task.ground_truth]
    yield turns
    flat = [(t, i) for t, calls in enumerate(turns) for i in range(len(calls))]
    if not flat:
        return
    t, i = rng.choice(flat)
    dropped = [list(calls) for calls in turns]
    del dropped[t][i]
    yield dropped
    extra = [list(calls) for calls in turns]
    extra[t].append(turns[t][i])
    yield extra
    if t + 1 < len(turns):
        moved = [list(calls) for calls in turns]
        moved[t + 1].insert(0, moved[t].pop(i))
        yield moved


def verdicts(task, turns, force_shadow):
    env = ToolUseEnv([task], max_steps_per_turn=100)
    env.reset(options={"task_id": task.id})
    if force_shadow:
        env._episode.shadow.in_sync = False  # white-box: the shadow runs every turn, as in BFCL
    results = []
    for calls in turns:
        if calls:
            env.step("[" + ", ".join(calls) + "]")
        _, _, _, _, info = env.step(TURN_DONE)
        results.append(info["turn_result"])
    return results, info["success"]


@pytest.mark.parametrize("task", TASKS, ids=lambda task: task.id)
def test_lazy_and_eager_shadows_agree(task):
    rng = random.Random(task.id)
    for turns in trajectories(task, rng):
        lazy, eager = verdicts(task, turns, False), verdicts(task, turns, True)
        assert lazy[1] == eager[1]
        for ours, theirs in zip(lazy[0], eager[0], strict=True):
            assert {k: v for k, v in ours.items() if k != "state_diff"} == {
                k: v for k, v in theirs.items() if k != "state_diff"
            }


def test_the_shadow_is_built_only_when_the_agent_diverges():
    task = load_bundled("filesystem")[0]
    env = ToolUseEnv([task])
    env.reset(options={"task_id": task.id})
    for calls in task.ground_truth:
        env.step("[" + ", ".join(calls) + "]")
        env.step(TURN_DONE)
    assert env._episode.shadow.domains is None and env._episode.shadow.in_sync
    env.reset(options={"task_id": task.id})
    env.step("[du(human_readable=True)]")  # not the ground truth's first call
    env.step(TURN_DONE)
    assert env._episode.shadow.domains is not None and not env._episode.shadow.in_sync


def test_call_matching_is_strict_about_types_but_not_keyword_order():
    assert same_value({"a": 1, "b": ["x", {"c": None}]}, {"b": ["x", {"c": None}], "a": 1})
    assert not same_value({"a": 1}, {"a": 1.0}) and not same_value({"a": 1}, {"a": True})
    assert not same_value({"a": [1, 2]}, {"a": [1, 2.0]}) and not same_value({"a": [1]}, {"a": [1, 1]})
    plan = GroundTruthPlan.from_turns([[("f", {"a": 1})], [], [("g", {}), ("h", {})]])
    assert plan.bounds == ((0, 1), (1, 1), (1, 3)) and len(plan.flat) == 3
