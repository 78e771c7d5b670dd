"""CurriculumGate and its controller: stages as data, promotion at the threshold, checkpoints, vector envs."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from envtune_gym.agents.oracle import TURN_DONE, oracle_actions
from envtune_gym.wrappers import DEFAULT_STAGES, CurriculumController, CurriculumGate, Stage


def play(env: CurriculumGate, seed: int | None = None, oracle: bool = True) -> tuple[float, dict]:
    _, info = env.reset(seed=seed)
    total = 0.0
    actions = oracle_actions(env.unwrapped.task) if oracle else iter([TURN_DONE] * 50)
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        if terminated or truncated:
            break
    return total, info


def test_promotes_exactly_when_the_window_mean_reaches_the_threshold():
    below = CurriculumController(window=4, threshold=0.75)
    assert [below.record(v) for v in (1, 1, 0, 0.5)] == [False] * 4 and below.stage == 0  # mean 0.625
    at = CurriculumController(window=4, threshold=0.75)
    assert [at.record(v) for v in (1, 1, 0)] == [False] * 3  # the window is not full yet
    assert at.record(1) is True and at.stage == 1  # mean 0.75: promoted
    assert at.transitions == [{"episode": 4, "from": 0, "to": 1, "window_mean": 0.75}]


def test_the_window_restarts_after_a_move_and_demotion_is_optional():
    controller = CurriculumController(window=2, threshold=0.5, demotion_threshold=0.2)
    controller.record(1.0)
    assert controller.record(1.0) and controller.stage == 1 and controller.window_mean is None
    controller.record(0.0)
    assert controller.record(0.0) and controller.stage == 0
    assert [t["to"] for t in controller.transitions] == [1, 0]
    never = CurriculumController(window=1, threshold=0.5)
    never.record(1.0)
    assert not never.record(0.0) and never.stage == 1  # no demotion by default
    with pytest.raises(ValueError, match="below threshold"):
        CurriculumController(threshold=0.5, demotion_threshold=0.6)


def test_state_survives_save_and_load_through_json():
    controller = CurriculumController(window=3, threshold=0.6)
    for value in (1, 1, 1, 0, 1):
        controller.record(value)
    saved = json.loads(json.dumps(controller.state_dict()))
    restored = CurriculumController(window=3, threshold=0.6)
    restored.load_state_dict(saved)
    assert restored.stage == controller.stage == 1 and restored.window_mean == controller.window_mean
    assert restored.record(1) == controller.record(1) and restored.stage == controller.stage
    with pytest.raises(ValueError, match="different stages"):
        CurriculumController(stages=DEFAULT_STAGES[:2]).load_state_dict(saved)


def test_the_gate_draws_stage_tasks_pays_the_stage_reward_and_switches_hints():
    env = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), window=3, threshold=1.0)
    syntax = env.controller.current
    for seed in range(3):
        total, info = play(env, seed=seed)
        task = env.unwrapped.task
        assert syntax.matches(task) and task.category == "base" and sum(map(len, task.ground_truth)) <= 4
        assert total == 2.0 and info["reward_components"]["used_tools"] == 1.0  # the format reward
    assert info["curriculum"]["changed"] is True and env.stage == 1  # three successes: promoted
    total, info = play(env, seed=10)
    assert total == pytest.approx(1.0) and info["curriculum"]["reward"] == "progress"  # the progress reward
    env.set_stage(3)
    env.reset(seed=0)
    _, _, _, _, info = env.step("[lss()]")
    assert info["hint"] == "" and info["curriculum"]["hints"] is False  # the last stage has no hints
    env.set_stage(2)
    env.reset(seed=0)
    assert env.step("[lss()]")[4]["hint"].startswith("Did you mean")


def test_failures_do_not_promote_and_metric_reward_uses_returns():
    env = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), window=2, threshold=0.5)
    for seed in range(4):
        play(env, seed=seed, oracle=False)
    assert env.stage == 0 and env.controller.window_mean == 0.0
    by_reward = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), window=1, threshold=1.5, metric="reward")
    play(by_reward, seed=0)  # the format reward of the ground truth is 2.0 >= 1.5
    assert by_reward.stage == 1


def test_stages_that_match_no_task_are_refused():
    with pytest.raises(ValueError, match="matches none"):
        CurriculumGate(gym.make("EnvTune/FileSystem-v0"), stages=[Stage("trading", domains=("TradingBot",))])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_training_loop_drives_the_stage_of_a_vector_env(mode):
    envs = gym.make_vec(
        "EnvTune/FileSystem-v0", num_envs=2, vectorization_mode=mode,
        wrappers=[lambda env: CurriculumGate(env, auto_record=False)],
    )  # fmt: skip
    try:
        _, infos = envs.reset(seed=0)
        assert list(infos["curriculum"]["stage"]) == [0, 0]
        envs.call("set_stage", 2)
        assert envs.get_attr("stage") == (2, 2)
        _, infos = envs.reset(seed=1)
        assert list(infos["curriculum"]["name"]) == ["all_with_hints", "all_with_hints"]
        envs.set_attr("stage", 1)
        assert envs.get_attr("stage") == (1, 1)
    finally:
        envs.close()
