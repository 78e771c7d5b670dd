"""Tests of the training-metrics module: JSON-lines logging, resume, TensorBoard, plots, progress, summaries."""

from __future__ import annotations

import io
import json
import math
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from envtune_gym.agents.metrics import (
    METRICS_FILE,
    MetricsLogger,
    ProgressBar,
    format_postfix,
    plot_curves,
    read_metrics,
    summarize,
)


def _rows(steps: range, stage_of=lambda step: step // 5) -> list[dict]:
    return [
        {
            "step": step,
            "reward_mean": step / 10,
            "reward_std": 0.1,
            "success": step % 2,
            "stage": stage_of(step),
        }
        for step in steps
    ]


def _log_all(out: Path | None, rows: list[dict], **kwargs) -> MetricsLogger:
    with MetricsLogger(out, tensorboard=False, **kwargs) as logger:
        for row in rows:
            logger.log(row)
    return logger


# --- MetricsLogger / read_metrics ----------------------------------------------------------------------------


def test_jsonl_round_trip_writes_non_finite_numbers_as_null(tmp_path: Path) -> None:
    rows = [
        {"step": 0, "reward_mean": 0.5, "loss": float("nan"), "stage": "syntax", "note": None},
        {
            "step": np.int64(1),
            "reward_mean": np.float32(0.25),
            "loss": float("inf"),
            "stage": 2,
            "kl": -math.inf,
        },
    ]
    logger = _log_all(tmp_path, rows)

    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert len(lines) == 2
    assert [json.loads(line) for line in lines] == read_metrics(tmp_path / METRICS_FILE)
    assert read_metrics(tmp_path) == [
        {"step": 0, "reward_mean": 0.5, "loss": None, "stage": "syntax", "note": None},
        {"step": 1, "reward_mean": 0.25, "loss": None, "stage": 2, "kl": None},
    ]
    assert "NaN" not in lines[0] and "Infinity" not in lines[1]  # strict JSON, not Python's extension
    assert [row["step"] for row in logger.rows] == [0, 1]  # in memory, as given
    assert math.isnan(logger.rows[0]["loss"])


def test_each_row_is_on_disk_before_close(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path, tensorboard=False)
    logger.log({"step": 0, "reward_mean": 1.0})
    assert read_metrics(tmp_path) == [{"step": 0, "reward_mean": 1.0}]
    logger.close()
    logger.close()  # idempotent
    with pytest.raises(ValueError, match="close"):
        logger.log({"step": 1})


def test_memory_only_logger_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    logger = _log_all(None, _rows(range(3)))
    assert logger.path is None
    assert [row["step"] for row in logger.rows] == [0, 1, 2]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"reward_mean": 1.0}, "needs an integer 'step'"),
        ({"step": 1.5}, "must be an integer"),
        ({"step": None}, "step"),
    ],
)
def test_row_without_integer_step_raises(tmp_path: Path, row: dict, message: str) -> None:
    with MetricsLogger(tmp_path, tensorboard=False) as logger, pytest.raises(ValueError, match=message):
        logger.log(row)
    assert read_metrics(tmp_path) == [] and logger.rows == []


def test_without_resume_an_existing_file_is_replaced(tmp_path: Path) -> None:
    _log_all(tmp_path, _rows(range(5)))
    _log_all(tmp_path, _rows(range(2)))
    assert [row["step"] for row in read_metrics(tmp_path)] == [0, 1]


def test_resume_drops_rows_from_the_first_relogged_step(tmp_path: Path) -> None:
    _log_all(tmp_path, _rows(range(10)))  # the crashed run got to step 9; its checkpoint is at step 6
    logger = _log_all(tmp_path, _rows(range(6, 8)), resume=True)

    steps = [row["step"] for row in read_metrics(tmp_path)]
    assert steps == list(range(8))
    assert [row["step"] for row in logger.rows] == steps  # the earlier rows are loaded too
    assert sorted(path.name for path in tmp_path.iterdir()) == [METRICS_FILE]  # no temporary file left


