"""``EnvTune/BFCL-v0``: BFCL's 800 multi-turn tasks, filters, the protocol split, reveals and long context."""

from __future__ import annotations

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import envtune_gym  # noqa: F401
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.envs import REVEAL_MESSAGE
from envtune_gym.tasks.bfcl import scenario_index

pytest.importorskip("bfcl_eval", reason="needs BFCL's data: pip install --no-deps bfcl-eval==2026.3.23")
pytestmark = pytest.mark.bfcl


def tasks_of(**kwargs):
    return gym.make("EnvTune/BFCL-v0", **kwargs).unwrapped.tasks


def test_all_800_tasks_by_default_and_category_filters():
    assert len(tasks_of()) == 800
    assert {task.category for task in tasks_of(category="miss_param")} == {"miss_param"}
    assert len(tasks_of(category=["base", "long_context"])) == 400


def test_split_is_the_environment_tuning_protocol_without_scenario_leaks():
    train, test = tasks_of(split="train"), tasks_of(split="test")
    assert len(train) == len(test) == 400
    assert not {scenario_index(t.id) for t in train} & {scenario_index(t.id) for t in test}
    assert {t.category for t in train} == {"base", "miss_func", "miss_param", "long_context"}


def test_check_env_passes():
    check_env(gym.make("EnvTune/BFCL-v0").unwrapped)


def test_a_multi_domain_task_by_id_replays_to_success():
    env = gym.make("EnvTune/BFCL-v0")
    _, info = env.reset(options={"task_id": "multi_turn_base_0"})
    assert info["domains"] == ["TwitterAPI", "GorillaFileSystem"]
    assert {"post_tweet", "mkdir"} <= {tool["function"]["name"] for tool in info["tools"]}
    for action in oracle_actions(env.unwrapped.task):
        _, reward, terminated, _, info = env.step(action)
    assert terminated and info["success"] and reward == 1.0


def test_miss_func_reveals_the_held_out_function_as_bfcls_fc_mode():
    env = gym.make("EnvTune/BFCL-v0")
    task = next(t for t in env.unwrapped.tasks if t.category == "miss_func")
    (reveal_turn,) = task.held_out
    _, info = env.reset(options={"task_id": task.id})
    hidden = set(task.held_out[reveal_turn])
    assert not hidden & {tool["function"]["name"] for tool in info["tools"]}
    for action in oracle_actions(task):
        observation, _, terminated, _, info = env.step(action)
        if info["new_tools"]:
            assert set(info["new_tools"]) == hidden and info["turn"] == reveal_turn
            assert observation.rstrip().endswith(REVEAL_MESSAGE)
    assert terminated and info["success"]


def test_long_context_tasks_load_the_padding():
    env = gym.make("EnvTune/BFCL-v0", category="long_context")
    task = next(t for t in env.unwrapped.tasks if t.domains == ["GorillaFileSystem"])
    env.reset(options={"task_id": task.id})
    assert env.unwrapped.domains["GorillaFileSystem"].long_context is True


def test_miss_param_turns_expect_the_agent_to_ask():
    env = gym.make("EnvTune/BFCL-v0", category="miss_param")
    task = env.unwrapped.tasks[0]
    empty_turn = next(i for i, calls in enumerate(task.ground_truth) if not calls)
    env.reset(options={"task_id": task.id})
    for action in oracle_actions(task):
        _, _, terminated, _, info = env.step(action)
        if "turn_result" in info and info["turn_result"]["turn"] == empty_turn:
            assert info["turn_result"]["checked"] is False
    assert terminated and info["success"]
