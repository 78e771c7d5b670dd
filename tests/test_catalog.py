"""``envtune list`` and :func:`~envtune_gym.catalog.env_catalog`: counts derived from the envs."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import gymnasium as gym
import pytest

import envtune_gym.tasks.bfcl as bfcl_tasks
from envtune_gym.catalog import EnvEntry, env_catalog, markdown_domain_table, markdown_env_table
from envtune_gym.cli import main
from envtune_gym.envs.registration import ENV_IDS
from envtune_gym.tasks import CATEGORIES
from envtune_gym.tasks.bfcl import INSTALL_HINT, BFCLDataNotFound, find_bfcl_data_dir


def _bfcl_installed() -> bool:
    try:
        find_bfcl_data_dir()
    except BFCLDataNotFound:
        return False
    return True


BFCL_INSTALLED = _bfcl_installed()


def needs_bfcl(test):
    """Mark ``test`` as needing BFCL's data (``-m bfcl`` selects it); skip it when that is not installed."""
    skip = pytest.mark.skipif(not BFCL_INSTALLED, reason=f"needs BFCL's data: {INSTALL_HINT}")
    return pytest.mark.bfcl(skip(test))


BUNDLED_ENVS = [env_id for env_id, defaults in ENV_IDS.items() if defaults["tasks"] != "bfcl"]
#: The numbers README.md and docs/envs.md state: (tools, bundled tasks, BFCL tasks with task_source="bfcl").
DOCUMENTED = {
    "EnvTune/FileSystem-v0": (18, 53, 52),
    "EnvTune/Trading-v0": (20, 54, 80),
    "EnvTune/Travel-v0": (18, 52, 52),
    "EnvTune/Messaging-v0": (10, 52, 0),
}


@pytest.fixture(scope="module")
def catalog() -> dict[str, EnvEntry]:
    return {entry.env_id: entry for entry in env_catalog(include_bfcl=False)}


