"""Task files: JSON lines and JSON documents load, round-trip, and fail with the line or index named."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

from envtune_gym.tasks.bundled import load_bundled
from envtune_gym.tasks.files import load_task_file, write_task_file


def test_a_written_file_loads_back_equal_and_an_env_runs_it(tmp_path):
    tasks = load_bundled("trading")[:5]
    path = tmp_path / "tasks.jsonl"
    assert write_task_file(path, tasks) == 5
    assert load_task_file(path) == tasks
    env = gym.make("EnvTune/Trading-v0", tasks=str(path), category="base")
    assert [task.id for task in env.unwrapped.tasks] == [task.id for task in tasks if task.category == "base"]


def test_a_json_document_is_a_list_or_a_tasks_object(tmp_path):
    tasks = load_bundled("filesystem")[:2]
    dumped = [task.model_dump(mode="json") for task in tasks]
    for payload in (dumped, {"tasks": dumped}):
        path = tmp_path / "tasks.json"
        path.write_text(json.dumps(payload))
        assert load_task_file(path) == tasks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{}\n", "line 1: id: Field required"),
        ('{"id": "x"\n', "line 1: not JSON"),
        ("\n\n", "holds no task"),
    ],
)
def test_a_bad_file_names_the_line(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_task_file(path)


def test_a_missing_file_or_a_file_with_a_source_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot read task file"):
        load_task_file(tmp_path / "nope.jsonl")
    path = tmp_path / "tasks.jsonl"
    write_task_file(path, load_bundled("filesystem")[:1])
    with pytest.raises(ValueError, match="run as it is"):
        gym.make("EnvTune/FileSystem-v0", tasks=str(path), task_source="bfcl")
