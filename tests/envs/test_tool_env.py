"""ToolUseEnv: the multi-turn loop, BFCL turn checking, Gymnasium compliance, snapshots and hostile actions."""

from __future__ import annotations

import copy
import json
import pickle
import re

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import envtune_gym
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.envs import REVEAL_MESSAGE, ToolUseEnv
from envtune_gym.info import ALWAYS_KEYS, EVENT_KEYS
from envtune_gym.tasks import Task
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tools import thaw

FS_TASKS = load_bundled("filesystem")
#: Every bundled task of every registered env id, with the id that serves it.
BUNDLED = [(env_id, task) for env_id, kwargs in envtune_gym.ENV_IDS.items() if kwargs["tasks"] != "bfcl"
           for task in load_bundled(kwargs["tasks"])]  # fmt: skip


def simple_task(**overrides) -> Task:
    fields = {
        "id": "t_simple",
        "category": "base",
        "domains": ["GorillaFileSystem"],
        "initial_config": {
            "GorillaFileSystem": {
                "root": {
                    "home": {
                        "type": "directory",
                        "contents": {
                            "docs": {
                                "type": "directory",
                                "contents": {"a.txt": {"type": "file", "content": "x\ny"}},
                            },
                            "notes.md": {"type": "file", "content": "todo"},
                        },
                    }
                }
            }
        },
        "turns": ["Go into docs and show me a.txt.", "Now make a folder named 'out' there."],
        "ground_truth": [["cd(folder='docs')", "cat(file_name='a.txt')"], ["mkdir(dir_name='out')"]],
    }
    fields.update(overrides)
    return Task(**fields)


def play(env: gym.Env, actions, options=None):
    env.reset(seed=0, options=options)
    results = []
    for action in actions:
        results.append(env.step(action))
    return results


def fs_state(env: gym.Env):
    return copy.deepcopy(env.unwrapped.domains["GorillaFileSystem"].state())


# ---------------------------------------------------------------------------------------------------------------
# Gymnasium compliance


@pytest.mark.parametrize("render_mode", [None, "ansi"])
@pytest.mark.parametrize(
    "env_id", [env_id for env_id, kwargs in envtune_gym.ENV_IDS.items() if kwargs["tasks"] != "bfcl"]
)
def test_registered_ids_pass_gymnasium_check_env(env_id, render_mode):
    env = gym.make(env_id, render_mode=render_mode)
    check_env(env.unwrapped)


@pytest.mark.parametrize("shared_memory", [True, False])
def test_async_vector_env_matches_single_envs(shared_memory):
    envs = gym.make_vec("EnvTune/FileSystem-v0", num_envs=2, vectorization_mode="async",
                        vector_kwargs={"shared_memory": shared_memory})  # fmt: skip
    singles = [ToolUseEnv("filesystem") for _ in range(2)]
    try:
        observations, infos = envs.reset(seed=[3, 4])
        assert tuple(observations) == tuple(
            env.reset(seed=seed)[0] for env, seed in zip(singles, [3, 4], strict=True)
        )
        actions = ["[pwd()]", "[echo(content='🙂 café')]"]
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        expected = [env.step(action)[0] for env, action in zip(singles, actions, strict=True)]
        assert tuple(observations) == tuple(expected)
        assert all("<tool_response>" in obs for obs in observations)
        assert list(rewards) == [0.0, 0.0]
    finally:
        envs.close()


def test_reset_with_seed_is_deterministic_and_draws_from_the_task_set():
    env = ToolUseEnv("filesystem")
    drawn = {env.reset(seed=seed)[1]["task_id"] for seed in range(30)}
    assert len(drawn) > 5
    assert env.reset(seed=7)[1]["task_id"] == ToolUseEnv("filesystem").reset(seed=7)[1]["task_id"]