def test_truncate_after_keeps_rows_before_the_step(tmp_path: Path) -> None:
    _log_all(tmp_path, _rows(range(10)))
    with MetricsLogger(tmp_path, tensorboard=False, resume=True) as logger:
        logger.truncate_after(4)  # what the trainer does with its resume step
        assert [row["step"] for row in read_metrics(tmp_path)] == [0, 1, 2, 3]
        logger.log(_rows(range(4, 5))[0])
        logger.truncate_after(100)  # no-op
    assert [row["step"] for row in read_metrics(tmp_path)] == [0, 1, 2, 3, 4]
    assert [row["step"] for row in logger.rows] == [0, 1, 2, 3, 4]


def test_truncate_after_in_memory_only() -> None:
    logger = _log_all(None, _rows(range(5)))
    logger.truncate_after(2)
    assert [row["step"] for row in logger.rows] == [0, 1]


def test_read_metrics_skips_a_partial_last_line_but_not_a_bad_middle_one(tmp_path: Path) -> None:
    path = tmp_path / METRICS_FILE
    path.write_text('{"step": 0}\n{"step": 1}\n{"step": 2, "rew')
    with pytest.warns(UserWarning, match="partial last line"):
        assert read_metrics(path) == [{"step": 0}, {"step": 1}]
    path.write_text('{"step": 0}\n{"ste\n{"step": 2}\n')
    with pytest.raises(ValueError, match=":2:"):
        read_metrics(path)


# --- TensorBoard ---------------------------------------------------------------------------------------------


