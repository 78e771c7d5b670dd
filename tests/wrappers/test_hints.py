"""HintAugmentation: a hint for each failure kind, levels, the opt-in ground-truth guard, and no leaks."""

from __future__ import annotations

import functools
import json

import gymnasium as gym
import pytest

from envtune_gym.actions import parse_python_calls
from envtune_gym.agents.oracle import TURN_DONE
from envtune_gym.domains import registered_domains
from envtune_gym.envs import ToolUseEnv
from envtune_gym.tasks import Task
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.wrappers import HintAugmentation
from envtune_gym.wrappers.hints import HINT_PREFIX, NO_CALL_GUARD

BUNDLED = [task for spec in registered_domains() if spec.task_set for task in load_bundled(spec.task_set)]


def hinted(env_id: str = "EnvTune/FileSystem-v0", task_id: str | None = None, **kwargs) -> HintAugmentation:
    env = HintAugmentation(gym.make(env_id), **kwargs)
    env.reset(seed=0, options={"task_id": task_id} if task_id else None)
    return env


def hint_of(env: HintAugmentation, action: str) -> str:
    observation, _, _, _, info = env.step(action)
    if info["hint"]:
        assert observation.endswith(HINT_PREFIX + info["hint"])
    return info["hint"]


def test_unknown_tool_names_the_closest_tools():
    assert hint_of(hinted(level="brief"), "[lss()]") == "Did you mean ls(a: boolean = False)?"
    full = hint_of(hinted(), "[mkdirr(dir_name='x')]")
    assert "mkdir(dir_name: string)" in full and "Create a new directory" in full
    assert hint_of(hinted(), "[zzzzzz()]").startswith("Only these tools exist now: pwd, ls, cd")


@pytest.mark.parametrize("action", ["[mkdir()]", "[mkdir(name='x')]", "[mkdir(dir_name=3)]"])
def test_missing_unexpected_and_mistyped_arguments_get_the_signature(action):
    assert hint_of(hinted(level="brief"), action) == "Call it as mkdir(dir_name: string)."
    full = hint_of(hinted(), action)
    assert full.startswith("mkdir(dir_name: string)") and "- dir_name (string, required):" in full


def test_enum_values_are_listed_in_full_hints():
    full = hint_of(hinted(), "[wc(file_name='x', mode='bytes')]")
    assert "- mode (string, default 'l', one of ['l', 'w', 'c'])" in full


def test_a_missing_precondition_points_to_the_tool_that_provides_it():
    env = hinted("EnvTune/Trading-v0", task_id="trading_base_0")
    env.unwrapped.domains["TradingBot"].authenticated = False  # white-box: start logged out
    hint = hint_of(env, "[get_account_info()]")
    assert "trading_login(username: string, password: string)" in hint


def test_a_name_not_found_is_answered_with_what_is_there():
    env = hinted(level="full")
    observation, _, _, _, info = env.step("[cd(folder='no_such_dir')]")
    assert info["calls"][0]["error"] == "tool_error"
    listing = env.unwrapped.domains["GorillaFileSystem"].ls()["current_directory_content"]
    assert listing and all(name in observation for name in listing)  # the env's message lists them
    assert info["hint"] == "To see what exists, call ls(a: boolean = False)."
    messaging = hinted("EnvTune/Messaging-v0", task_id="messaging_base_0", level="brief")
    # the message names the tool that would create the user: the hint gives its signature
    assert (
        hint_of(messaging, "[get_user_id(user='Nobody Atall')]")
        == "The error points to add_contact(user_name: string)."
    )


def test_malformed_actions_get_the_accepted_formats():
    hint = hint_of(hinted(), "[mkdir(dir_name=1+1)]")
    assert "<tool_call>" in hint and "literal values" in hint
    assert "Split the work" in hint_of(hinted(), "[" + "pwd(), " * 70 + "]")


def test_level_off_adds_nothing_and_info_hint_is_always_present():
    env = HintAugmentation(gym.make("EnvTune/FileSystem-v0"), level="off")
    _, info = env.reset(seed=0)
    assert info["hint"] == ""
    observation, _, _, _, info = env.step("[lss()]")
    assert info["hint"] == "" and HINT_PREFIX not in observation
    assert hint_of(hinted(), "[pwd()]") == ""  # no failure, no hint
    with pytest.raises(ValueError, match="level must be one of"):
        HintAugmentation(gym.make("EnvTune/FileSystem-v0"), level="loud")


def test_the_ground_truth_aware_guard_is_opt_in_and_labelled():
    task = Task(
        id="ask_first", category="miss_param", domains=["GorillaFileSystem"],
        initial_config={"GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": {}}}}},
        turns=["Make a folder.", "Call it 'notes'."], ground_truth=[[], ["mkdir(dir_name='notes')"]],
    )  # fmt: skip
    for aware in (False, True):
        env = HintAugmentation(ToolUseEnv([task]), ground_truth_aware=aware)
        env.reset(seed=0)
        hint = hint_of(env, "[mkdir(dir_name='folder')]")
        assert (NO_CALL_GUARD in hint) is aware and ("[ground-truth-aware]" in hint) is aware
        env.step(TURN_DONE)
        assert NO_CALL_GUARD not in hint_of(env, "[mkdir(dir_name='notes')]")


def ground_truth_values(task: Task) -> set[str]:
    calls = [call for turn in task.ground_truth for text in turn for call in parse_python_calls(text)]
    return {
        v for call in calls for v in [*call.args, *call.kwargs.values()] if isinstance(v, str) and len(v) >= 4
    }


@functools.cache
def hints_on_wrong_calls(task_id: str) -> tuple[tuple[str, str], ...]:
    """(hint, schemas shown) for each ground-truth call made with every string argument wrong, then right."""
    env = HintAugmentation(ToolUseEnv(BUNDLED, max_steps_per_turn=100), level="full")
    env.reset(options={"task_id": task_id})
    task = env.unwrapped.task
    seen = []
    for calls in task.ground_truth:
        for text in calls:
            call = parse_python_calls(text)[0]
            wrong = {
                key: (value + "_zz" if isinstance(value, str) else value)
                for key, value in call.kwargs.items()
            }
            for action in (
                f"<tool_call>{json.dumps({'name': call.name, 'arguments': wrong})}</tool_call>",
                f"[{text}]",
            ):
                _, _, _, _, info = env.step(action)
                seen.append((info["hint"], json.dumps(info["tools"])))
        env.step(TURN_DONE)
    return tuple(seen)


@pytest.mark.parametrize("task", BUNDLED, ids=lambda task: task.id)
def test_hints_never_leak_a_ground_truth_value_that_the_schemas_do_not_already_show(task):
    secrets = ground_truth_values(task)
    for hint, schemas in hints_on_wrong_calls(task.id):
        for secret in secrets:
            assert secret not in hint or secret in schemas, (secret, hint)


def test_the_leak_check_sees_many_hints():
    hints = [hint for task in BUNDLED for hint, _ in hints_on_wrong_calls(task.id) if hint]
    assert len(hints) > 100, len(hints)
