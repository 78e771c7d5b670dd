"""The eval's output files: trajectories.jsonl, summary.json, summary.md and accuracy.png."""

from __future__ import annotations

import json

import pytest

from envtune_gym.eval import OraclePolicy, RandomPolicy, evaluate
from envtune_gym.eval.report import markdown_report, summary_dict
from envtune_gym.tasks import CATEGORIES


@pytest.fixture(scope="module")
def random_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_random")
    result = evaluate(
        "EnvTune/Trading-v0", lambda: RandomPolicy(seed=1), samples=3, workers=2, progress=False, out_dir=out
    )
    return result, out


def test_summary_json_has_the_documented_shape(random_run):
    result, out = random_run
    summary = json.loads((out / "summary.json").read_text())
    assert summary == summary_dict(result)
    assert (summary["env_id"], summary["policy"], summary["samples"]) == (
        "EnvTune/Trading-v0",
        "random(seed=1)",
        3,
    )
    assert summary["episodes"] == 3 * summary["tasks"] == 3 * 54
    assert list(summary["accuracy"]) == [*CATEGORIES, "overall"]
    assert set(summary["pass_at_k"]["base"]) == {"1", "2", "3"} == set(summary["pass_hat_k"]["overall"])
    assert summary["pass_at_k"]["overall"]["1"] == pytest.approx(summary["accuracy"]["overall"])
    assert (
        summary["pass_at_k"]["base"]["3"]
        >= summary["pass_at_k"]["base"]["1"]
        >= summary["pass_hat_k"]["base"]["3"]
    )
    assert summary["by_domain"]["TradingBot"]["tasks"] == 54
    assert summary["errors"]["episodes"] == 0 and summary["errors"]["calls"]


def test_trajectories_jsonl_has_one_object_per_episode(random_run):
    result, out = random_run
    lines = (out / "trajectories.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(result.episodes)
    assert [(record["task_id"], record["sample"]) for record in records[:2]] == [
        ("trading_base_0", 0),
        ("trading_base_0", 1),
    ]
    first = records[0]
    assert {"success", "steps", "messages", "error", "category", "domains", "finish"} <= set(first)
    assert all({"action", "observation", "calls"} <= set(step) for step in first["steps"])


def test_summary_md_is_a_markdown_table(random_run):
    result, out = random_run
    text = (out / "summary.md").read_text()
    assert text == markdown_report(result)
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("| category"))
    assert header == "| category | tasks | accuracy | pass@2 | pass@3 | pass^2 | pass^3 |"
    rows = [line for line in lines if line.startswith("| ")]
    assert all(line.count("|") == header.count("|") for line in rows)
    assert any(line.startswith("| **overall** | 54 |") for line in lines)
    assert any(line.startswith("| TradingBot | 54 |") for line in lines)


def test_accuracy_png_is_a_readable_image(random_run):
    _, out = random_run
    matplotlib_image = pytest.importorskip("matplotlib.image")
    data = (out / "accuracy.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 200_000
    pixels = matplotlib_image.imread(out / "accuracy.png")
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400


def test_report_of_a_perfect_run(tmp_path):
    result = evaluate(
        "EnvTune/Messaging-v0", OraclePolicy, limit=6, progress=False, out_dir=tmp_path / "new" / "dir"
    )
    summary = json.loads((tmp_path / "new" / "dir" / "summary.json").read_text())
    assert summary["accuracy"] == {"base": 1.0, "overall": 1.0} and summary["pass_hat_k"]["base"] == {
        "1": 1.0
    }
    assert "| **overall** | 6 | 100.00 |" in markdown_report(result)
