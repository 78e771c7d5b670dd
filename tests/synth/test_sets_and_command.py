"""Synthesized sets as an env's task source, and ``envtune synth``."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import envtune_gym  # noqa: F401
from envtune_gym.cli import main
from envtune_gym.synth import Synthesizer
from envtune_gym.tasks.files import load_task_file


def test_an_env_runs_a_synthesized_set_and_its_options_are_checked():
    env = gym.make(
        "EnvTune/FileSystem-v0", task_source="synth", num_tasks=6, synth_seed=2, category="miss_func"
    )
    tasks = env.unwrapped.tasks
    assert tasks == tuple(Synthesizer("filesystem", 2, category="miss_func").tasks(6))
    assert {task.category for task in tasks} == {"miss_func"}
    small = gym.make("EnvTune/FileSystem-v0", task_source="synth", num_tasks=4, synth_knobs={"max_turns": 2})
    assert all(task.num_turns <= 3 for task in small.unwrapped.tasks)
    with pytest.raises(ValueError, match="num_tasks must be"):
        gym.make("EnvTune/FileSystem-v0", task_source="synth", num_tasks=0)
    with pytest.raises(ValueError, match="unknown knob"):
        gym.make("EnvTune/FileSystem-v0", task_source="synth", synth_knobs={"turns": 2})
    with pytest.raises(ValueError, match="no task generator 'bfcl'"):
        gym.make("EnvTune/BFCL-v0", task_source="synth")
    with pytest.raises(ValueError, match="options of task_source='synth'"):
        gym.make("EnvTune/FileSystem-v0", synth_seed=1)


def test_the_command_writes_the_set_the_synthesizer_makes(tmp_path, capsys):
    out = tmp_path / "sets" / "trading.jsonl"
    assert main(["synth", "trading", "--n", "5", "--seed", "4", "--start", "2", "--out", str(out)]) == 0
    assert load_task_file(out) == tuple(Synthesizer("trading", 4).tasks(5, start=2))
    assert "5 tasks" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["synth", "nope", "--out", "x.jsonl"], "no task generator 'nope'; known: filesystem"),
        (["synth", "travel", "--out", "x.txt"], "--out must name a .jsonl file"),
        (["synth", "travel", "--out", "x.jsonl", "--max-turns", "9"], "max_turns must be an integer in 1..6"),
    ],
)
def test_a_bad_command_is_one_line_and_status_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.jsonl").exists()


def test_eval_scores_a_task_file_and_a_synthesized_set_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "fs.jsonl"
    assert main(["synth", "filesystem", "--n", "4", "--seed", "9", "--out", str(path), "--quiet"]) == 0
    base = ["eval", "EnvTune/FileSystem-v0", "--policy", "oracle", "--workers", "1", "--no-progress"]
    for extra in (
        ["--tasks", str(path)],
        ["--task-source", "synth", "--num-tasks", "4", "--synth-seed", "9"],
    ):
        out = tmp_path / extra[1].replace("/", "_")
        assert main([*base, *extra, "--out", str(out)]) == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["tasks"] == 4 and summary["accuracy"]["overall"] == 1.0, summary