def test_info_has_the_documented_keys_on_reset_and_every_step_and_is_json():
    env = ToolUseEnv([simple_task()])
    _, info = env.reset(seed=0)
    infos = [info] + [
        env.step(action)[4] for action in ["[cd(folder='docs')]", "ok", "[mkdir(dir_name='out')]", "ok"]
    ]
    for info in infos:
        assert tuple(info)[: len(ALWAYS_KEYS)] == ALWAYS_KEYS
        assert set(info) - set(ALWAYS_KEYS) <= set(EVENT_KEYS)
        json.dumps(info)
    assert ["turn_result" in info for info in infos] == [False, False, True, False, True]
    assert ["success" in info for info in infos] == [False, False, False, False, True]
    assert all(info["num_checked_turns"] == 2 for info in infos)
    env.reset(seed=0)
    assert env.step("[ls(")[4]["action_error"]["category"] == "format"


# ---------------------------------------------------------------------------------------------------------------
# The ground truth succeeds


@pytest.mark.parametrize(("env_id", "task"), BUNDLED, ids=[task.id for _, task in BUNDLED])
def test_oracle_replay_of_every_bundled_task_succeeds(env_id, task):
    env = gym.make(env_id)
    env.reset(options={"task_id": task.id})
    rewards = []
    for action in oracle_actions(task):
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        assert all(call["error"] is None for call in info["calls"]), info["calls"]
        if "turn_result" in info:
            assert info["turn_result"]["passed"], info["turn_result"]
    assert terminated and not truncated and info["success"] is True
    assert rewards[-1] == 1.0 and sum(rewards) == 1.0


@pytest.mark.parametrize("style", ["hermes", "json"])
def test_oracle_succeeds_in_every_action_format_and_one_call_per_step(style):
    env = ToolUseEnv(FS_TASKS)
    for task in FS_TASKS[::6]:
        env.reset(options={"task_id": task.id})
        for action in oracle_actions(task, style=style, one_call_per_step=True):
            _, reward, terminated, _, info = env.step(action)
        assert terminated and info["success"], task.id


def test_positional_and_keyword_arguments_are_equivalent():
    env = ToolUseEnv([simple_task()])
    results = play(env, ["[cd('docs'), cat('a.txt')]", "done", "[mkdir('out')]", "done"])
    assert results[-1][4]["success"] is True


# ---------------------------------------------------------------------------------------------------------------
# Turn verdicts follow BFCL's rules


def test_a_checked_turn_without_any_call_fails_as_empty_turn():
    env = ToolUseEnv([simple_task()])
    _, _, _, _, info = play(env, ["I will not do that."])[-1]
    assert info["turn_result"]["error_type"] == "empty_turn_model_response"
    assert info["turn_result"]["passed"] is False


def test_a_missing_read_call_fails_the_result_check():
    env = ToolUseEnv([simple_task()])
    _, _, _, _, info = play(env, ["[cd(folder='docs')]", "done"])[-1]
    result = info["turn_result"]
    assert result["state_match"] and not result["results_match"]
    assert result["error_type"] == "execution_response_mismatch"
    assert result["missing_results"] == ['{"file_content": "x\\ny"}'] and result["expected_results"] == 2
    assert result["state_attributes_matched"] == result["state_attributes"] == 2


def test_an_extra_state_change_fails_the_state_check_with_a_diff():
    env = ToolUseEnv([simple_task()])
    outcomes = play(
        env, ["[cd(folder='docs'), cat(file_name='a.txt'), touch(file_name='extra.txt')]", "done"]
    )
    result = outcomes[-1][4]["turn_result"]
    assert result["error_type"] == "instance_state_mismatch"
    assert any("extra.txt" in path for path in result["state_diff"]), result["state_diff"]
    # partial credit: the tree differs, long_context matches; both ground-truth results were produced
    assert (result["state_attributes_matched"], result["state_attributes"]) == (1, 2)
    assert result["expected_results"] == 2 and result["missing_results"] == []