@pytest.fixture
def no_bfcl(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make BFCL's data look uninstalled (the loader finds it through this function)."""

    def missing(data_dir: object = None) -> None:
        raise BFCLDataNotFound(f"BFCL's tasks need the bfcl-eval package: {INSTALL_HINT}")

    monkeypatch.setattr(bfcl_tasks, "find_bfcl_data_dir", missing)


def test_every_registered_id_is_listed(catalog):
    assert list(catalog) == list(ENV_IDS)


def test_filesystem_counts(catalog):
    entry = catalog["EnvTune/FileSystem-v0"]
    assert entry.domains == ("GorillaFileSystem",)
    assert entry.num_tools == 18 and "ls" in entry.tools
    assert entry.num_bundled == 53
    assert list(entry.bundled) == list(CATEGORIES) and all(count > 0 for count in entry.bundled.values())
    assert sum(entry.bundled.values()) == entry.num_bundled


@pytest.mark.parametrize("env_id", BUNDLED_ENVS)
def test_bundled_counts_match_the_env(catalog, env_id):
    entry = catalog[env_id]
    env = gym.make(env_id)
    tasks = env.unwrapped.tasks
    assert entry.bundled == {
        category: Counter(t.category for t in tasks)[category] for category in CATEGORIES
    }
    assert set(entry.domains) == {name for task in tasks for name in task.domains}
    # The tools a task without held-out functions offers after reset are all of the domain's tools.
    task = next(task for task in tasks if not task.held_out)
    _, info = env.reset(options={"task_id": task.id})
    assert entry.tools == tuple(tool["function"]["name"] for tool in info["tools"])


@pytest.mark.parametrize("env_id", sorted(DOCUMENTED))
def test_numbers_agree_with_the_readme(catalog, env_id):
    tools, bundled, _ = DOCUMENTED[env_id]
    assert (catalog[env_id].num_tools, catalog[env_id].num_bundled) == (tools, bundled)


def test_bfcl_env_without_counting_bfcl(catalog):
    entry = catalog["EnvTune/BFCL-v0"]
    assert entry.num_tools == 128 and len(entry.domains) == 8
    assert entry.bundled == {} and entry.bfcl is None and "include_bfcl=False" in entry.bfcl_note


@needs_bfcl
def test_bfcl_counts():
    entries = {entry.env_id: entry for entry in env_catalog()}
    for env_id, (_, _, count) in DOCUMENTED.items():
        assert (entries[env_id].num_bfcl, entries[env_id].bfcl_note) == (count, ""), env_id
    filesystem = gym.make("EnvTune/FileSystem-v0", task_source="bfcl").unwrapped.tasks
    assert entries["EnvTune/FileSystem-v0"].bfcl == {
        category: Counter(task.category for task in filesystem)[category] for category in CATEGORIES
    }
    bfcl = entries["EnvTune/BFCL-v0"]
    assert bfcl.bfcl == dict.fromkeys(CATEGORIES, 200) and bfcl.num_bfcl == 800
    assert bfcl.bfcl_splits == {"train": 400, "test": 400}
    assert bfcl.num_tools == 128 and len(bfcl.domains) == 8 and bfcl.bundled == {}


def test_without_bfcl_eval_the_catalog_says_how_to_install_it(no_bfcl):
    entries = env_catalog()
    assert all(entry.bfcl is None and INSTALL_HINT in entry.bfcl_note for entry in entries)
    assert entries[0].num_bundled == 53  # the bundled counts are still there


# ----------------------------------------------------------------------------------------------------------------
# envtune list


def _rows(out: str) -> dict[str, str]:
    return {line.split()[0]: line for line in out.splitlines() if line.startswith("EnvTune/")}


def test_list_prints_an_aligned_table(capsys):
    assert main(["list", "--no-bfcl"]) == 0
    out = capsys.readouterr().out
    header, rows = out.splitlines()[0], _rows(out)
    assert header.split()[:2] == ["id", "tools"] and list(rows) == list(ENV_IDS)
    assert rows["EnvTune/FileSystem-v0"].split()[1:3] == ["18", "53"]
    assert "53 (14 / 13 / 13 / 13)" in rows["EnvTune/FileSystem-v0"]
    # Columns line up: the tool counts end under "tools", the other columns start under their titles.
    tools_end = header.index("tools") + len("tools")
    starts = [header.index(title) for title in ("bundled tasks", "BFCL tasks", "domains")]
    for row in rows.values():
        assert row[tools_end - 1].isdigit() and row[tools_end] == " ", row
        assert all(row[start - 1] == " " and row[start] != " " for start in starts), row


@needs_bfcl
def test_list_shows_bfcl_counts(capsys):
    assert main(["list"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert "52 (13 / 13 / 13 / 13)" in rows["EnvTune/FileSystem-v0"]
    assert "800 (200 / 200 / 200 / 200); train 400, test 400" in rows["EnvTune/BFCL-v0"]


def test_list_without_bfcl_eval_says_how_to_install(capsys, no_bfcl):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "need the bfcl-eval package" in out and INSTALL_HINT in out
    assert "n/a" in _rows(out)["EnvTune/BFCL-v0"]


def test_list_json(capsys):
    assert main(["list", "--json", "--no-bfcl"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["categories"] == list(CATEGORIES)
    envs = {env["id"]: env for env in payload["envs"]}
    assert list(envs) == list(ENV_IDS)
    filesystem = envs["EnvTune/FileSystem-v0"]
    assert filesystem["num_tools"] == 18 and filesystem["bundled"]["total"] == 53
    assert sum(filesystem["bundled"][category] for category in CATEGORIES) == 53
    assert "tools" not in filesystem and envs["EnvTune/BFCL-v0"]["bundled"] is None


def test_list_tools(capsys):
    assert main(["list", "--tools", "--no-bfcl"]) == 0
    out = capsys.readouterr().out
    assert "EnvTune/FileSystem-v0 (18 tools):" in out and "pwd, ls, cd" in out
    assert main(["list", "--tools", "--json", "--no-bfcl"]) == 0
    envs = {env["id"]: env for env in json.loads(capsys.readouterr().out)["envs"]}
    assert len(envs["EnvTune/BFCL-v0"]["tools"]) == 128 and envs["EnvTune/Travel-v0"]["num_tools"] == 18


# ----------------------------------------------------------------------------------------------------------------
# The docs' tables

ROOT = Path(__file__).resolve().parent.parent
#: Each doc and the tables it holds between ``<!-- table: KIND ... -->`` and ``<!-- end table -->``.
DOC_TABLES = [("README.md", "envs"), ("docs/envs.md", "envs"), ("docs/domains.md", "domains")]


def _documented_table(path: str, kind: str) -> str:
    text = (ROOT / path).read_text(encoding="utf-8")
    found = re.findall(rf"<!-- table: {kind} [^>]*-->\n(.*?)\n<!-- end table -->", text, flags=re.S)
    assert len(found) == 1, f"{path} should hold one '<!-- table: {kind} ... -->' block"
    return found[0]


def _expected_table(kind: str, include_bfcl: bool) -> str:
    if kind == "envs":
        return markdown_env_table(env_catalog(include_bfcl=include_bfcl))
    return markdown_domain_table(include_bfcl=include_bfcl)


def _drop_bfcl_column(table: str) -> list[list[str]]:
    rows = [line.strip("|").split(" | ") for line in table.splitlines()]
    column = next(i for i, title in enumerate(rows[0]) if "BFCL tasks" in title)
    return [row[:column] + row[column + 1 :] for row in rows]


@needs_bfcl
@pytest.mark.parametrize(("path", "kind"), DOC_TABLES)
def test_docs_tables_match_the_registry(path, kind):
    expected = _expected_table(kind, include_bfcl=True)
    assert _documented_table(path, kind) == expected, (
        f"{path}: the {kind} table is out of date; replace the lines between its markers with:\n\n{expected}\n"
    )


@pytest.mark.parametrize(("path", "kind"), DOC_TABLES)
def test_docs_tables_match_the_registry_apart_from_bfcl_counts(path, kind):
    expected = _expected_table(kind, include_bfcl=False)
    assert _drop_bfcl_column(_documented_table(path, kind)) == _drop_bfcl_column(expected), (
        f"{path}: the {kind} table is out of date (BFCL's counts aside: install bfcl-eval to render them); "
        f"the rows should be:\n\n{expected}\n"
    )
