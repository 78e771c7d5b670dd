"""Episodes that start at a later turn (``reset(options={"start_turn": k})``) and end early (``end_turn``)."""

from __future__ import annotations

import copy
import json
import pickle

import gymnasium as gym
import pytest

from envtune_gym.domains import registered_domains
from envtune_gym.envs import ToolUseEnv
from envtune_gym.envs.history import history_as_text
from envtune_gym.envs.tool_env import REVEAL_MESSAGE
from envtune_gym.info import ALWAYS_KEYS, EVENT_KEYS
from envtune_gym.tasks import Task
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.ground_truth import ground_truth_plan
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, oracle_actions

TASKS = [task for spec in registered_domains() if spec.task_set for task in load_bundled(spec.task_set)]
#: Tasks of every bundled set and category, a few each (the oracle runs the rest in tests/eval).
SAMPLED = [task for task in TASKS if int(task.id.rsplit("_", 1)[1]) < 3]


def play_oracle_turns(env: ToolUseEnv, task: Task, turns: int) -> list[dict]:
    """Play the oracle's first ``turns`` turns on a fresh episode; returns each call step's info."""
    env.reset(options={"task": task})
    infos, done = [], 0
    for action in oracle_actions(task):
        if done == turns:
            break
        _, _, _, _, info = env.step(action)
        if action in (TURN_DONE, TURN_DECLINED):
            done += 1
        else:
            infos.append(info)
    return infos


def states(env: ToolUseEnv) -> dict[str, dict]:
    return {name: copy.deepcopy(domain.state()) for name, domain in env.domains.items()}


@pytest.mark.parametrize("task", SAMPLED, ids=lambda task: task.id)
def test_the_state_at_turn_k_is_the_ground_truth_replays(task):
    played, started = ToolUseEnv([task]), ToolUseEnv([task])
    for turn in range(task.num_turns):
        play_oracle_turns(played, task, turn)
        observation, info = started.reset(options={"task_id": task.id, "start_turn": turn})
        assert states(started) == states(played)
        assert info["turn"] == turn and started.transcript[-1] == ("user", observation)
        assert info["tools"] == played.tool_schemas()
        # The oracle's turn passes from there, and so does the rest of the episode.
        actions = list(oracle_actions(task))
        ends = [index for index, action in enumerate(actions) if action in (TURN_DONE, TURN_DECLINED)]
        for action in actions[ends[turn - 1] + 1 if turn else 0 :]:
            _, _, terminated, _, info = started.step(action)
        assert terminated and info["success"]


def test_the_shadow_stays_in_sync_so_the_ground_truth_runs_once():
    task = next(task for task in TASKS if len(task.checked_turns) >= 3)
    env = ToolUseEnv([task])
    env.reset(options={"task_id": task.id, "start_turn": task.checked_turns[2]})
    shadow = env._episode.shadow  # white-box: the replay ran on the agent's domains only
    assert shadow.in_sync and shadow.domains is None
    # A wrong call then: the shadow catches up with the earlier turns' ground truth and checks against it.
    env.step("[touch(file_name='stray.txt')]" if "GorillaFileSystem" in task.domains else "[nonexistent()]")
    _, _, _, _, info = env.step("Done.")
    assert not info["turn_result"]["passed"]
    assert shadow.domains is not None and not shadow.in_sync


FILES = {"GorillaFileSystem": {"root": {"alex": {"type": "directory", "contents": {
    "a.txt": {"type": "file", "content": "alpha"}, "b.txt": {"type": "file", "content": "beta"}}}}}}  # fmt: skip


def file_task(first_turn: str) -> Task:
    return Task(id="demo", category="base", domains=["GorillaFileSystem"], initial_config=FILES,
                turns=["Read a.txt.", "Read a.txt again."],
                ground_truth=[[first_turn], ["cat(file_name='a.txt')"]])  # fmt: skip


