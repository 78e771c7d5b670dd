"""Per-turn evaluation: every checked turn scored alone from its ground-truth start, next to BFCL's accuracy."""

from __future__ import annotations

import argparse
import importlib.util
import json
from typing import Any

import pytest

from envtune_gym.domains import registered_domains
from envtune_gym.eval import OraclePolicy, evaluate, markdown_report, summary_dict
from envtune_gym.eval.command import add_commands
from envtune_gym.eval.policies import TaskInfo
from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.oracle import TURN_DECLINED, TURN_DONE, oracle_actions

ENV_IDS = [spec.env_id for spec in registered_domains() if spec.task_set and spec.env_id]
TASK_ID = "filesystem_base_3"


class SkipsTurnOne:
    """The oracle, except that it answers turn 1 without a call (failing it); it plays by ``info["turn"]``."""

    name = "skips-turn-1"

    def start(self, task_info: TaskInfo) -> None:
        self._turns: list[list[str]] = [[]]
        for action in oracle_actions(task_info["task"]):
            self._turns[-1].append(action)
            if action in (TURN_DONE, TURN_DECLINED):
                self._turns.append([])
        self._turns[1] = ["I'd rather not."]

    def act(self, observation: str, info: dict[str, Any]) -> str:
        queue = self._turns[info["turn"]]
        return queue.pop(0) if queue else TURN_DONE


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_oracle_scores_one_per_turn_on_every_bundled_task(env_id):
    result = evaluate(env_id, OraclePolicy, workers=2, progress=False, per_turn=True)
    per_turn = result.scores.per_turn
    assert per_turn is not None and result.scores.overall.accuracy == 1.0
    assert all(group.accuracy == 1.0 for group in per_turn.by_category.values())
    assert all(group.accuracy == 1.0 for group in per_turn.by_turn.values())
    tasks = {task.id: task for task in result_tasks(env_id)}
    # One episode per checked turn of every task, starting and ending at that turn.
    assert sorted((e.task_id, e.start_turn) for e in result.turn_episodes) == sorted(
        (task.id, turn) for task in tasks.values() for turn in task.checked_turns
    )
    assert all(
        e.end_turn == e.start_turn and e.turns_checked == e.turns_passed == 1 for e in result.turn_episodes
    )
    assert per_turn.overall.turns == len(result.turn_episodes)


def result_tasks(env_id: str):
    spec = next(spec for spec in registered_domains() if spec.env_id == env_id)
    return load_bundled(spec.task_set)


@pytest.mark.bfcl
@pytest.mark.skipif(importlib.util.find_spec("bfcl_eval") is None, reason="needs bfcl-eval")
@pytest.mark.parametrize("category", ["base", "miss_func", "miss_param", "long_context"])
def test_the_oracle_scores_one_per_turn_on_bfcl(category):
    result = evaluate(
        "EnvTune/BFCL-v0",
        OraclePolicy,
        env_kwargs={"category": [category]},
        workers=2,
        progress=False,
        per_turn=True,
    )
    per_turn = result.scores.per_turn
    assert result.tasks == 200 and per_turn.by_category[category].accuracy == 1.0
    assert per_turn.overall.turns == sum(len(episode_task_turns) for episode_task_turns in _checked(result))


def _checked(result) -> list[set[int]]:
    turns: dict[str, set[int]] = {}
    for episode in result.turn_episodes:
        turns.setdefault(episode.task_id, set()).add(episode.start_turn)
    return list(turns.values())


