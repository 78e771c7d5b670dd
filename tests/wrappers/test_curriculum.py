"""CurriculumGate and its controller: stages as data, promotion at the threshold, checkpoints, vector envs."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
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


def test_load_state_dict_checks_the_whole_checkpoint_before_changing_anything():
    controller = CurriculumController(window=3, threshold=0.6)
    controller.record(1)
    saved = controller.state_dict()
    for change, message in [
        ({"stage": 99}, "stage must be an integer in 0..3, got 99"),
        ({"stage": -1}, "stage must be an integer in 0..3"),
        ({"stage": True}, "stage must be an integer"),
        ({"stage": 1.5}, "stage must be an integer"),
        ({"window": 0}, "window must be a positive integer"),
        ({"threshold": float("nan")}, "threshold must be a finite number"),
        ({"demotion_threshold": 0.9}, "below threshold"),
        ({"outcomes": [1.0, float("nan")]}, "outcome must be a finite number"),
        ({"outcomes": "1"}, "'outcomes' must be a list"),
        ({"episodes": -1}, "'episodes' must be a non-negative integer"),
        ({"transitions": [1]}, "'transitions' must be a list of dicts"),
    ]:
        restored = CurriculumController(window=3, threshold=0.6)
        with pytest.raises(ValueError, match=re.escape(message)):
            restored.load_state_dict({**saved, **change})
        assert (
            restored.state_dict() == CurriculumController(window=3, threshold=0.6).state_dict()
        )  # unchanged
    with pytest.raises(ValueError, match="missing"):
        CurriculumController().load_state_dict({"stage": 99})


@pytest.mark.parametrize("stage", [True, False, 1.5, 99, -1, "1", None])
def test_set_stage_takes_an_index_of_a_stage_only(stage):
    controller = CurriculumController()
    with pytest.raises(ValueError, match="stage must be an integer in 0..3"):
        controller.set_stage(stage)
    assert controller.stage == 0


def test_set_stage_accepts_numpy_integers_and_reports_plain_ints():
    env = CurriculumGate(gym.make("EnvTune/FileSystem-v0"))
    env.set_stage(np.int64(2))
    _, info = env.reset(seed=0)
    assert (
        type(env.stage) is int
        and info["curriculum"]["stage"] == 2
        and type(info["curriculum"]["stage"]) is int
    )
    with pytest.raises(ValueError, match="got True"):
        env.stage = True
    assert env.stage == 2


@pytest.mark.parametrize("outcome", [float("nan"), float("inf"), -float("inf"), "1", None])
def test_a_non_finite_outcome_is_refused_and_the_window_keeps_moving(outcome):
    controller = CurriculumController(window=2, threshold=0.5)
    controller.record(0.0)
    with pytest.raises(ValueError, match="outcome must be a finite number"):
        controller.record(outcome)
    assert controller.window_mean == 0.0 and controller.state_dict()["episodes"] == 1
    assert controller.record(True) and controller.stage == 1  # a bool success counts as 1


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"window": 1.5}, "window must be a positive integer"),
        ({"window": True}, "window must be a positive integer"),
        ({"threshold": float("nan")}, "threshold must be a finite number"),
        ({"threshold": True}, "threshold must be a finite number"),
        ({"demotion_threshold": float("nan")}, "demotion_threshold must be a finite number or None"),
        ({"stages": ["syntax"]}, "stages must be Stage values"),
    ],
)
def test_controller_settings_are_checked(settings, message):
    with pytest.raises(ValueError, match=message):
        CurriculumController(**settings)


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
