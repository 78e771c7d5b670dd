"""``envtune eval`` from the command line: a parser built here, its handler run directly."""

from __future__ import annotations

import argparse
import json

import pytest

from envtune_gym.eval.command import add_commands


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="envtune")
    add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.handler(args)


def test_oracle_eval_prints_the_table_and_writes_outputs(capsys, tmp_path):
    code = run(["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--category", "base", "miss_func",
                "--limit", "5", "--workers", "2", "--no-progress", "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "| **overall** | 5 | 100.00 |" in out and "| TravelAPI | 5 | 100.00 |" in out
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "accuracy.png",
        "summary.json",
        "summary.md",
        "trajectories.jsonl",
    ]


def test_random_with_samples_and_tasks(capsys, tmp_path):
    code = run(["eval", "EnvTune/FileSystem-v0", "--policy", "random", "--seed", "4", "--samples", "2",
                "--task", "filesystem_base_0", "--task", "filesystem_base_1", "--no-progress", "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    assert "| category | tasks | accuracy | pass@2 | pass^2 |" in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["policy"], summary["episodes"], summary["tasks"]) == ("random(seed=4)", 4, 2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["eval", "EnvTune/Nope-v0", "--policy", "oracle"], "unknown env id 'EnvTune/Nope-v0'"),
        (["eval", "EnvTune/Travel-v0", "--policy", "hf"], "--policy hf needs --model"),
        (["eval", "EnvTune/Travel-v0", "--policy", "openai", "--model", "m"], "--policy openai needs --base-url"),
        (["eval", "EnvTune/Travel-v0", "--policy", "openai", "--model", "m", "--base-url", "file:///etc"],
         "base_url must start with http:// or https://"),
        (["eval", "EnvTune/Travel-v0", "--policy", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
          "--api-key-env", "ENVTUNE_TEST_UNSET_KEY"], "ENVTUNE_TEST_UNSET_KEY: that environment variable is not set"),
        (["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--split", "test"], "bundled tasks, which have no split"),
        (["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--task", "nope"], "unknown task id"),
        (["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--samples", "0"], "--samples must be >= 1"),
        (["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--timeout", "0"], "--timeout > 0"),
        (["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--batch-size", "0"], "--batch-size must be >= 1"),
        (["eval", "EnvTune/Travel-v0", "--policy", "hf", "--model", "tiny", "--temperature", "0.7", "--batch-size",
          "4"], "--batch-size > 1 needs --temperature 0"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_one_line(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ENVTUNE_TEST_UNSET_KEY", raising=False)
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("envtune eval: ") and message in captured.err
    assert captured.err.count("\n") == 1


@pytest.mark.parametrize(
    ("env_id", "split", "message"),
    [
        ("EnvTune/Nope-v0", None, "unknown env id 'EnvTune/Nope-v0'"),
        ("CartPole-v1", None, "'CartPole-v1' is not an EnvTune env"),
        ("EnvTune/Travel-v0", "test", "bundled tasks, which have no split"),
    ],
)
def test_a_bad_env_is_refused_before_the_policy_is_built(capsys, monkeypatch, env_id, split, message):
    """Nothing listens on port 9: were the policy built first, the error would be the unreachable server."""
    argv = ["eval", env_id, "--policy", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
            "--max-retries", "0", "--timeout", "1", *(["--split", split] if split else [])]  # fmt: skip
    assert run(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_bfcl_data_exits_2(capsys, monkeypatch):
    import importlib.util

    from envtune_gym.tasks import bfcl

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        bfcl.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bfcl_eval" else real_find_spec(name, *a),
    )
    assert run(["eval", "EnvTune/BFCL-v0", "--policy", "oracle", "--no-progress"]) == 2
    assert "bfcl-eval" in capsys.readouterr().err


def test_argparse_rejects_unknown_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run(["eval", "EnvTune/Travel-v0", "--policy", "gpt"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit):
        run(["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--category", "nope"])