def test_a_failed_turn_costs_the_episode_but_not_the_later_turns_from_their_start():
    result = evaluate("EnvTune/FileSystem-v0", SkipsTurnOne, task_ids=[TASK_ID], workers=1, progress=False,
                      per_turn=True)  # fmt: skip
    (episode,) = result.episodes
    turns = {e.start_turn: e for e in result.turn_episodes}
    assert not episode.success and result.scores.overall.accuracy == 0.0
    assert {0, 1, 2} <= set(turns)
    assert (
        not turns[1].success
        and turns[1].steps[-1]["turn_result"]["error_type"] == "empty_turn_model_response"
    )
    assert turns[0].success and turns[2].success  # turn 2 from its ground-truth start: full credit
    per_turn = result.scores.per_turn
    assert per_turn.by_turn[1].accuracy == 0.0 and per_turn.by_turn[2].accuracy == 1.0
    assert per_turn.overall.accuracy == pytest.approx((len(turns) - 1) / len(turns))


def test_summary_markdown_and_files_carry_the_per_turn_scores(tmp_path):
    result = evaluate("EnvTune/FileSystem-v0", SkipsTurnOne, task_ids=[TASK_ID, "filesystem_miss_func_0"],
                      workers=2, progress=False, per_turn=True, out_dir=tmp_path)  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == summary_dict(result)
    per_turn = summary["per_turn"]
    assert set(per_turn) == {"accuracy", "turns", "episodes", "by_turn", "by_category_turn"}
    assert list(per_turn["accuracy"]) == ["base", "miss_func", "overall"]
    assert per_turn["by_turn"]["1"]["accuracy"] == 0.0 and per_turn["by_turn"]["0"]["accuracy"] == 1.0
    assert per_turn["by_category_turn"]["base"]["2"] == {"turns": 1, "episodes": 1, "accuracy": 1.0}
    # BFCL's episode accuracy alongside: the miss_func task's turn 1 is not checked, so skipping it costs nothing.
    assert summary["accuracy"] == {"base": 0.0, "miss_func": 1.0, "overall": 0.5}
    markdown = (tmp_path / "summary.md").read_text()
    assert "| category | tasks | accuracy | per-turn |" in markdown
    expected = 100 * per_turn["accuracy"]["overall"]
    assert f"| **overall** | 2 | 50.00 | {expected:.2f} |" in markdown
    assert (
        "| turn | turns | base | miss_func | all |" in markdown and "| 1 | 1 | 0.00 | - | 0.00 |" in markdown
    )
    lines = [json.loads(line) for line in (tmp_path / "per_turn.jsonl").read_text().splitlines()]
    assert len(lines) == len(result.turn_episodes) == per_turn["episodes"]["overall"]
    assert all(line["start_turn"] == line["end_turn"] for line in lines)
    assert len((tmp_path / "trajectories.jsonl").read_text().splitlines()) == 2
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / "accuracy.png").stat().st_size > 0


def test_without_per_turn_nothing_changes():
    result = evaluate("EnvTune/FileSystem-v0", OraclePolicy, limit=2, workers=1, progress=False)
    assert result.scores.per_turn is None and result.turn_episodes == []
    assert summary_dict(result)["per_turn"] is None
    assert "per-turn" not in markdown_report(result)
    assert all(episode.start_turn == 0 and episode.end_turn is None for episode in result.episodes)


def test_samples_weigh_each_turn(tmp_path):
    result = evaluate("EnvTune/Travel-v0", OraclePolicy, limit=2, samples=2, workers=2, progress=False,
                      per_turn=True)  # fmt: skip
    per_turn = result.scores.per_turn
    assert per_turn.overall.episodes == 2 * per_turn.overall.turns == len(result.turn_episodes)
    assert [e.sample for e in result.turn_episodes[:2]] == [0, 1]


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envtune")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_the_command_takes_per_turn(capsys, tmp_path):
    code = run_cli(["eval", "EnvTune/Trading-v0", "--policy", "oracle", "--limit", "3", "--per-turn",
                    "--no-progress", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "| **overall** | 3 | 100.00 | 100.00 |" in out and "per_turn.jsonl" in out
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "accuracy.png",
        "per_turn.jsonl",
        "summary.json",
        "summary.md",
        "trajectories.jsonl",
    ]
