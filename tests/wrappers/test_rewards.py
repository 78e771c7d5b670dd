"""ProgressReward and FormatReward: exact returns on the ground truth, ordering on partial trajectories."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import envtune_gym
from envtune_gym.agents.oracle import TURN_DONE, oracle_actions
from envtune_gym.domains import registered_domains
from envtune_gym.envs import ToolUseEnv
from envtune_gym.tasks import Task
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.wrappers import FormatReward, ProgressReward, turn_score

BUNDLED = [task for spec in registered_domains() if spec.task_set for task in load_bundled(spec.task_set)]


def task_with_turns(n: int) -> Task:
    """A file-system task with n checked turns, each creating one folder."""
    return Task(
        id=f"folders_{n}",
        category="base",
        domains=["GorillaFileSystem"],
        initial_config={"GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": {}}}}},
        turns=[f"Create folder d{i}." for i in range(n)],
        ground_truth=[[f"mkdir(dir_name='d{i}')"] for i in range(n)],
    )


def episode_return(env: gym.Env, task: Task, actions) -> tuple[float, list[dict]]:
    env.reset(options={"task": task})
    total, infos = 0.0, []
    for action in actions:
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
        infos.append(info)
        if terminated or truncated:
            break
    return total, infos


def play_turns(passed: list[bool]) -> list[str]:
    """Actions for the folders task: the right mkdir where passed, a wrong one elsewhere."""
    actions = []
    for i, ok in enumerate(passed):
        actions += [f"[mkdir(dir_name='{'d' if ok else 'x'}{i}')]", TURN_DONE]
    return actions


@pytest.mark.parametrize("task", BUNDLED, ids=lambda task: task.id)
def test_the_ground_truth_earns_exactly_one_on_every_bundled_task(task):
    env = ProgressReward(ToolUseEnv(BUNDLED))
    total, infos = episode_return(env, task, oracle_actions(task))
    assert math.isclose(total, 1.0, abs_tol=1e-12)
    assert all("reward_components" in info for info in infos)


@pytest.mark.bfcl
def test_the_ground_truth_earns_exactly_one_on_every_bfcl_task():
    pytest.importorskip("bfcl_eval", reason="needs BFCL's data: pip install --no-deps bfcl-eval==2026.3.23")
    env = ProgressReward(gym.make("EnvTune/BFCL-v0"))
    for task in env.unwrapped.tasks:
        total, _ = episode_return(env, task, oracle_actions(task))
        assert math.isclose(total, 1.0, abs_tol=1e-12), task.id


def test_partial_trajectories_earn_between_zero_and_one_and_more_for_more_passed_turns():
    env = ProgressReward(ToolUseEnv([task_with_turns(4)]))
    task = env.unwrapped.tasks[0]
    returns = {}
    # a wrong folder leaves the state off for every later turn too (BFCL compares cumulative state)
    for passed_turns in range(5):
        passed = [i < passed_turns for i in range(4)]
        returns[passed_turns] = episode_return(env, task, play_turns(passed))[0]
    assert returns[4] == 1.0 and returns[0] == 0.0
    assert 0.0 < returns[1] < returns[2] < returns[3] < 1.0
    assert [returns[i] for i in range(1, 4)] == pytest.approx([0.25, 0.5, 0.75])


def test_unreached_turns_of_a_truncated_episode_count_as_failed():
    env = ProgressReward(ToolUseEnv([task_with_turns(4)], max_steps_per_turn=2))
    task = env.unwrapped.tasks[0]
    actions = ["[mkdir(dir_name='d0')]", TURN_DONE, "[pwd()]", "[pwd()]", "[pwd()]"]  # truncated in turn 1
    total, infos = episode_return(env, task, actions)
    assert infos[-1]["turn_result"]["turn"] == 1 and total == pytest.approx(0.25)  # not 1/2 (turns reached)


def test_partial_credit_scores_the_shares():
    env = ProgressReward(ToolUseEnv(BUNDLED[:1]), partial_credit=True)
    task = BUNDLED[0]
    env.reset(options={"task_id": task.id})
    _, reward, _, _, info = env.step(TURN_DONE)  # no call in a checked turn: 0 even with partial credit
    assert reward == 0.0 and info["reward_components"]["turn_score"] == 0.0
    result = {"passed": False, "made_call": True, "state_attributes": 2, "state_attributes_matched": 1,
              "expected_results": 4, "missing_results": ["a"]}  # fmt: skip
    assert turn_score(result, partial_credit=True) == pytest.approx(0.5 * 0.75)
    assert turn_score({**result, "state_attributes": 0, "expected_results": 0}, True) == 1.0


def test_penalties_are_off_by_default_and_reported_when_on():
    plain = ProgressReward(ToolUseEnv([task_with_turns(1)]))
    plain.reset(seed=0)
    _, reward, _, _, info = plain.step("[mkdir(")
    assert reward == 0.0 and info["reward_components"]["format_penalty"] == 0.0
    strict = ProgressReward(ToolUseEnv([task_with_turns(1)]), format_penalty=0.1, execution_penalty=0.05)
    strict.reset(seed=0)
    assert strict.step("[mkdir(")[1] == pytest.approx(-0.1)
    _, reward, _, _, info = strict.step("[cd(folder='nowhere')]")
    assert reward == pytest.approx(-0.05) and info["reward_components"]["execution_penalty"] == -0.05
    with pytest.raises(ValueError, match="non-negative"):
        ProgressReward(ToolUseEnv([task_with_turns(1)]), format_penalty=-1)


def test_format_reward_follows_the_papers_formula():
    env = FormatReward(ToolUseEnv([task_with_turns(2)]))
    task = env.unwrapped.tasks[0]
    total, infos = episode_return(env, task, play_turns([True, True]))
    assert total == 2.0 and infos[-1]["reward_components"]["steps"] == 4
    actions = ["[mkdir(", "[mkdir(dir_name='d0')]", "[cd(folder='nowhere')]", TURN_DONE, TURN_DONE]
    total, infos = episode_return(env, task, actions)
    components = infos[-1]["reward_components"]
    assert (
        components["steps"],
        components["format_errors"],
        components["correct_steps"],
        components["error_steps"],
    ) == (5, 1, 1, 1)
    assert total == pytest.approx((5 - 1) / 5 + 1 / 2)
    assert episode_return(env, task, [TURN_DONE, TURN_DONE])[0] == 0.0  # no tool call at all: I_tool = 0
    normalized = FormatReward(ToolUseEnv([task_with_turns(2)]), normalize=True)
    assert episode_return(normalized, task, play_turns([True, True]))[0] == 1.0


def test_wrappers_record_their_arguments_and_rebuild_from_the_spec():
    env = FormatReward(ProgressReward(gym.make("EnvTune/FileSystem-v0"), partial_credit=True), normalize=True)
    rebuilt = gym.make(env.spec)
    assert isinstance(rebuilt, FormatReward) and rebuilt.normalize is True
    assert rebuilt.env.partial_credit is True and isinstance(rebuilt.unwrapped, envtune_gym.ToolUseEnv)


def test_wrappers_compose():
    from envtune_gym.wrappers import HintAugmentation

    env = ProgressReward(
        HintAugmentation(gym.make("EnvTune/FileSystem-v0"), level="brief"), partial_credit=True
    )
    task = load_bundled("filesystem")[3]
    env.reset(options={"task_id": task.id})
    _, reward, _, _, info = env.step("[lss()]")
    assert info["hint"].startswith("Did you mean") and "reward_components" in info and reward == 0.0
    total, _ = episode_return(env, task, oracle_actions(task))
    assert math.isclose(total, 1.0)