def test_failed_turn_means_no_success_even_if_later_turns_pass():
    env = ToolUseEnv([simple_task()])
    outcomes = play(env, ["[cd(folder='docs')]", "done", "[mkdir(dir_name='out')]", "done"])
    _, reward, terminated, _, info = outcomes[-1]
    assert info["turn_result"]["passed"] is True
    assert terminated and info["success"] is False and reward == 0.0


def test_extra_read_calls_pass():
    env = ToolUseEnv([simple_task()])
    actions = [
        "[ls(), cd(folder='docs'), pwd(), cat(file_name='a.txt'), ls(a=True)]",
        "done",
        "[mkdir(dir_name='out'), ls()]",
        "done",
    ]
    assert play(env, actions)[-1][4]["success"] is True


def test_read_only_work_done_in_an_earlier_turn_counts_but_the_turn_still_needs_a_call():
    task = simple_task(
        turns=["Go into docs.", "Show me a.txt."],
        ground_truth=[["cd(folder='docs')"], ["cat(file_name='a.txt')"]],
    )
    early = ["[cd(folder='docs'), cat(file_name='a.txt')]", "done"]
    assert play(ToolUseEnv([task]), [*early, "[pwd()]", "done"])[-1][4]["success"] is True
    outcomes = play(ToolUseEnv([task]), [*early, "It was shown above."])
    assert outcomes[-1][4]["turn_result"]["error_type"] == "empty_turn_model_response"


def test_unchecked_turns_are_reported_and_do_not_fail_the_episode():
    task = simple_task(turns=["Rename the file.", "Call it b.txt; it is a.txt in docs."],
                       ground_truth=[[], ["cd(folder='docs')", "mv(source='a.txt', destination='b.txt')"]],
                       category="miss_param")  # fmt: skip
    env = ToolUseEnv([task])
    outcomes = play(
        env,
        ["Which name should it get?", "[cd(folder='docs'), mv(source='a.txt', destination='b.txt')]", "done"],
    )
    assert (
        outcomes[0][4]["turn_result"]["checked"] is False and outcomes[0][4]["turn_result"]["passed"] is True
    )
    assert outcomes[-1][4]["success"] is True


# ---------------------------------------------------------------------------------------------------------------
# Held-out functions


def held_out_task() -> Task:
    return simple_task(
        category="miss_func",
        turns=["Make a folder named 'out'.", ""],
        ground_truth=[[], ["mkdir(dir_name='out')"]],
        held_out={1: ["mkdir"]},
    )


def test_held_out_tools_are_unknown_until_their_turn_then_revealed():
    env = ToolUseEnv([held_out_task()])
    _, info = env.reset(seed=0)
    assert "mkdir" not in {tool["function"]["name"] for tool in info["tools"]}
    before = fs_state(env)
    _, _, _, _, info = env.step("[mkdir(dir_name='out')]")
    assert info["calls"][0]["error"] == "unknown_tool"
    assert fs_state(env) == before
    observation, _, _, _, info = env.step("I can't do that yet.")
    assert info["new_tools"] == ["mkdir"]
    assert REVEAL_MESSAGE in observation and '"name": "mkdir"' in observation
    assert "mkdir" in {tool["function"]["name"] for tool in info["tools"]}
    env.step("[mkdir(dir_name='out')]")
    assert env.step("done")[4]["success"] is True


# ---------------------------------------------------------------------------------------------------------------
# Step budget


def test_the_step_after_max_steps_per_turn_truncates_and_fails():
    env = ToolUseEnv([simple_task()], max_steps_per_turn=3)
    env.reset(seed=0)
    for _ in range(3):
        assert env.step("[pwd()]")[3] is False
    observation, reward, terminated, truncated, info = env.step("[pwd()]")
    assert truncated and not terminated and reward == 0.0 and info["success"] is False
    with pytest.raises(RuntimeError, match="reset"):
        env.step("[pwd()]")