@pytest.mark.parametrize(("first_turn", "passes"), [("cat(file_name='a.txt')", True), ("ls()", False)])
def test_results_of_earlier_ground_truth_turns_count(first_turn, passes):
    # Turn 1 expects cat's result; the agent only calls pwd: it passes only if turn 0's replay produced that result.
    env = ToolUseEnv([file_task(first_turn)])
    env.reset(options={"task_id": "demo", "start_turn": 1})
    env.step("[pwd()]")
    _, _, terminated, _, info = env.step("Done.")
    assert terminated and info["turn_result"]["state_match"]
    assert info["turn_result"]["results_match"] is passes and info["success"] is passes
    if not passes:
        assert info["turn_result"]["error_type"] == "execution_response_mismatch"


def test_held_out_tools_revealed_by_the_start_are_available():
    task = next(task for task in TASKS if task.held_out)
    [(reveal, names)] = task.held_out.items()
    env = ToolUseEnv([task])
    _, before = env.reset(options={"task_id": task.id, "start_turn": reveal - 1})
    observation, at = env.reset(options={"task_id": task.id, "start_turn": reveal})
    assert not set(names) & {tool["function"]["name"] for tool in before["tools"]}
    assert set(names) <= {tool["function"]["name"] for tool in at["tools"]}
    assert at["new_tools"] == sorted(names) and REVEAL_MESSAGE in observation
    if reveal + 1 < task.num_turns:
        observation, after = env.reset(options={"task_id": task.id, "start_turn": reveal + 1})
        assert set(names) <= {tool["function"]["name"] for tool in after["tools"]}
        assert after["new_tools"] == [] and REVEAL_MESSAGE not in observation
        # The reveal turn's user message, with the schemas, is in the history.
        assert REVEAL_MESSAGE in after["history"][_user_indices(after["history"])[reveal]]["content"]


def _user_indices(history: list[dict]) -> list[int]:
    return [index for index, message in enumerate(history) if message["role"] == "user"]


def test_history_holds_the_earlier_turns_as_chat_messages():
    task = next(task for task in TASKS if task.category == "miss_param" and task.num_turns >= 3)
    start = task.num_turns - 1
    env = ToolUseEnv([task])
    calls = play_oracle_turns(env, task, start)
    observation, info = env.reset(options={"task_id": task.id, "start_turn": start})
    history = info["history"]
    assert {"role": "assistant", "content": TURN_DECLINED} in history  # the turn that lacked a detail
    plan = ground_truth_plan(task)
    users = _user_indices(history)
    assert [history[index]["content"] for index in users] == task.turns[:start]
    results = iter(call for step in calls for call in step["calls"])
    for turn, index in enumerate(users):
        end = users[turn + 1] if turn + 1 < len(users) else len(history)
        messages = history[index + 1 : end]
        if not plan.calls[turn]:
            assert messages == [{"role": "assistant", "content": TURN_DECLINED}]
            continue
        call_message, *tool_messages, reply = messages
        assert call_message["role"] == "assistant" and call_message["content"] is None
        named = [
            (c["function"]["name"], json.loads(c["function"]["arguments"]))
            for c in call_message["tool_calls"]
        ]
        assert named == [(name, arguments) for name, arguments in plan.calls[turn]]
        for call, message in zip(call_message["tool_calls"], tool_messages, strict=True):
            expected = next(results)
            assert message == {"role": "tool", "tool_call_id": call["id"], "name": expected["name"],
                               "content": expected["result"]}  # fmt: skip
        assert reply == {"role": "assistant", "content": TURN_DONE}
    # Kept in the transcript too, as an agent would have played it; the observation is turn k's message.
    transcript = env.transcript
    assert [text for role, text in transcript if role == "user"] == [*task.turns[:start], observation]
    assert observation == task.turns[start]
    # A text-only model's view: tool calls as Hermes blocks, their results as the env's observation.
    text = history_as_text(history)
    assert {message["role"] for message in text} == {"user", "assistant"}
    assert [message["content"] for message in text if message["content"].startswith("<tool_call>")] == [
        entry for role, entry in transcript if role == "assistant" and entry.startswith("<tool_call>")
    ]


