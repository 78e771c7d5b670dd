"""Checks particular to the bundled FileSystem task set (``envtune_gym/tasks/data/filesystem.json``).

The checks every set shares (header, ids, category counts, tool coverage, task shape, miss_func / miss_param
conventions, the replay on BFCL's reference ``GorillaFileSystem``) are in ``test_bundled_data.py``. Here: each
scenario's tree is one directory at the root, since BFCL loads only the first root entry.
"""

from __future__ import annotations

import pytest

from envtune_gym.tasks.model import Task
from tests.tasks.bundled_checks import SETS

FILESYSTEM = SETS["filesystem"]


@pytest.mark.parametrize("task", FILESYSTEM.tasks, ids=FILESYSTEM.task_ids)
def test_tree_has_one_root_directory(task: Task) -> None:
    roots = task.initial_config[FILESYSTEM.domain]["root"]
    assert len(roots) == 1, "BFCL keeps only the first root entry; give exactly one"
    (root,) = roots.values()
    assert root["type"] == "directory"