def test_truncation_in_the_last_turn_is_scored_as_bfcl_does():
    env = ToolUseEnv([simple_task()], max_steps_per_turn=2)
    env.reset(seed=0)
    env.step("[cd(folder='docs'), cat(file_name='a.txt')]")
    env.step("done")
    env.step("[mkdir(dir_name='out')]")
    env.step("[pwd()]")
    _, reward, terminated, truncated, info = env.step("[pwd()]")
    assert truncated and info["success"] is True and reward == 1.0


def test_malformed_actions_count_against_the_step_budget():
    env = ToolUseEnv([simple_task()], max_steps_per_turn=2)
    env.reset(seed=0)
    env.step("[ls(")
    env.step("[ls(")
    assert env.step("[ls(")[3] is True


# ---------------------------------------------------------------------------------------------------------------
# Hostile and malformed actions: an error observation, nothing runs, the state is untouched


HOSTILE_ACTIONS = [
    "[__import__('os').system('touch /tmp/envtune_pwned')]",
    "[ls(a=__import__('os').system('touch /tmp/envtune_pwned'))]",
    "[_load_scenario(config={})]",
    "[__init__()]",
    '<tool_call>{"name": "__class__", "arguments": {}}</tool_call>',
    '<tool_call>{"name": "ls; import os", "arguments": {}}</tool_call>',
    "[mkdir(dir_name=1+1)]",
    "[touch(file_name=f'{1}')]",
    "[cd(folder=lambda: 1)]",
    "[" * 100_000 + "ls()" + "]" * 100_000,
    "[echo(content='" + "x" * 3_000_000 + "', file_name='a.txt')]",
    '<tool_call>{"name": "mkdir", "arguments": {"dir_name": "' + "[" * 5000 + '"}}</tool_call>',
    "[mkdir(dir_name=['" + "a', '" * 50 + "'])]",
    '<tool_call>{"name": "mkdir", "arguments": {"dir_name": "ok", "evil": true}}</tool_call>',
    "[cd(folder='docs', folder='x')]",
]


@pytest.mark.parametrize("action", HOSTILE_ACTIONS, ids=lambda text: text[:40])
def test_hostile_actions_get_an_error_observation_and_change_nothing(action, tmp_path):
    env = ToolUseEnv([simple_task()])
    env.reset(seed=0)
    before = fs_state(env)
    observation, reward, terminated, truncated, info = env.step(action)
    errors = [info["action_error"]] if "action_error" in info else [call["error"] for call in info["calls"]]
    assert errors and all(errors), info
    assert "rror" in observation
    assert fs_state(env) == before
    assert not (terminated or truncated)
    assert env.step("[cd(folder='docs'), cat(file_name='a.txt')]")[4]["calls"][1]["error"] is None
    import os

    assert not os.path.exists("/tmp/envtune_pwned")


def test_a_non_text_action_is_a_format_error_not_a_crash():
    env = ToolUseEnv([simple_task()])
    env.reset(seed=0)
    _, _, _, _, info = env.step(None)  # type: ignore[arg-type]
    assert info["action_error"]["category"] == "format"


# ---------------------------------------------------------------------------------------------------------------
# Snapshots, pickling, observations, rendering


def test_snapshot_restore_lets_a_group_start_from_one_state():
    env = ToolUseEnv([simple_task()])
    env.reset(seed=0)
    env.step("[cd(folder='docs'), cat(file_name='a.txt')]")
    snapshot = env.snapshot()
    env.step("[touch(file_name='wrong')]")
    assert env.step("done")[4]["turn_result"]["passed"] is False
    env.restore(snapshot)
    assert env.step("done")[4]["turn_result"]["passed"] is True
    env.restore(snapshot)  # reusable
    assert env.step("done")[4]["turn_result"]["passed"] is True


def test_env_pickles_mid_episode_and_continues_identically():
    env = ToolUseEnv([simple_task()])
    env.reset(seed=0)
    env.step("[cd(folder='docs')]")
    clone = pickle.loads(pickle.dumps(env))
    for action in ["[cat(file_name='a.txt')]", "done", "[mkdir(dir_name='out')]", "done"]:
        original, copied = env.step(action), clone.step(action)
        assert original[0] == copied[0] and original[4] == copied[4]


