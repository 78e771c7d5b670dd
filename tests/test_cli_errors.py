"""Bad ``envtune`` input is one line on stderr and exit status 2, never a traceback (issue 14, section 5)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from envtune_gym.agents import command as train_command
from envtune_gym.agents.config import GRPOConfig
from envtune_gym.cli import main
from envtune_gym.eval import command as eval_command


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``envtune ARGV``; assert exit status 2 and a single line on stderr, and return that line."""
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's usage errors exit instead of returning
        code = exit_info.code
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err


@pytest.fixture
def no_extras(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if ``train``/``sft`` look for torch: config errors must come before it."""

    def reached(command: str) -> bool:
        raise AssertionError(f"envtune {command} checked its extras before rejecting the config")

    monkeypatch.setattr(train_command, "_require_train_extra", reached)


# --- demo and play ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--env", "EnvTune/Nope-v0"], "unknown env id 'EnvTune/Nope-v0'"),
        (["demo", "--env", "CartPole-v1"], "'CartPole-v1' is not an EnvTune env"),
        (["demo", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
        (["demo", "--seed", "x"], "argument --seed: expects an integer >= 0, got 'x'"),
        (["play", "EnvTune/FileSystem-v0", "--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    ],
)
def test_demo_and_play_reject_bad_input(capsys, argv, message):
    assert message in fails(argv, capsys)


def test_usage_errors_are_one_line(capsys):
    err = fails(["nope"], capsys)
    assert err.startswith("envtune: error: argument COMMAND: invalid choice: 'nope'")
    assert "see envtune --help" in err


# --- train: config files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("c.json", '{"group_size": "four"}', "group_size must be an integer, got 'four'"),
        ("c.json", '{"learning_rate": 1e999}', "learning_rate must be a finite number, got inf"),
        ("c.json", '{"group_size": 1e999}', "group_size must be an integer, got inf"),
        ("c.toml", 'group_size = "four"\n', "group_size must be an integer, got 'four'"),
        ("c.toml", 'temperature = "hot"\n', "temperature must be a finite number, got 'hot'"),
        (
            "c.json",
            '{"env_kwargs": "notadict"}',
            "env_kwargs must be a table (a JSON object), got 'notadict'",
        ),
        ("c.json", '{"stages": [{}]}', "stages must be a list of stage tables (each with a name)"),
        ("c.json", '{"lora": 1}', "lora must be true or false, got 1"),
        ("c.yaml", "group_size: 4\n", "YAML is not supported; use JSON, or TOML with a .toml suffix"),
        ("c.json", '{"group_size": 4,}', "config files are JSON, or TOML with a .toml suffix"),
        ("c.toml", "group_size = \n", "is not valid TOML"),
    ],
)
def test_train_rejects_a_bad_config_file_before_checking_the_extras(
    capsys, tmp_path, no_extras, name, text, message
):
    path = tmp_path / name
    path.write_text(text)
    err = fails(["train", "--config", str(path), "--out", str(tmp_path / "run")], capsys)
    assert err.startswith(f"envtune train: config file {str(path)!r}") and message in err
    assert not (tmp_path / "run").exists()


def test_train_config_that_is_a_directory(capsys, tmp_path, no_extras):
    err = fails(["train", "--config", str(tmp_path)], capsys)
    assert f"config file {str(tmp_path)!r} is a directory, not a file" in err


def test_train_config_that_does_not_exist(capsys, tmp_path, no_extras):
    assert "does not exist" in fails(["train", "--config", str(tmp_path / "none.json")], capsys)


# --- train: flags ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--group-size", "four"], "--group-size expects an integer, got 'four'"),
        (["--learning-rate", "inf"], "--learning-rate expects a finite number, got inf"),
        (["--rollout-memory-gb", "lots"], "--rollout-memory-gb expects a finite number or null, got 'lots'"),
        (["--lora", "maybe"], "--lora expects true or false, got 'maybe'"),
        (["--dtype", "int4"], "--dtype expects one of 'auto', 'float32', 'bfloat16', 'float16', got 'int4'"),
        (["--env-kwargs", '"x"'], "--env-kwargs expects a table (a JSON object), got 'x'"),
        (["--stages", "5"], "--stages expects a list of stage tables"),
        (["--env-id", "EnvTune/NoSuch-v0"], "unknown env id 'EnvTune/NoSuch-v0'"),
        (["--env-id", "CartPole-v1"], "'CartPole-v1' is not an EnvTune env"),
        (["--env-kwargs", '{"nope": 1}'], "EnvTune/FileSystem-v0 takes no argument(s) 'nope'"),
        (["--out", ""], "out must name a directory"),
        (["--env-kwargs", '{"max_steps_per_turn": 3}'], "env_kwargs must not set max_steps_per_turn"),
    ],
)
def test_train_rejects_bad_flags_before_checking_the_extras(capsys, no_extras, flags, message):
    err = fails(["train", *flags], capsys)
    assert err.startswith("envtune train: ") and message in err


def test_sft_rejects_a_bad_flag_before_checking_the_extras(capsys, no_extras):
    assert "--group-size expects an integer" in fails(["sft", "--group-size", "four"], capsys)


def test_train_out_that_cannot_be_created(capsys, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    out = a_file / "sub"
    err = fails(["train", "--out", str(out)], capsys)
    assert f"cannot create the run directory {str(out)!r}: Not a directory" in err


def test_train_out_that_is_a_file(capsys, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    assert f"out {str(a_file)!r} is a file, not a directory" in fails(["train", "--out", str(a_file)], capsys)


def test_config_type_check_applies_to_the_python_api_too():
    with pytest.raises(ValueError, match="group_size must be an integer, got 'four'"):
        GRPOConfig.from_preset("tiny", group_size="four")


# --- train --help -------------------------------------------------------------------------------------------------


def test_train_help_shows_each_field_type_default_and_doc(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines at the terminal's width
    assert "--group-size INT [an integer; default 8]" in text
    assert "--total-steps INT Optimizer steps of GRPO. [an integer; default 60 (qwen3-4b: 300)]" in text
    assert "--dtype {auto,float32,bfloat16,float16} auto: bfloat16 on CUDA, float32 on CPU." in text
    assert "--rollout-memory-gb FLOAT|none" in text and "85% of the free GPU memory" in text
    assert "--stages JSON" in text and "default [short_base_hints, short_base]" in text
    assert "--out TEXT|none" in text and "default runs/PRESET" in text
    assert "VALUE" not in text


def test_every_field_comment_reaches_the_help():
    docs = train_command.field_docs()
    assert docs["tasks_per_step"].startswith("Distinct tasks per optimizer step")
    assert docs["clip_low"].startswith("Asymmetric")
    assert "clip_high" not in docs  # the clip comment is clip_low's; clip_high has none of its own
    assert "``" not in " ".join(docs.values())


# --- verl-data ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--env-kwargs", '{"nope": 1}'], "EnvTune/FileSystem-v0 takes no argument(s) 'nope'"),
        (["--val-env-kwargs", '{"splitt": "test"}'], "takes no argument(s) 'splitt'"),
    ],
)
def test_verl_data_rejects_unknown_env_kwargs_before_writing(capsys, tmp_path, flags, message):
    out = tmp_path / "data"
    err = fails(["verl-data", "EnvTune/FileSystem-v0", "--out", str(out), *flags], capsys)
    assert err.startswith("envtune verl-data: ") and message in err
    assert not out.exists()


def test_verl_data_rejects_an_unknown_env_id(capsys, tmp_path):
    err = fails(["verl-data", "EnvTune/NoSuch-v0", "--out", str(tmp_path / "data")], capsys)
    assert "unknown env id 'EnvTune/NoSuch-v0'" in err


# --- eval ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--timeout", "inf"], "expected --timeout > 0 (a finite number of seconds), got inf"),
        (["--timeout", "nan"], "expected --timeout > 0 (a finite number of seconds), got nan"),
        (["--temperature", "inf"], "expected --temperature >= 0"),
        (["--max-retries", "-1"], "expected --max-retries >= 0, got -1"),
        (["--out", ""], "--out '' names no folder"),
    ],
)
def test_eval_rejects_bad_numbers_and_an_empty_out(capsys, flags, message):
    err = fails(["eval", "EnvTune/Travel-v0", "--policy", "oracle", "--no-progress", *flags], capsys)
    assert err.startswith("envtune eval: ") and message in err


@pytest.mark.parametrize(
    "model", ["runs/tiny/checkpoints/step_000040/policy", "./no_model", "/no/such/model"]
)
def test_eval_says_a_missing_model_folder_does_not_exist(capsys, model):
    err = fails(["eval", "EnvTune/Travel-v0", "--policy", "hf", "--model", model], capsys)
    assert f"--model {model!r}: no such directory" in err and "Repo id" not in err


@pytest.fixture
def policy_args(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The arguments ``eval`` builds its policy from; the policy is not built (the run stops with exit 2)."""
    seen: list[argparse.Namespace] = []

    def record(args: argparse.Namespace):
        seen.append(args)
        raise eval_command.UsageError("stopped by the test")

    monkeypatch.setattr(eval_command, "policy_factory", record)
    return seen


@pytest.mark.parametrize(
    ("flags", "temperature"),
    [
        ([], 0.0),  # one sample: greedy, as before
        (["--samples", "4"], 1.0),  # greedy samples would be identical: sample instead
        (["--samples", "4", "--temperature", "0.5"], 0.5),
    ],
)
def test_eval_samples_unless_one_sample_or_a_temperature_is_given(capsys, policy_args, flags, temperature):
    fails(["eval", "EnvTune/Travel-v0", "--policy", "hf", "--model", "tiny", *flags], capsys)
    assert policy_args[0].temperature == temperature


def test_eval_greedy_samples_on_request_with_a_warning(capsys, policy_args):
    try:
        main(
            [
                "eval",
                "EnvTune/Travel-v0",
                "--policy",
                "hf",
                "--model",
                "tiny",
                "--samples",
                "4",
                "--temperature",
                "0",
            ]
        )
    except SystemExit:
        pytest.fail("argparse rejected --temperature 0")
    assert policy_args[0].temperature == 0.0
    assert "warning: --temperature 0 makes the 4 samples of a task identical" in capsys.readouterr().err


def test_eval_sampling_with_a_batch_size_says_how_to_fix_it(capsys, policy_args):
    argv = [
        "eval",
        "EnvTune/Travel-v0",
        "--policy",
        "hf",
        "--model",
        "tiny",
        "--samples",
        "4",
        "--batch-size",
        "4",
    ]
    err = fails(argv, capsys)
    assert "--samples > 1 samples at temperature 1" in err and "--temperature 0" in err
    assert policy_args == []


def test_eval_docs_name_a_checkpoint_the_default_run_keeps():
    docs = (Path(__file__).parents[1] / "docs" / "eval.md").read_text()
    assert "step_000040" not in docs and "runs/tiny/checkpoints/step_000060/policy" in docs
