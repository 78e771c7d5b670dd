"""CurriculumGate and its controller: stages as data, promotion at the threshold, the draw, hints by stage through
the explicit HintAugmentation, checkpoints, vector envs."""

from __future__ import annotations

import json
import re

import gymnasium as gym
import numpy as np
import pytest

from envtune_gym.agents.oracle import TURN_DONE, oracle_actions
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.oracle import TURN_DECLINED
from envtune_gym.wrappers import DEFAULT_STAGES, CurriculumController, CurriculumGate, HintAugmentation, Stage


def gate(env_id: str = "EnvTune/FileSystem-v0", level: str = "full", **kwargs) -> CurriculumGate:
    """A gate as users stack it: over an explicit HintAugmentation."""
    return CurriculumGate(HintAugmentation(gym.make(env_id), level=level), **kwargs)


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
    env = gate()
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
    env = gate(window=3, threshold=1.0)
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
    env = gate(window=2, threshold=0.5)
    for seed in range(4):
        play(env, seed=seed, oracle=False)
    assert env.stage == 0 and env.controller.window_mean == 0.0
    by_reward = gate(window=1, threshold=1.5, metric="reward")
    play(by_reward, seed=0)  # the format reward of the ground truth is 2.0 >= 1.5
    assert by_reward.stage == 1


def test_stages_that_match_no_task_are_refused():
    with pytest.raises(ValueError, match="matches none"):
        gate(stages=[Stage("trading", domains=("TradingBot",))])


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_training_loop_drives_the_stage_of_a_vector_env(mode):
    envs = gym.make_vec(
        "EnvTune/FileSystem-v0", num_envs=2, vectorization_mode=mode,
        wrappers=[lambda env: CurriculumGate(HintAugmentation(env), auto_record=False)],
    )  # fmt: skip
    try:
        _, infos = envs.reset(seed=0)
        assert list(infos["curriculum"]["stage"]) == [0, 0]
        envs.call("set_stage", 3)
        assert envs.get_attr("stage") == (3, 3)
        _, infos = envs.reset(seed=1)
        assert list(infos["curriculum"]["name"]) == ["all_without_hints", "all_without_hints"]
        _, _, _, _, infos = envs.step(["[lss()]", "[lss()]"])
        assert list(infos["hint"]) == ["", ""]  # the stage turned each copy's hint wrapper off
        envs.set_attr("stage", 1)
        assert envs.get_attr("stage") == (1, 1)
    finally:
        envs.close()


def test_the_controller_draws_distinct_tasks_of_its_stage_and_repeats_only_when_short():
    tasks = load_bundled("filesystem")
    controller = CurriculumController()
    syntax = [task for task in tasks if DEFAULT_STAGES[0].matches(task)]
    drawn = controller.draw(tasks, len(syntax), np.random.default_rng(0))
    assert sorted(task.id for task in drawn) == sorted(task.id for task in syntax)  # each once
    more = controller.draw(tasks, len(syntax) + 3, np.random.default_rng(0))
    assert len(more) == len(syntax) + 3 and {task.id for task in more} == {task.id for task in syntax}
    controller.set_stage(2)
    assert {t.category for t in controller.draw(tasks, 40, np.random.default_rng(1))} > {"base"}
    trading = CurriculumController([Stage("trading", domains=("TradingBot",))])
    with pytest.raises(ValueError, match="matches none"):
        trading.draw(tasks, 1, np.random.default_rng())


def test_the_gate_draws_from_the_current_stage_reproducibly_and_a_given_task_wins():
    env = gate()
    assert env.draw(5, np.random.default_rng(3)) == env.draw(5, np.random.default_rng(3))
    by_id = {task.id: task for task in env.unwrapped.tasks}
    assert all(DEFAULT_STAGES[0].matches(by_id[task_id]) for task_id in env.draw(20))
    env.set_stage(1)
    for seed in range(5):
        _, info = env.reset(seed=seed)
        assert info["task_id"] == gate(stages=DEFAULT_STAGES[1:]).draw(1, np.random.default_rng(seed))[0]
    hard = next(task for task in env.unwrapped.tasks if task.category != "base")
    _, info = env.reset(options={"task_id": hard.id})  # a caller's task wins over the stage
    assert info["task_id"] == hard.id


def test_the_gate_records_by_its_metric_and_auto_record_only_when_on():
    env = gate(window=2, threshold=0.5)
    assert env.record(True, 0.0) is False and env.controller.window_mean == 1.0
    assert env.record(False, 5.0) is True and env.stage == 1  # success metric: the return is not used
    by_reward = gate(window=1, threshold=1.0, metric="reward")
    assert by_reward.record(False, 1.5) is True and by_reward.stage == 1
    quiet = gate(window=1, threshold=0.5, auto_record=False)
    _, info = play(quiet, seed=0)
    assert info["curriculum"]["changed"] is False and quiet.controller.window_mean is None


def test_hints_follow_the_stage_through_the_explicit_wrapper_at_its_own_level():
    env = gate(level="brief")
    hints = env.env
    for stage, want in [(0, "brief"), (3, "off"), (2, "brief")]:
        env.set_stage(stage)
        env.reset(seed=0)
        assert hints.episode_level == want and hints.level == "brief"
        hint = env.step("[lss()]")[4]["hint"]
        assert hint == ("" if want == "off" else "Did you mean ls(a: boolean = False)?")
    env.reset(seed=0, options={"hints": "full"})  # a caller's level wins for the episode
    assert env.step("[lss()]")[4]["hint"].startswith("Did you mean:\n- ls(")


