"""Ground truth in one place: parsed, bound and validated once per task, and read the same by the shadow, the
oracle and the SB3 catalogue."""

from __future__ import annotations

import copy
import gc
import pickle
import re
import weakref

import pytest

import envtune_gym.tasks.ground_truth as ground_truth
from envtune_gym.actions import parse_action
from envtune_gym.envs import ToolUseEnv
from envtune_gym.envs.shadow import Shadow
from envtune_gym.integrations.sb3.catalogue import ground_truth_entries
from envtune_gym.tasks import Task
from envtune_gym.tasks.bfcl import BFCLDataNotFound, load_bfcl_tasks
from envtune_gym.tasks.bundled import bundled_task_sets, load_bundled
from envtune_gym.tasks.ground_truth import bind_call, ground_truth_plan, task_tool_specs
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, oracle_actions, render_calls
from envtune_gym.tools import ToolCallError

BUNDLED = [task for name in bundled_task_sets() for task in load_bundled(name)]
_NO_DEFAULT = object()


def _bfcl_tasks() -> tuple[Task, ...]:
    try:
        return load_bfcl_tasks()
    except BFCLDataNotFound:
        return ()


def _task(*turns: list[str], domains: tuple[str, ...] = ("GorillaFileSystem",)) -> Task:
    return Task(id="gt_demo", category="base", domains=list(domains), turns=[f"turn {i}" for i in range(len(turns))],
                ground_truth=[list(calls) for calls in turns])  # fmt: skip


# ----------------------------------------------------------------------------------------------------------------
# Binding and validation


def test_positional_arguments_bind_in_the_tools_parameter_order():
    task = _task(["tail('a.txt', 5)", "mv('a.txt', destination='b.txt')"], [], ["[cp('x', 'y'), pwd()]"])
    plan = ground_truth_plan(task)
    specs = task_tool_specs(task)
    assert specs["tail"].param_order[:2] == ("file_name", "lines")
    assert plan.calls == (
        (("tail", {"file_name": "a.txt", "lines": 5}), ("mv", {"source": "a.txt", "destination": "b.txt"})),
        (),
        (("cp", {"source": "x", "destination": "y"}), ("pwd", {})),
    )
    assert plan.flat == plan.calls[0] + plan.calls[2]
    assert plan.bounds == ((0, 2), (2, 2), (2, 4))
    assert plan.num_checked_turns == 2
    # The calls as written keep their positional arguments, for BFCL-style rendering.
    assert [call.args for call in plan.written[0]] == [("a.txt", 5), ("a.txt",)]


def test_bind_call_checks_the_schema_like_the_env():
    task = _task([])
    assert bind_call(task, parse_action("[tail('a.txt', lines=2)]").calls[0]) == {
        "file_name": "a.txt",
        "lines": 2,
    }
    env = ToolUseEnv([task])
    env.reset()
    _, _, _, _, info = env.step("[tail('a.txt', lines='two')]")
    with pytest.raises(ToolCallError, match="lines") as caught:
        bind_call(task, parse_action("[tail('a.txt', lines='two')]").calls[0])
    assert str(caught.value) in info["calls"][0]["result"]  # the very message an agent gets


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("tail('a.txt', lines='two')", "must be of type integer"),
        ("no_such_tool()", "Unknown tool 'no_such_tool'"),
        ("tail('a.txt', 1, 2, 3)", "positional"),
        ("tail('a.txt', file_name='b.txt')", "both by position and by keyword"),
        ("tail('a.txt'", "Could not parse"),
        ("__import__('os').system('id')", "plain tool names"),
    ],
)
def test_a_bad_call_names_the_task_the_turn_and_the_call(source, why):
    task = _task(["pwd()"], [source])
    message = re.escape(f"task gt_demo turn 1: bad ground-truth call {source!r}: ") + ".*" + re.escape(why)
    with pytest.raises(ValueError, match=message):
        ground_truth_plan(task)
    # Every reader reports it the same way.
    with pytest.raises(ValueError, match="task gt_demo turn 1: bad ground-truth call"):
        list(oracle_actions(task))
    with pytest.raises(ValueError, match="task gt_demo turn 1: bad ground-truth call"):
        ground_truth_entries(task)
    with pytest.raises(ValueError, match="task gt_demo turn 1: bad ground-truth call"):
        ToolUseEnv([task]).reset()


def test_render_calls_refuses_a_call_the_tools_refuse():
    task = _task([])
    call = parse_action("[tail('a.txt', 3)]").calls[0]
    assert render_calls([call], task, "python") == "[tail('a.txt', 3)]"
    assert render_calls([call], task, "hermes") == (
        '<tool_call>\n{"name": "tail", "arguments": {"file_name": "a.txt", "lines": 3}}\n</tool_call>'
    )
    with pytest.raises(ValueError, match="task gt_demo: .*Unknown tool 'nope'"):
        render_calls(parse_action("[nope(1)]").calls, task, "json")