def test_history_is_fresh_json_data_and_only_on_later_starts():
    task = TASKS[0]
    env = ToolUseEnv([task])
    _, info = env.reset(options={"task_id": task.id, "start_turn": 1})
    assert set(info) - set(ALWAYS_KEYS) == {"history"} <= set(EVENT_KEYS)
    json.dumps(info["history"])
    kept = copy.deepcopy(info["history"])
    info["history"][0]["content"] = "changed"
    info["history"].clear()
    assert env.reset(options={"task_id": task.id, "start_turn": 1})[1]["history"] == kept
    _, first = env.reset(options={"task_id": task.id, "start_turn": 0})
    assert "history" not in first


def test_start_turn_zero_is_the_plain_reset():
    task = TASKS[5]
    env = ToolUseEnv([task])
    plain = env.reset(options={"task_id": task.id}), env.transcript, states(env)
    zero = env.reset(options={"task_id": task.id, "start_turn": 0}), env.transcript, states(env)
    assert zero == plain


def test_end_turn_ends_the_episode_after_that_turns_verdict():
    task = next(task for task in TASKS if len(task.checked_turns) >= 2)
    turn = task.checked_turns[1]
    env = ToolUseEnv([task])
    _, info = env.reset(options={"task_id": task.id, "start_turn": turn, "end_turn": turn})
    assert info["num_checked_turns"] == 1
    actions = list(oracle_actions(task))
    ends = [index for index, action in enumerate(actions) if action in (TURN_DONE, TURN_DECLINED)]
    for action in actions[ends[turn - 1] + 1 : ends[turn] + 1]:
        _, reward, terminated, truncated, info = env.step(action)
    assert terminated and not truncated and reward == 1.0 and info["success"]
    assert info["turn"] == turn and info["turn_result"]["turn"] == turn
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step("[pwd()]")


def test_a_failed_turn_fails_only_its_episode():
    env = ToolUseEnv([file_task("cat(file_name='a.txt')")], max_steps_per_turn=1)
    env.reset(options={"task_id": "demo", "start_turn": 0, "end_turn": 0})
    _, reward, terminated, _, info = env.step("Nothing to do.")
    assert terminated and reward == 0.0 and not info["success"]
    assert info["turn_result"]["error_type"] == "empty_turn_model_response"
    # Truncated in its last turn, the turn is scored as usual (as BFCL scores a forced quit in the last turn).
    env.reset(options={"task_id": "demo", "start_turn": 1})
    env.step("[cat(file_name='a.txt')]")
    _, _, terminated, truncated, info = env.step("[cat(file_name='a.txt')]")
    assert truncated and info["success"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start_turn": -1}, r"start_turn must be an integer in 0\.\.1 \(task demo has 2 turns\), got -1"),
        ({"start_turn": 2}, "start_turn must be an integer in 0..1"),
        ({"start_turn": True}, "got True"),
        ({"start_turn": 1.0}, "got 1.0"),
        ({"start_turn": "1"}, "got '1'"),
        ({"end_turn": 5}, "end_turn must be an integer in 0..1"),
        ({"start_turn": 1, "end_turn": 0}, r"end_turn \(0\) must not come before start_turn \(1\)"),
    ],
)
def test_bad_turns_are_value_errors(options, message):
    env = ToolUseEnv([file_task("ls()")])
    with pytest.raises(ValueError, match=message):
        env.reset(options={"task_id": "demo", **options})


def test_a_task_passed_in_options_starts_late_too_and_snapshots_keep_the_end():
    task = file_task("cat(file_name='a.txt')")
    env = ToolUseEnv([file_task("ls()")])
    env.reset(options={"task": task, "start_turn": 1, "end_turn": 1})
    restored = pickle.loads(pickle.dumps(env))
    snapshot = env.snapshot()
    for target in (env, restored):
        target.step("[cat(file_name='a.txt')]")
        assert target.step("Done.")[4]["success"]
    env.restore(snapshot)
    assert env.step("Done.")[2]  # the end turn survives a snapshot: this reply ends the episode


def test_wrappers_pass_the_options_and_the_history_through():
    env = gym.make("EnvTune/FileSystem-v0")
    _, info = env.reset(options={"task_id": "filesystem_base_0", "start_turn": 1})
    assert info["turn"] == 1 and info["history"][0]["role"] == "user"