def test_a_stage_with_hints_needs_a_hint_wrapper_under_the_gate():
    with pytest.raises(ValueError, match=r"stage 0 \(syntax\) has hints on, but no HintAugmentation"):
        CurriculumGate(gym.make("EnvTune/FileSystem-v0"))
    plain = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), stages=[Stage("all", hints=False)])
    _, info = plain.reset(seed=0)
    assert info["curriculum"]["hints"] is False and "hint" not in info


def test_gates_on_one_controller_move_together():
    controller = CurriculumController(window=2, threshold=0.5)
    first, second = gate(controller=controller), gate(controller=controller, metric="reward")
    first.record(True, 0.0)
    assert second.record(False, 1.0) and first.stage == second.stage == 1  # one window, one promotion
    _, info = second.reset(seed=0)
    assert info["curriculum"]["name"] == "base"


@pytest.mark.parametrize("value", ["loud", 1, "Full"])
def test_a_bad_hint_level_in_options_is_refused_before_the_env_resets(value):
    hints = HintAugmentation(gym.make("EnvTune/FileSystem-v0"), level="brief")
    _, info = hints.reset(seed=0, options={"task_id": "filesystem_base_0"})
    with pytest.raises(ValueError, match=r'options\["hints"\] must be one of'):
        hints.reset(seed=1, options={"hints": value})
    assert hints.unwrapped.task.id == "filesystem_base_0" and hints.episode_level == "brief"


def test_a_stage_selects_synthesized_tasks_by_their_recorded_difficulty():
    from envtune_gym.synth import Knobs, synthesize

    tasks = synthesize("filesystem", 24, seed=0, knobs=Knobs(max_depth=2))
    shallow = Stage("shallow", max_difficulty={"depth": 0, "distractors": 99})
    kept = [task for task in tasks if shallow.matches(task)]
    assert kept and len(kept) < len(tasks)
    assert all(task.difficulty["depth"] == 0 for task in kept)
    assert shallow.matches(load_bundled("filesystem")[0])  # a task with no recorded difficulty is kept
    with pytest.raises(ValueError, match="max_difficulty maps knob names to integers"):
        Stage("bad", max_difficulty={"depth": "1"})


LATE = Stage("late_turns", start_turn="random_checked", hints=False)


def test_a_stage_may_start_episodes_at_a_random_checked_turn_drawn_reproducibly():
    env = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), stages=[LATE, Stage("first", hints=False)])
    by_id = {task.id: task for task in env.unwrapped.tasks}
    starts = []
    for seed in range(30):
        observation, info = env.reset(seed=seed)
        task = by_id[info["task_id"]]
        start = info["curriculum"]["start_turn"]
        assert (
            info["turn"] == start and start in task.checked_turns and observation.endswith(task.turns[start])
        )
        assert ("history" in info) == (start > 0)
        starts.append((info["task_id"], start))
    assert any(start > 0 for _, start in starts) and any(start == 0 for _, start in starts)
    assert [env.reset(seed=seed)[1]["curriculum"]["start_turn"] for seed in range(30)] == [
        s for _, s in starts
    ]
    # The episode from there is scored as usual: the oracle's remaining turns succeed.
    _, info = env.reset(seed=next(seed for seed, (_, start) in enumerate(starts) if start > 0))
    task = by_id[info["task_id"]]
    actions = list(oracle_actions(task))
    skip = [index for index, action in enumerate(actions) if action in (TURN_DONE, TURN_DECLINED)]
    for action in actions[skip[info["turn"] - 1] + 1 if info["turn"] else 0 :]:
        _, _, terminated, _, info = env.step(action)
    assert terminated and info["success"]
    # A caller's start_turn wins; a "first" stage starts at turn 0.
    assert env.reset(seed=0, options={"task_id": task.id, "start_turn": 0})[1]["turn"] == 0
    env.set_stage(1)
    assert all(env.reset(seed=seed)[1]["curriculum"]["start_turn"] == 0 for seed in range(10))


def test_draw_start_turn_lets_a_loop_start_a_group_at_one_turn():
    env = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), stages=[LATE])
    task = max(env.unwrapped.tasks, key=lambda task: len(task.checked_turns))
    drawn = {env.draw_start_turn(task.id, np.random.default_rng(seed)) for seed in range(40)}
    assert drawn == set(task.checked_turns)
    assert env.draw_start_turn(task, np.random.default_rng(7)) == env.draw_start_turn(
        task, np.random.default_rng(7)
    )


def test_the_start_turn_field_is_checked_and_old_checkpoints_still_load():
    with pytest.raises(ValueError, match="start_turn must be one of"):
        Stage("bad", start_turn="last")  # type: ignore[arg-type]
    controller = CurriculumController(window=3, threshold=0.6)
    saved = json.loads(json.dumps(controller.state_dict()))
    for stage in saved["stages"]:  # as saved before stages had a start_turn
        del stage["start_turn"]
    CurriculumController(window=3, threshold=0.6).load_state_dict(saved)
    saved["stages"][0]["start_turn"] = "random_checked"
    with pytest.raises(ValueError, match="different stages"):
        CurriculumController(window=3, threshold=0.6).load_state_dict(saved)
