"""The BFCL loader: data found without importing bfcl-eval, tasks converted faithfully, the protocol split."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from envtune_gym.tasks.bfcl import BFCLDataNotFound, find_bfcl_data_dir, load_bfcl_tasks, split_indices

#: The training indices listed in env-tuning-method.md §7 (random.seed(42); shuffle(range(200))[:100]).
PAPER_TRAIN = {0, 2, 3, 5, 10, 12, 13, 14, 15, 16, 18, 19, 27, 30, 32, 33, 36, 37, 38, 42, 43, 44, 45, 46, 47, 51,
               52, 54, 60, 61, 63, 64, 65, 66, 69, 72, 73, 76, 78, 79, 80, 83, 84, 85, 95, 100, 101, 102, 103, 104,
               105, 106, 109, 110, 111, 112, 113, 115, 118, 121, 122, 123, 125, 126, 128, 130, 133, 135, 136, 140,
               142, 144, 145, 146, 148, 153, 155, 156, 158, 159, 160, 161, 162, 165, 167, 170, 171, 172, 175, 176,
               177, 179, 184, 186, 187, 192, 193, 194, 195, 196}  # fmt: skip


def test_split_matches_the_environment_tuning_protocol():
    assert split_indices("train") == PAPER_TRAIN
    assert split_indices("test") == set(range(200)) - PAPER_TRAIN
    with pytest.raises(ValueError, match="'train' or 'test'"):
        split_indices("val")  # type: ignore[arg-type]


def test_missing_data_says_how_to_install(tmp_path):
    with pytest.raises(BFCLDataNotFound, match="point data_dir at bfcl_eval/data"):
        find_bfcl_data_dir(tmp_path)
    code = (
        "import importlib.util, sys\n"
        "importlib.util.find_spec = lambda name, *a: None\n"
        "from envtune_gym.tasks.bfcl import find_bfcl_data_dir\n"
        "try:\n    find_bfcl_data_dir()\nexcept FileNotFoundError as exc:\n    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "pip install --no-deps bfcl-eval==2026.3.23" in out


bfcl = pytest.importorskip(
    "bfcl_eval", reason="needs BFCL's data: pip install --no-deps bfcl-eval==2026.3.23"
)


@pytest.mark.bfcl
def test_all_800_tasks_load_with_their_shape():
    tasks = load_bfcl_tasks()
    assert len(tasks) == 800
    by_category = {category: [t for t in tasks if t.category == category] for category in
                   ("base", "miss_func", "miss_param", "long_context")}  # fmt: skip
    assert {category: len(items) for category, items in by_category.items()} == dict.fromkeys(
        by_category, 200
    )
    assert sum(t.num_turns for t in tasks) == 3336
    assert sum(len(calls) for t in tasks for calls in t.ground_truth) == 4625
    assert all(t.uses_long_context == (t.category == "long_context") for t in tasks)
    assert all(len(t.held_out) == 1 for t in by_category["miss_func"])
    assert not any(t.held_out for t in by_category["base"])
    for task in by_category["miss_func"]:
        (turn,) = task.held_out
        assert task.turns[turn] == "" and task.ground_truth[turn - 1] == []


@pytest.mark.bfcl
def test_filters_and_split():
    train = load_bfcl_tasks(["base", "miss_param"], split="train")
    assert len(train) == 200 and {t.category for t in train} == {"base", "miss_param"}
    assert len(load_bfcl_tasks("base", split="test")) == 100
    filesystem_only = load_bfcl_tasks(domains={"GorillaFileSystem"})
    assert len(filesystem_only) == 52 and all(t.domains == ["GorillaFileSystem"] for t in filesystem_only)
    with pytest.raises(ValueError, match="unknown BFCL category"):
        load_bfcl_tasks("hard")  # type: ignore[arg-type]


@pytest.mark.bfcl
def test_conversion_keeps_initial_config_of_involved_classes_only(tmp_path):
    data = find_bfcl_data_dir()
    first = json.loads((data / "BFCL_v4_multi_turn_base.json").read_text().splitlines()[0])
    task = load_bfcl_tasks("base")[0]
    assert task.id == first["id"] and task.domains == first["involved_classes"]
    assert set(task.initial_config) <= set(first["involved_classes"])
    assert task.turns[0] == first["question"][0][0]["content"]


@pytest.mark.bfcl
def test_a_held_out_function_the_ground_truth_calls_early_is_available_from_the_start():
    task = next(t for t in load_bfcl_tasks("miss_func") if t.id == "multi_turn_miss_func_49")
    assert task.held_out == {3: ["wc", "cat"]}
    assert "tail" in task.description and "before turn 3" in task.description
    assert sum(1 for t in load_bfcl_tasks("miss_func") if t.description) == 1