# ----------------------------------------------------------------------------------------------------------------
# Once per task


def test_ground_truth_is_parsed_once_per_task(monkeypatch):
    task = BUNDLED[0]
    sources = sum(len(calls) for calls in task.ground_truth)
    task = task.model_copy()  # a task object no earlier test planned
    parses = []
    real = ground_truth.parse_python_calls
    monkeypatch.setattr(ground_truth, "parse_python_calls", lambda text: parses.append(text) or real(text))
    plan = ground_truth_plan(task)
    env = ToolUseEnv([task])
    for seed in range(3):
        env.reset(seed=seed)
        for action in oracle_actions(task):
            env.step(action)
        ground_truth_entries(task)
        list(oracle_actions(task, "hermes", one_call_per_step=True))
    assert len(parses) == sources
    assert ground_truth_plan(task) is plan
    assert env.unwrapped._episode.shadow.plan is plan  # white-box: the env's shadow holds the same plan


def test_an_equal_task_gets_an_equal_plan_and_a_dead_one_frees_its_plan():
    task = BUNDLED[1].model_copy()
    other = Task.model_validate(task.model_dump())
    plan = ground_truth_plan(task)
    assert ground_truth_plan(other) is not plan and ground_truth_plan(other) == plan
    freed = weakref.ref(plan)
    del task, plan
    gc.collect()
    assert freed() is None


def test_a_plan_is_shared_by_snapshots_and_survives_pickling():
    task = BUNDLED[0]
    plan = ground_truth_plan(task)
    assert copy.deepcopy(plan) is plan  # read-only: an env snapshot shares it
    env = ToolUseEnv([task])
    env.reset()
    assert env.snapshot().shadow.plan is plan
    assert pickle.loads(pickle.dumps(plan)) == plan


# ----------------------------------------------------------------------------------------------------------------
# The readers agree with the plan


def _agreement_tasks() -> list[Task]:
    return BUNDLED + list(_bfcl_tasks())


def test_the_oracle_replays_the_plan_in_every_style():
    for task in _agreement_tasks():
        plan = ground_truth_plan(task)
        for style in ("python", "hermes", "json"):
            for one_call_per_step in (False, True):
                turns: list[list[tuple[str, dict]]] = [[]]
                for action in oracle_actions(task, style, one_call_per_step=one_call_per_step):
                    parsed = parse_action(action)
                    assert parsed.error is None, (task.id, action)
                    if parsed.is_reply:
                        assert action == (TURN_DONE if turns[-1] else TURN_DECLINED)
                        turns.append([])
                    else:
                        assert len(parsed.calls) == 1 or not one_call_per_step
                        turns[-1].extend((call.name, bind_call(task, call)) for call in parsed.calls)
                got = tuple(tuple(calls) for calls in turns[:-1])
                assert repr(got) == repr(plan.calls), (task.id, style)  # repr: 1 and 1.0 differ


def test_the_catalogue_entries_are_the_plans_calls_in_canonical_form():
    for task in _agreement_tasks():
        specs = task_tool_specs(task)
        entries = ground_truth_entries(task)
        plan = ground_truth_plan(task)
        assert [entry.name for entry in entries] == [name for name, _ in plan.flat]
        for entry, (name, bound) in zip(entries, plan.flat, strict=True):
            properties = specs[name].parameters["properties"]
            assert entry.source == "oracle" and set(entry.arguments) <= set(bound)
            assert list(entry.arguments) == [param for param in properties if param in entry.arguments]
            for param, value in bound.items():
                if param in entry.arguments:
                    assert entry.arguments[param] == value, (task.id, name, param)
                else:  # dropped: the parameter's default, given explicitly
                    assert value == properties[param].get("default", _NO_DEFAULT), (task.id, name, param)
        assert [e.text for t in range(task.num_turns) for e in ground_truth_entries(task, [t])] == [
            e.text for e in entries
        ]


@pytest.mark.parametrize("task", BUNDLED, ids=lambda task: task.id)
def test_the_shadow_replays_what_the_oracle_runs(task):
    env = ToolUseEnv([task])
    env.reset()
    agent_results: list[list[str]] = [[]]
    for action in oracle_actions(task):
        _, _, terminated, _, info = env.step(action)
        if "turn_result" in info:
            assert info["turn_result"]["passed"], (task.id, info["turn_result"])
            agent_results.append([])
        agent_results[-1].extend(call["result"] for call in info["calls"])
    assert terminated and info["success"]
    # A shadow out of sync from the start runs every turn of the plan itself: the same results.
    shadow = Shadow(task, ground_truth_plan(task), pickle.dumps(task.initial_config))
    shadow.observe("not_the_ground_truth", {}, failed=False)
    for turn in range(task.num_turns):
        expected, in_sync = shadow.expected_results(turn, [])
        assert not in_sync and expected == agent_results[turn], (task.id, turn)