def test_tensorboard_scalars_are_written(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with MetricsLogger(tmp_path, tensorboard=True) as logger:
        for row in _rows(range(3)):
            logger.log({**row, "stage_name": "syntax"})  # a str value is not a scalar

    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    accumulator = EventAccumulator(str(tmp_path / "tensorboard")).Reload()
    assert {"reward_mean", "reward_std", "success", "stage"} <= set(accumulator.Tags()["scalars"])
    assert "step" not in accumulator.Tags()["scalars"] and "stage_name" not in accumulator.Tags()["scalars"]
    scalars = accumulator.Scalars("reward_mean")
    assert [event.step for event in scalars] == [0, 1, 2]
    assert [event.value for event in scalars] == pytest.approx([0.0, 0.1, 0.2])


def test_missing_tensorboard_says_so_once_and_still_writes_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from envtune_gym.agents.metrics import TENSORBOARD_OFF

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # a None entry makes the import fail
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one plain line, no warning wall
        with MetricsLogger(tmp_path, tensorboard=True) as logger:
            for row in _rows(range(3)):
                logger.log(row)
    assert capsys.readouterr().err.splitlines() == [TENSORBOARD_OFF]
    assert len(read_metrics(tmp_path)) == 3
    assert not logger.writes_tensorboard and not (tmp_path / "tensorboard").exists()
    assert MetricsLogger(None, tensorboard=False).writes_tensorboard is False


# --- plot_curves ---------------------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_curves_writes_a_readable_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    pyplot_was_loaded = "matplotlib.pyplot" in sys.modules
    _log_all(tmp_path, _rows(range(60), stage_of=lambda step: ["syntax", "base", "all"][step // 20]))

    png = plot_curves(tmp_path, tmp_path / "plots" / "curves.png", title="demo run")

    assert png == tmp_path / "plots" / "curves.png"
    width, height = _png_size(png)
    assert 800 <= width <= 2000 and 500 <= height <= 1500
    assert png.stat().st_size > 10_000
    if not pyplot_was_loaded:
        assert "matplotlib.pyplot" not in sys.modules  # no global pyplot state touched


@pytest.mark.parametrize(
    "stages",
    [
        [0, 0, 1, 1, 2, 2],
        ["syntax", "syntax", "base", "base", "all", "all"],
        [0, "base", None, "base", 3, "all"],  # mixed types, a missing stage keeps the current one
    ],
)
def test_plot_curves_marks_int_and_str_stages(tmp_path: Path, stages: list) -> None:
    pytest.importorskip("matplotlib")
    rows = [
        {"step": step, "reward_mean": step / 6, "success": step % 2, "stage": s}
        for step, s in enumerate(stages)
    ]
    rows[2]["stage_name"] = "named"
    assert plot_curves(rows, tmp_path / "c.png") == tmp_path / "c.png"
    assert _png_size(tmp_path / "c.png")[0] > 0


def test_plot_curves_tolerates_missing_keys_and_no_rows(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    rows = [{"step": 3, "loss": 1.0}, {"step": 1, "success": None}, {"reward_mean": 2.0}]
    assert plot_curves(rows, tmp_path / "a.png") is not None
    assert plot_curves([], tmp_path / "b.png") is not None


def test_plot_curves_without_matplotlib_returns_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.warns(UserWarning, match="matplotlib is not installed"):
        assert plot_curves(_rows(range(4)), tmp_path / "c.png") is None
    assert not (tmp_path / "c.png").exists()


# --- ProgressBar ---------------------------------------------------------------------------------------------


def test_disabled_progress_bar_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    with ProgressBar(total=3, enabled=False, file=stream) as bar, ProgressBar(total=3, enabled=False) as bar2:
        for row in _rows(range(3)):
            bar.update(row)
            bar2.update(row)
    assert bar.n == 3
    assert stream.getvalue() == ""
    assert capsys.readouterr() == ("", "")


def test_progress_bar_shows_the_live_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    with ProgressBar(total=4, initial=1, desc="grpo") as bar:  # default stream: sys.stderr, captured
        for row in _rows(range(1, 4)):
            bar.update({**row, "loss": 0.0123})
    err = capsys.readouterr().err
    assert "grpo" in err and "4/4" in err
    assert "reward=0.3" in err and "loss=0.0123" in err and "stage=0" in err


def test_progress_bar_without_tqdm_prints_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)
    stream = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fallback is silent
        with ProgressBar(total=10, desc="train", file=stream, print_every=4) as bar:
            for row in _rows(range(10)):
                bar.update(row)
    lines = stream.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["4/10", "8/10", "10/10"]
    assert "reward=0.9" in lines[-1] and "stage=1" in lines[-1]


def test_format_postfix_is_compact() -> None:
    row = {"step": 7, "reward_mean": 0.123456, "success": 0.5, "stage": 2, "stage_name": "all", "loss": 1e-5}
    assert format_postfix(row) == "reward=0.123 success=0.5 stage=all loss=1e-05"
    assert format_postfix({"step": 7}) == ""


# --- summarize -----------------------------------------------------------------------------------------------


def test_summarize_exact_figures() -> None:
    rows = [{"step": step, "reward_mean": float(step + 1)} for step in range(8)]  # 1..8, quarter = 2 rows
    assert summarize(rows, "reward_mean") == {"first_quarter": 1.5, "last_quarter": 7.5, "improvement": 6.0}


def test_summarize_short_runs_and_gaps() -> None:
    assert summarize([{"x": 2}], "x") == {"first_quarter": 2.0, "last_quarter": 2.0, "improvement": 0.0}
    rows = [{"x": 1}, {"x": None}, {"x": float("nan")}, {"y": 5}, {"x": 3}, {"x": True}, {"x": 0}]
    # Counted values: 1, 3, True, 0 -> quarter of 1 row each end.
    assert summarize(rows, "x") == {"first_quarter": 1.0, "last_quarter": 0.0, "improvement": -1.0}


@pytest.mark.parametrize(
    ("rows", "message"),
    [([], "no metrics rows"), ([{"step": 0}, {"step": 1, "x": None}], "no row holds a finite number")],
)
def test_summarize_errors(rows: list[dict], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize(rows, "x")
