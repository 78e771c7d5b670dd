"""The ``envtune`` command: ``demo`` plays an oracle episode and prints the transcript with verdicts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from envtune_gym.cli import main


def test_demo_plays_the_oracle_to_success(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "[user]" in out and "[assistant]" in out and "<tool_response>" in out
    assert "FAILED" not in out
    assert out.rstrip().endswith("== reward 1.0, success True")


@pytest.mark.parametrize("style", ["python", "hermes", "json"])
def test_demo_on_a_miss_func_task_in_each_style(capsys, style):
    assert main(["demo", "--task", "filesystem_miss_func_0", "--style", style]) == 0
    out = capsys.readouterr().out
    assert "I have updated some more functions you can choose from" in out
    assert "not checked (empty ground truth)" in out


def test_demo_with_an_unknown_task_says_so(capsys):
    assert main(["demo", "--task", "nope"]) == 2
    assert "unknown task_id 'nope'" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 0
    assert "demo" in capsys.readouterr().out


def test_console_script_module_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "envtune_gym.cli", "demo", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "success True" in done.stdout