def test_long_observations_are_cut_with_a_note():
    env = ToolUseEnv([simple_task()], max_observation_length=120)
    env.reset(seed=0)
    observation, *_ = env.step("[echo(content='" + "z" * 500 + "')]")
    assert len(observation) <= 120 and "cut" in observation


def test_json_observation_format():
    env = ToolUseEnv([simple_task()], observation_format="json")
    env.reset(seed=0)
    observation, *_ = env.step("[cd(folder='docs'), pwd()]")
    assert json.loads(observation) == [
        {"name": "cd", "content": '{"current_working_directory": "docs"}'},
        {"name": "pwd", "content": '{"current_working_directory": "/home/docs"}'},
    ]


def test_ansi_render_shows_the_transcript():
    env = ToolUseEnv([simple_task()], render_mode="ansi")
    env.reset(seed=0)
    env.step("[pwd()]")
    text = env.render()
    assert "[user]" in text and "[assistant]" in text and "/home" in text


def test_constructor_errors_are_clear():
    with pytest.raises(ValueError, match="no bundled task set"):
        ToolUseEnv("nope")
    with pytest.raises(ValueError, match="unknown category"):
        ToolUseEnv("filesystem", category="hard")
    with pytest.raises(ValueError, match="unknown task_id"):
        ToolUseEnv("filesystem").reset(options={"task_id": "nope"})
    with pytest.raises(RuntimeError, match="reset"):
        ToolUseEnv("filesystem").step("[ls()]")


@pytest.mark.parametrize("argument", ["max_steps_per_turn", "max_observation_length"])
@pytest.mark.parametrize("value", [float("nan"), 1.5, 20.0, True, 0, -1, "20", None])
def test_step_and_length_bounds_must_be_positive_integers(argument, value):
    with pytest.raises(ValueError, match=re.escape(f"{argument} must be >= 1 and an integer, got {value!r}")):
        ToolUseEnv("filesystem", **{argument: value})


def test_category_filter_selects_tasks():
    env = gym.make("EnvTune/FileSystem-v0", category=["miss_func"])
    assert {task.category for task in env.unwrapped.tasks} == {"miss_func"}
    assert envtune_gym.ENV_IDS["EnvTune/FileSystem-v0"] == {"tasks": "filesystem"}


# ---------------------------------------------------------------------------------------------------------------
# BFCL's own tasks in a domain env


@pytest.mark.bfcl
def test_filesystem_env_runs_bfcl_tasks_and_their_split():
    pytest.importorskip("bfcl_eval", reason="needs BFCL's data: pip install --no-deps bfcl-eval==2026.3.23")
    env = gym.make("EnvTune/FileSystem-v0", task_source="bfcl")
    tasks = env.unwrapped.tasks
    assert len(tasks) == 52 and all(task.domains == ["GorillaFileSystem"] for task in tasks)
    train = gym.make(
        "EnvTune/FileSystem-v0", task_source="bfcl", split="train", category="base"
    ).unwrapped.tasks
    test = gym.make(
        "EnvTune/FileSystem-v0", task_source="bfcl", split="test", category="base"
    ).unwrapped.tasks
    assert train and test and not {t.id for t in train} & {t.id for t in test}
    assert len(train) + len(test) == 13
    for task in tasks:
        env.reset(options={"task_id": task.id})
        for action in oracle_actions(task):
            _, reward, terminated, truncated, info = env.step(action)
        assert terminated and info["success"] and reward == 1.0, task.id
    with pytest.raises(ValueError, match="split selects among BFCL's tasks"):
        ToolUseEnv("filesystem", split="train")


