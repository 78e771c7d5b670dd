"""The eval runner: the oracle scores 1.0 everywhere, random does not, and results are reproducible."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from envtune_gym.eval import OraclePolicy, PolicyError, RandomPolicy, evaluate
from envtune_gym.eval.policies import RANDOM_REPLY, TaskInfo
from envtune_gym.tasks import CATEGORIES

BUNDLED_ENVS = ["EnvTune/FileSystem-v0", "EnvTune/Trading-v0", "EnvTune/Travel-v0", "EnvTune/Messaging-v0"]
HAS_BFCL = importlib.util.find_spec("bfcl_eval") is not None


@pytest.mark.parametrize("env_id", BUNDLED_ENVS)
def test_oracle_scores_one_everywhere_on_bundled_envs(env_id):
    result = evaluate(env_id, OraclePolicy, workers=2, progress=False)
    accuracy = {name: group.accuracy for name, group in result.scores.by_category.items()}
    assert accuracy == {**dict.fromkeys(CATEGORIES, 1.0), "overall": 1.0}
    assert all(group.accuracy == 1.0 for group in result.scores.by_domain.values())
    assert result.scores.errors["episodes"] == 0 and result.scores.errors["truncated"] == 0
    assert all(episode.turns_passed == episode.turns_checked for episode in result.episodes)
    assert result.tasks == len(result.episodes) == len({episode.task_id for episode in result.episodes})


@pytest.mark.bfcl
@pytest.mark.skipif(
    not HAS_BFCL, reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)
def test_oracle_scores_one_on_all_800_bfcl_tasks():
    result = evaluate("EnvTune/BFCL-v0", OraclePolicy, workers=4, progress=False)
    assert len(result.episodes) == 800
    assert result.scores.overall.accuracy == 1.0
    assert {name: group.tasks for name, group in result.scores.by_category.items()} == {
        **dict.fromkeys(CATEGORIES, 200),
        "overall": 800,
    }
    assert all(group.accuracy == 1.0 for group in result.scores.by_domain.values())


@pytest.mark.bfcl
@pytest.mark.skipif(
    not HAS_BFCL, reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)
def test_split_selects_bfcl_test_scenarios():
    result = evaluate(
        "EnvTune/BFCL-v0",
        OraclePolicy,
        split="test",
        env_kwargs={"category": ["base"]},
        limit=5,
        progress=False,
    )
    assert result.env_kwargs["split"] == "test" and len(result.episodes) == 5
    from envtune_gym.tasks.bfcl import scenario_index, split_indices

    assert all(scenario_index(episode.task_id) in split_indices("test") for episode in result.episodes)


def test_random_scores_below_one_and_is_reproducible_across_worker_counts():
    one = evaluate(
        "EnvTune/FileSystem-v0", lambda: RandomPolicy(seed=3), samples=2, workers=1, progress=False
    )
    three = evaluate(
        "EnvTune/FileSystem-v0", lambda: RandomPolicy(seed=3), samples=2, workers=3, progress=False
    )
    assert one.scores.overall.accuracy < 1.0
    assert [episode.steps for episode in one.episodes] == [episode.steps for episode in three.episodes]
    assert [(episode.task_id, episode.sample) for episode in one.episodes][:3] == [
        ("filesystem_base_0", 0),
        ("filesystem_base_0", 1),
        ("filesystem_base_1", 0),
    ]
    # Samples of a task differ (seeded per sample), and random calls do reach the tools.
    assert one.episodes[0].steps != one.episodes[1].steps
    assert any(step["calls"] for episode in one.episodes for step in episode.steps)
    assert any(step["action"] == RANDOM_REPLY for step in one.episodes[0].steps)


def test_episode_record_holds_steps_verdicts_and_messages():
    result = evaluate(
        "EnvTune/FileSystem-v0", OraclePolicy, task_ids=["filesystem_miss_func_0"], progress=False
    )
    (episode,) = result.episodes
    assert (episode.category, episode.domains, episode.finish, episode.reward) == (
        "miss_func",
        ["GorillaFileSystem"],
        "terminated",
        1.0,
    )
    verdicts = [step["turn_result"] for step in episode.steps if "turn_result" in step]
    assert len(verdicts) == episode.num_turns and any(not verdict["checked"] for verdict in verdicts)
    assert any(step.get("new_tools") for step in episode.steps)
    calls = [call for step in episode.steps for call in step["calls"]]
    assert calls and all(set(call) == {"name", "arguments", "result", "error"} for call in calls)
    assert episode.messages[0]["role"] == "user" and {m["role"] for m in episode.messages} == {
        "user",
        "assistant",
        "tool",
    }


class _FailingPolicy:
    name = "failing"

    def start(self, task_info: TaskInfo) -> None:
        self.steps = 0

    def act(self, observation: str, info: dict[str, Any]) -> str:
        self.steps += 1
        if self.steps > 1:
            raise PolicyError("the model went away")
        return "[pwd()]"


def test_a_policy_error_fails_the_episode_and_the_eval_goes_on():
    result = evaluate("EnvTune/FileSystem-v0", _FailingPolicy, limit=3, workers=2, progress=False)
    assert [episode.finish for episode in result.episodes] == ["error"] * 3
    assert result.episodes[0].error == "PolicyError: the model went away"
    assert len(result.episodes[0].steps) == 1 and result.scores.overall.accuracy == 0.0
    assert result.scores.errors["episodes"] == 3 and result.scores.errors["examples"][0]["count"] == 3


class _Bug:
    name = "bug"

    def start(self, task_info: TaskInfo) -> None:
        pass

    def act(self, observation: str, info: dict[str, Any]) -> str:
        raise KeyError("a bug, not a policy failure")


def test_a_bug_in_a_policy_is_not_swallowed():
    with pytest.raises(KeyError, match="a bug"):
        evaluate("EnvTune/FileSystem-v0", _Bug, limit=2, workers=1, progress=False)


def test_category_filter_and_step_budget_reach_the_env():
    result = evaluate(
        "EnvTune/Travel-v0",
        OraclePolicy,
        env_kwargs={"category": "miss_param"},
        max_steps_per_turn=7,
        progress=False,
    )
    assert list(result.scores.by_category) == ["miss_param", "overall"]
    assert result.env_kwargs == {"category": "miss_param", "max_steps_per_turn": 7}


def test_named_tasks_play_once_each_in_the_envs_order():
    named = ["filesystem_base_1", "filesystem_base_0", "filesystem_base_1"]
    result = evaluate("EnvTune/FileSystem-v0", OraclePolicy, task_ids=named, workers=1, progress=False)
    assert [episode.task_id for episode in result.episodes] == ["filesystem_base_0", "filesystem_base_1"]
    every = evaluate("EnvTune/FileSystem-v0", OraclePolicy, task_ids=[], limit=3, workers=1, progress=False)
    assert len(every.episodes) == 3  # no ids named: every task, then the limit


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env_id": "EnvTune/Nope-v0"}, "unknown env id 'EnvTune/Nope-v0'"),
        ({"split": "test"}, "bundled tasks, which have no split"),
        ({"split": "valid"}, "split must be 'train' or 'test'"),
        ({"task_ids": ["filesystem_base_0", "nope"]}, r"unknown task id\(s\) \['nope'\]"),
        ({"samples": 0}, "must be >= 1"),
        ({"workers": 0}, "must be >= 1"),
        ({"env_kwargs": {"no_such_argument": 1}}, "cannot make"),
    ],
)
def test_bad_input_raises_a_clear_error(kwargs, message):
    arguments = {
        "env_id": "EnvTune/FileSystem-v0",
        "policy_factory": OraclePolicy,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        evaluate(**arguments)


@pytest.mark.bfcl
@pytest.mark.skipif(
    not HAS_BFCL, reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)
def test_domain_env_with_bfcl_tasks_takes_a_split():
    result = evaluate(
        "EnvTune/Travel-v0", OraclePolicy, env_kwargs={"task_source": "bfcl"}, split="train", progress=False
    )
    assert result.scores.overall.accuracy == 1.0 and result.tasks < 52
