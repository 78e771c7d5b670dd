"""Adding a domain is one module and one task file: a new domain, written to a temporary directory, runs everywhere.

The module below is the whole of it (docs/domains.md, "Adding a domain", is this recipe). Once imported (and
``register_envs()`` called, as ``import envtune_gym`` does for the package's own domains), it has an env id,
the oracle solves its task, ProgressReward and HintAugmentation work on it, and ``envtune list`` shows it.
Nothing else in the package or the tests names it; the fixture takes every registration back afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import gymnasium as gym
import pytest

import envtune_gym
from envtune_gym.agents.oracle import TURN_DONE, oracle_actions
from envtune_gym.catalog import env_catalog, markdown_domain_table
from envtune_gym.cli import main
from envtune_gym.domains import DOMAINS, domain_class, registered_domains, unregister_domain
from envtune_gym.tasks.bundled import bundled_task_sets, load_bundled
from envtune_gym.wrappers import HintAugmentation, ProgressReward

ENV_ID = "EnvTune/Shelf-v0"

MODULE = '''
"""A bookshelf: books can be listed, shelved and taken."""

from pathlib import Path
from typing import Any

from envtune_gym.domains import register_domain
from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.tools import tool


class ShelfAPI(Domain):
    """A shelf of books. Compared state: ``books``."""

    name = "ShelfAPI"
    description = "This tool belongs to the bookshelf, which holds books by title."

    def load_scenario(self, config: dict[str, Any], long_context: bool = False) -> None:
        self.books: list[str] = list(config.get("books", []))

    @tool(lists=True)
    def list_books(self) -> dict[str, list[str]]:
        """List the titles on the shelf, in shelf order."""
        return {"books": list(self.books)}

    @tool
    def shelve(self, title: str) -> dict[str, int]:
        """Put a book on the shelf.

        Args:
            title: The book's title.
        """
        if title in self.books:
            raise ToolError(f"shelve: {title!r} is already on the shelf.")
        self.books.append(title)
        return {"count": len(self.books)}

    @tool
    def take(self, title: str) -> dict[str, str]:
        """Take a book off the shelf.

        Args:
            title: The book's title, exactly as listed.
        """
        if title not in self.books:
            raise ToolError(f"take: no book titled {title!r} is on the shelf.")
        self.books.remove(title)
        return {"taken": title}


register_domain(ShelfAPI, env_id="EnvTune/Shelf-v0", task_set="shelf", task_file=Path(__file__).with_name("shelf.json"))
'''

TASKS = {
    "version": 1,
    "domain": "ShelfAPI",
    "tasks": [
        {
            "id": "shelf_base_0",
            "category": "base",
            "domains": ["ShelfAPI"],
            "description": "Shelve a book, then take another.",
            "initial_config": {"ShelfAPI": {"books": ["Dune", "Emma"]}},
            "turns": ["Put 'Ulysses' on the shelf.", "Now take 'Emma' off it."],
            "ground_truth": [["shelve(title='Ulysses')"], ["take(title='Emma')"]],
        }
    ],
}


@pytest.fixture
def shelf(tmp_path: Path) -> Iterator[ModuleType]:
    """The shelf domain, imported from a file in ``tmp_path``; unregistered everywhere afterwards."""
    (tmp_path / "shelf_domain.py").write_text(MODULE, encoding="utf-8")
    (tmp_path / "shelf.json").write_text(json.dumps(TASKS), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("shelf_domain", tmp_path / "shelf_domain.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["shelf_domain"] = module  # envs pickle their domains: the class must be importable by name
    try:
        spec.loader.exec_module(module)
        envtune_gym.register_envs()
        yield module
    finally:
        if "ShelfAPI" in DOMAINS:
            unregister_domain("ShelfAPI")
        envtune_gym.register_envs()
        sys.modules.pop("shelf_domain", None)


def test_the_module_registers_the_domain_its_env_and_its_tasks(shelf: ModuleType) -> None:
    assert domain_class("ShelfAPI") is shelf.ShelfAPI
    assert [spec.name for spec in registered_domains()][-1] == "ShelfAPI"  # after the package's own
    assert (
        envtune_gym.ENV_IDS[ENV_ID] == {"tasks": "shelf"}
        and list(envtune_gym.ENV_IDS)[-1] == "EnvTune/BFCL-v0"
    )
    assert "shelf" in bundled_task_sets() and [task.id for task in load_bundled("shelf")] == ["shelf_base_0"]


def test_the_oracle_solves_it_through_gym_make(shelf: ModuleType) -> None:
    env = gym.make(ENV_ID)
    _, info = env.reset(seed=0)
    assert [tool["function"]["name"] for tool in info["tools"]] == ["list_books", "shelve", "take"]
    for action in oracle_actions(load_bundled("shelf")[0]):
        _, _, terminated, truncated, info = env.step(action)
    assert terminated and not truncated and info["success"]
    assert env.unwrapped.domains["ShelfAPI"].books == ["Dune", "Ulysses"]


def test_progress_reward_gives_the_ground_truth_exactly_one(shelf: ModuleType) -> None:
    env = ProgressReward(gym.make(ENV_ID))
    env.reset(seed=0)
    total = sum(env.step(action)[1] for action in oracle_actions(load_bundled("shelf")[0]))
    assert math.isclose(total, 1.0, abs_tol=1e-12)


def test_a_missing_book_gets_the_listing_tool_as_hint(shelf: ModuleType) -> None:
    env = HintAugmentation(gym.make(ENV_ID), level="brief")
    env.reset(seed=0)
    observation, _, _, _, info = env.step("[take(title='Walden')]")
    assert info["hint"] == "To see what exists, call list_books()."
    assert "no book titled 'Walden'" in observation and observation.endswith(info["hint"])
    assert env.step(TURN_DONE)[4]["turn_result"]["passed"] is False


def test_envtune_list_and_the_docs_table_show_it(
    shelf: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = next(entry for entry in env_catalog(include_bfcl=False) if entry.env_id == ENV_ID)
    assert (entry.domains, entry.tools, entry.num_bundled) == (
        ("ShelfAPI",),
        ("list_books", "shelve", "take"),
        1,
    )
    assert main(["list", "--no-bfcl"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith(ENV_ID))
    assert row.split()[1:3] == ["3", "1"] and row.endswith("ShelfAPI")
    row = markdown_domain_table(include_bfcl=False).splitlines()[-1]
    assert row == "| ShelfAPI | `shelf_domain` | `EnvTune/Shelf-v0` | 3 | `books` | n/a |"


def test_afterwards_nothing_of_it_is_left(shelf: ModuleType) -> None:
    unregister_domain("ShelfAPI")
    envtune_gym.register_envs()
    assert "ShelfAPI" not in DOMAINS and ENV_ID not in envtune_gym.ENV_IDS and ENV_ID not in gym.registry
    assert "shelf" not in bundled_task_sets()