@pytest.mark.bfcl
def test_domain_envs_with_bfcl_tasks_have_the_expected_counts():
    pytest.importorskip("bfcl_eval", reason="needs BFCL's data: pip install --no-deps bfcl-eval==2026.3.23")
    counts = {"EnvTune/Trading-v0": 80, "EnvTune/Travel-v0": 52, "EnvTune/FileSystem-v0": 52}
    for env_id, expected in counts.items():
        assert len(gym.make(env_id, task_source="bfcl").unwrapped.tasks) == expected, env_id
    with pytest.raises(ValueError, match="BFCL has no task that involves only MessageAPI.*EnvTune/BFCL-v0"):
        gym.make("EnvTune/Messaging-v0", task_source="bfcl")


# ---------------------------------------------------------------------------------------------------------------
# info cannot corrupt the env; integer arguments; names as written


def tool_names(tools) -> list[str]:
    return [tool["function"]["name"] for tool in tools]


def test_info_tools_are_read_only_and_cannot_change_validation_or_another_env():
    env = ToolUseEnv([simple_task()])
    _, info = env.reset()
    names = tool_names(info["tools"])
    tail = info["tools"][names.index("tail")]["function"]
    for change in (
        lambda: tail["parameters"]["properties"]["lines"].__setitem__("type", "string"),
        lambda: tail["parameters"]["properties"].clear(),
        lambda: tail.__setitem__("name", "head"),
        lambda: info["tools"].pop(),
        lambda: info["tools"].append({"type": "function"}),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change()
    editable = thaw(info["tools"])  # a caller's own copy: change it at will
    editable.pop()
    editable[names.index("tail")]["function"]["parameters"]["properties"]["lines"]["type"] = "string"
    _, again = env.reset()
    _, other = ToolUseEnv([simple_task()]).reset()
    assert tool_names(again["tools"]) == tool_names(other["tools"]) == names and len(names) == 18
    assert again["tools"] == other["tools"] == env.tool_schemas() != editable
    _, _, _, _, info = env.step(
        "[cd(folder='docs'), tail(file_name='a.txt'), tail(file_name='a.txt', lines=1)]"
    )
    assert [(call["error"], call["result"]) for call in info["calls"]][1:] == [
        (None, '{"last_lines": "x\\ny"}'),
        (None, '{"last_lines": "y"}'),
    ]


def test_an_integral_float_for_an_integer_is_an_invalid_argument_and_the_episode_goes_on():
    env = ToolUseEnv([simple_task()])
    env.reset()
    env.step("[cd(folder='docs')]")
    observation, _, terminated, truncated, info = env.step("[tail(file_name='a.txt', lines=2.0)]")
    assert info["calls"][0]["error"] == "invalid_arguments" and not (terminated or truncated)
    assert "write the integer 2" in observation and "turn_result" not in info
    _, _, _, _, info = env.step("[tail(file_name='a.txt', lines=2)]")
    assert info["calls"][0]["error"] is None


@pytest.mark.parametrize(
    ("action", "errors"),
    [
        ("[ｌｓ()]", [("ｌｓ", "unknown_tool")]),  # not a reply: the turn goes on
        ("ｌｓ()", [("ｌｓ", "unknown_tool")]),
        ("[cd(folder='docs'), ｌｓ()]", [("cd", None), ("ｌｓ", "unknown_tool")]),  # ls does not run
        ("[ls(ａ=True)]", [("ls", "invalid_arguments")]),  # not a=True
        ('<tool_call>{"name": "ｌｓ", "arguments": {}}</tool_call>', [("ｌｓ", "unknown_tool")]),
    ],
)
def test_look_alike_names_are_errors_never_a_reply_or_another_tool(action, errors):
    env = ToolUseEnv([simple_task()])
    env.reset()
    observation, _, terminated, truncated, info = env.step(action)
    assert [(call["name"], call["error"]) for call in info["calls"]] == errors
    assert "turn_result" not in info and info["turn"] == 0 and not (terminated or truncated)
    assert "notes.md" not in observation and "a.txt" not in observation  # no listing: ls never ran
    if errors[-1][1] == "invalid_arguments":
        assert "unexpected argument(s) 'ａ'" in json.loads(info["calls"][-1]["result"])["error"]
