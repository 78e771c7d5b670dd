"""Bounded time and memory whatever the action: shared file-system trees, huge results, many of them."""

from __future__ import annotations

import pickle
import tracemalloc

import gymnasium as gym
import pytest

import envtune_gym  # noqa: F401
from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.envs import checker
from envtune_gym.envs.checker import KeptResults, cut_text, digest, missing_results


def _doubling_action(pairs: int, name_length: int = 1) -> str:
    """``cp`` a directory then ``mv`` the copy into it, ``pairs`` times: the logical tree doubles each time."""
    top = "a" * name_length
    calls = [f"mkdir(dir_name='{top}')", f"cd(folder='{top}')", "touch(file_name='f')", "cd(folder='..')"]
    for index in range(pairs):
        copy = f"{index}".ljust(name_length, "x")
        calls += [f"cp(source='{top}', destination='{copy}')", f"mv(source='{copy}', destination='{top}')"]
    return "[" + ", ".join(calls) + "]"


def _env(**kwargs):
    env = gym.make("EnvTune/FileSystem-v0", **kwargs).unwrapped
    env.reset(options={"task_id": "filesystem_base_0"})
    return env


def test_the_turn_check_does_not_expand_shared_subtrees(monkeypatch):
    env = _env()
    _, _, _, _, info = env.step(_doubling_action(16))  # 2**16 logical copies of the file
    assert all(call["error"] is None for call in info["calls"])
    visits = 0
    real = checker._one_level

    def counting(value):
        nonlocal visits
        visits += 1
        return real(value)

    monkeypatch.setattr(checker, "_one_level", counting)
    _, _, _, _, info = env.step(
        "Done."
    )  # ends the turn: the checker diffs the state against the ground truth
    diff = info["turn_result"]["state_diff"]
    assert not info["turn_result"]["state_match"] and diff
    assert visits < 200  # the walk goes only where the states differ, never through the 65,536 copies
    for entry in diff.values():
        assert all(len(repr(value)) <= 220 for value in entry.values())


def test_a_long_diff_is_cut_with_a_note():
    env = _env()
    names = ", ".join(f"touch(file_name='new{index}')" for index in range(30))
    env.step(f"[{names}]")
    _, _, _, _, info = env.step("Done.")
    diff = info["turn_result"]["state_diff"]
    assert len(diff) == checker._MAX_DIFF_ENTRIES + 1
    assert diff["..."] == {"note": f"more differences than the {checker._MAX_DIFF_ENTRIES} shown"}


def test_results_are_cut_at_the_result_limit_everywhere_they_go():
    env = _env(max_result_length=5_000)
    env.step(_doubling_action(8, name_length=60))
    observation, _, _, _, info = env.step("[cd(folder='" + "a" * 60 + "'), find()]")
    result = info["calls"][1]["result"]
    assert len(result) == 5_000 and result.endswith("characters cut: result limit 5000]")
    assert result.startswith('{"matches": ["./')
    assert result in observation
    assert env._episode.agent_results[-1] == result


def test_many_large_results_keep_the_process_small():
    env = _env()
    env.step(_doubling_action(8, name_length=240))  # each find() below would return ~0.7 MB of paths
    action = "[" + ", ".join(["find()"] * 64) + "]"
    tracemalloc.start()
    try:
        for _ in range(12):
            _, _, _, _, info = env.step(action)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(len(call["result"]) <= env.max_result_length for call in info["calls"])
    kept = env._episode.agent_results
    assert kept.chars <= env.max_kept_result_chars and any(type(item) is bytes for item in kept)
    assert current < 100 * 2**20 and peak < 150 * 2**20, (current, peak)


def test_a_find_over_a_huge_shared_tree_stops_its_walk():
    """18 doublings make 262,144 logical copies: each find gives up after a bounded walk, with an actionable error."""
    env = _env()
    env.step(_doubling_action(18))
    _, _, _, _, info = env.step("[cd(folder='a'), " + ", ".join(["find()"] * 63) + "]")
    finds = info["calls"][1:]
    assert len(finds) == 63 and all(call["error"] == "tool_error" for call in finds)
    assert "too many entries" in finds[0]["result"] and "search from a deeper directory" in finds[0]["result"]


@pytest.mark.parametrize("budget", [16_777_216, 1])
def test_digested_results_still_pass_the_results_check(budget):
    """With no room for text every result is kept as a digest; the verdicts do not change.

    An extra ``pwd()`` first puts the agent out of step with the ground truth, so the checker runs the ground
    truth on its shadow and compares results (in step, it knows they are the ground truth's own).
    """
    env = gym.make("EnvTune/FileSystem-v0", max_kept_result_chars=budget).unwrapped
    for task_id in ["filesystem_base_0", "filesystem_base_3", "filesystem_long_context_0"]:
        env.reset(options={"task_id": task_id})
        env.step("[pwd()]")
        for action in oracle_actions(env._episode.task):
            _, reward, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        assert reward == 1.0, task_id
        assert (budget == 1) == all(type(item) is bytes for item in env._episode.agent_results)


def test_kept_results_compare_as_texts_and_pickle():
    kept = KeptResults(budget=6)
    for text in ("abc", "abc", "long text", "abc"):
        kept.append(text)
    assert [type(item) for item in kept] == [str, str, bytes, bytes]
    assert missing_results(["abc", "abc", "abc", "long text"], kept) == []
    assert missing_results(["abc"] * 4, kept) == ["abc"]
    assert missing_results(["other"], kept) == ["other"]
    again = pickle.loads(pickle.dumps(kept))
    assert list(again) == list(kept) and again.chars == kept.chars and again.budget == 6
    assert digest("x") == digest("x") != digest("y") and len(digest("x" * 10_000)) == 20


@pytest.mark.parametrize("limit", [1, 10, 59, 60, 1000])
def test_cut_text_never_exceeds_its_limit(limit):
    text = "x" * 500
    cut = cut_text(text, limit, "result")
    assert len(cut) <= limit
    if limit >= len(text):
        assert cut == text
    elif limit >= 60:
        assert cut.startswith("x") and cut.endswith(f"result limit {limit}]")
        assert int(cut.split("[... ")[1].split(" ")[0]) == 500 - cut.index("\n")


@pytest.mark.parametrize("name", ["max_result_length", "max_kept_result_chars"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, None])
def test_bounds_must_be_positive_integers(name, value):
    with pytest.raises(ValueError, match=name):
        gym.make("EnvTune/FileSystem-v0", **{name: value})


def test_editing_info_turn_result_cannot_change_the_verdict():
    env = gym.make("EnvTune/FileSystem-v0").unwrapped
    env.reset(options={"task_id": "filesystem_base_0"})
    _, _, _, _, info = env.step("I will not do it.")  # an empty turn fails
    assert info["turn_result"]["passed"] is False
    info["turn_result"]["passed"] = True
    info["turn_result"]["missing_results"].append("x")
    for _ in range(env._episode.task.num_turns):
        _, reward, terminated, truncated, info = env.step("No.")
        if terminated or truncated:
            break
    assert reward == 0.0 and info["success"] is False
    assert (
        env._episode.turn_results[0]["passed"] is False
        and "x" not in env._episode.turn_results[0]["missing_results"]
    )
