"""Conformance of :class:`envtune_gym.domains.filesystem.FileSystem` with BFCL's ``GorillaFileSystem``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth GorillaFileSystem call of BFCL's four multi-turn categories is replayed on both
  implementations: the result strings must be identical and the trees equal after every turn;
* random call sequences (good names, wrong names, ``.``, ``..``, ``/``, paths, invalid characters) on a few
  scenarios: when the reference succeeds ours returns the same string, when it fails ours raises ToolError and
  changes nothing, and the states stay equal after every call.
"""

from __future__ import annotations

from typing import Any

import pytest

from envtune_gym.domains.filesystem import FileSystem
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

RefDirectory = bfcl.reference_module("gorilla_file_system").Directory
#: Ground-truth GorillaFileSystem calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 231, "long_context": 291, "miss_func": 231, "miss_param": 231}


# ------------------------------------------------------------------------------------------------------------
# Helpers


def tree(node: Any) -> tuple:
    """A directory tree of either implementation as nested tuples: names, contents, entry order."""
    if hasattr(node, "contents"):
        return ("dir", node.name, tuple((key, tree(child)) for key, child in node.contents.items()))
    return ("file", node.name, node.content)


def snapshot(fs: Any) -> tuple:
    """Compared state (root, long_context) plus what the working directory shows (pwd, ls -a)."""
    public = sorted(key for key in vars(fs) if not key.startswith("_"))
    return (public, tree(fs.root), fs.long_context, fs.pwd(), fs.ls(a=True))


def assert_same_state(reference: Any, ours: FileSystem, where: str) -> None:
    assert tree(ours.root) == tree(reference.root), where
    assert snapshot(ours) == snapshot(reference), where


DOMAIN = bfcl.Conformance("GorillaFileSystem", FileSystem, compare=assert_same_state, snapshot=snapshot)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=101)


def test_ground_truth_call_count() -> None:
    total = bfcl.ground_truth_call_count(DOMAIN)
    bfcl.assert_call_count(total, sum(EXPECTED_CALLS.values()), at_least=500)


# ------------------------------------------------------------------------------------------------------------
# Scripted quirks: each sequence runs on both; results must agree call by call


QUIRK_CONFIG = {
    "root": {
        "alex": {
            "type": "directory",
            "contents": {
                "docs": {
                    "type": "directory",
                    "contents": {
                        "notes.txt": {"type": "file", "content": "b line\na line\nc budget line"},
                        "old.txt": {"type": "file", "content": "b line\nchanged\nc budget line\nextra"},
                        "deep": {
                            "type": "directory",
                            "contents": {"leaf.md": {"type": "file", "content": "leaf"}},
                        },
                    },
                },
                "readme.md": {"type": "file", "content": "hello world\nsecond line"},
                ".hidden": {"type": "file", "content": ""},
                "empty": {"type": "directory", "contents": {}},
            },
        },
        "ignored_second_root": {"type": "directory", "contents": {}},
    }
}

QUIRK_SEQUENCES = {
    "rename_dir_stale_parent": [
        "mv('docs', 'papers')",
        "ls()",
        "cd('papers')",
        "cd('deep')",
        "pwd()",
        "cd('..')",
        "pwd()",
        "ls()",
        "touch('x.txt')",
        "cd('..')",
        "pwd()",
        "cd('papers')",
        "ls()",
    ],
    "move_dir_into_sibling": [
        "mv('docs', 'empty')",
        "cd('empty')",
        "cd('docs')",
        "cd('deep')",
        "cd('..')",
        "pwd()",
        "cd('..')",
        "pwd()",
        "cd('..')",
        "pwd()",
    ],
    "shallow_copy_shares_files": [
        "cp('docs', 'copy')",
        "cd('copy')",
        "cd('deep')",
        "echo('changed', 'leaf.md')",
        "cd('..')",
        "cd('..')",
        "cd('docs')",
        "cd('deep')",
        "cat('leaf.md')",
        "cd('..')",
        "touch('only_in_docs.txt')",
        "cd('..')",
        "cd('copy')",
        "ls()",
    ],
    "copy_into_dir_and_clash": [
        "cp('readme.md', 'empty')",
        "cp('readme.md', 'empty')",
        "cp('docs', 'empty')",
        "cp('docs', 'empty')",
        "cp('readme.md', 'docs')",
        "ls()",
    ],
    "tail_slicing": [
        "cd('docs')",
        "tail('old.txt', 0)",
        "tail('old.txt', -1)",
        "tail('old.txt', 2)",
        "tail('old.txt', 100)",
        "tail('old.txt')",
    ],
    "diff_and_text_tools": [
        "cd('docs')",
        "diff('notes.txt', 'old.txt')",
        "diff('old.txt', 'old.txt')",
        "sort('old.txt')",
        "grep('old.txt', 'line')",
        "wc('old.txt')",
        "wc('old.txt', 'w')",
        "wc('old.txt', 'c')",
        "wc('old.txt', 'q')",
    ],
    "find_paths": [
        "find()",
        "find('/')",
        "find('docs')",
        "find('docs/')",
        "find('/docs', 'txt')",
        "find('./docs')",
        "find('alex/docs')",
        "find('docs/..')",
        "find('docs/./deep')",
        "find('.', 'e')",
        "cd('docs')",
        "find('/docs/deep')",
        "find('..')",
        "find(name='notes')",
    ],
    "cd_rules": [
        "cd('/')",
        "cd('.')",
        "cd('docs/')",
        "cd('../')",
        "cd('..')",
        "cd('docs/deep')",
        "cd('/docs')",
        "cd('readme.md')",
        "cd('nope')",
        "cd('')",
        "pwd()",
    ],
    "du_sizes": ["du()", "du(True)", "echo('', 'readme.md')", "cd('docs')", "du(human_readable=True)"],
    "echo_rules": [
        "echo('hi')",
        "echo('hi', '')",
        "echo('hi', 'readme.md')",
        "cat('readme.md')",
        "echo('hi', 'nope.txt')",
        "echo('hi', 'docs')",
        "echo('hi', 'a/b')",
        "cat('docs')",
    ],
    "dot_names": [
        "mkdir('.')",
        "ls(a=True)",
        "cat('.')",
        "echo('x', '.')",
        "rmdir('.')",
        "cd('.')",
        "find()",
        "rm('.')",
        "touch('.')",
        "ls(True)",
        "cat('.')",
        "mv('readme.md', '.')",
        "rm('.')",
        "mv('readme.md', '.')",
        "ls(a=True)",
    ],
    "rename_goes_last": [
        "mv('readme.md', 'a.md')",
        "ls(a=True)",
        "mv('a.md', 'docs')",
        "cd('docs')",
        "ls()",
        "mv('notes.txt', 'old.txt')",
        "mv('notes.txt', 'a/b')",
        "rm('deep')",
        "ls()",
    ],
    "create_rules": [
        "mkdir('new')",
        "mkdir('new')",
        "touch('new')",
        "touch('f.txt')",
        "mkdir('f.txt')",
        "mkdir('a|b')",
        "touch('a:b')",
        "touch('')",
        "mkdir('')",
        "ls()",
        "rmdir('empty')",
        "rmdir('docs')",
        "rmdir('readme.md')",
        "rmdir('nope')",
        "rm('nope')",
    ],
}


@pytest.mark.parametrize("sequence", QUIRK_SEQUENCES)
@pytest.mark.parametrize("long_context", [False, True], ids=["plain", "long_context"])
def test_scripted_quirks_match_bfcl(sequence: str, long_context: bool) -> None:
    bfcl.run_script(DOMAIN, QUIRK_CONFIG, QUIRK_SEQUENCES[sequence], long_context)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences


def _names_in_tree(root: Any, limit: int = 200) -> list[str]:
    names, stack, seen = [], [root], set()
    while stack and len(names) < limit:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for key, child in node.contents.items():
            names.append(key)
            if hasattr(child, "contents"):
                stack.append(child)
    return names


class CallMaker(bfcl.RandomCalls):
    """Random, well-typed calls over the names a scenario has, plus wrong and tricky ones."""

    specs = DOMAIN.specs
    weights = dict.fromkeys(("cd", "mv", "cp", "pwd", "ls"), 3)

    TRICKY = [
        ".",
        "..",
        "/",
        "",
        "./",
        "../",
        "//",
        "nope",
        "nope.txt",
        "a/b",
        "x|y",
        "bad:name",
        "q?",
        ".hidden",
    ]
    FRESH = ["new_dir", "new.txt", "copy", "zz", ".dot", "..", ".", "", "with space", "ünï.md"]
    CONTENTS = ["", "hello", "b line\na line\nc line", "Error here\nall ok\nError again", "x" * 50, "ünï ✓\n"]

    def name(self, kind: str = "") -> str:
        """A name; half the time (when ``kind`` is "file" or "dir") one of that kind in the working directory."""
        here = self.reference._current_dir.contents
        fitting = [n for n, e in here.items() if kind and hasattr(e, "contents") == (kind == "dir")]
        if fitting and self.rng.random() < 0.5:
            return self.rng.choice(fitting)
        everywhere = _names_in_tree(self.reference.root) or ["x"]
        pool = self.rng.choice([list(here) or ["nope"], everywhere, self.TRICKY, self.FRESH])
        return self.rng.choice(pool)

    def path(self) -> str:
        first, second = self.name(), self.name()
        return self.rng.choice(
            [
                ".",
                "/",
                "..",
                "",
                "./",
                first,
                f"/{first}",
                f"{first}/{second}",
                f"/{first}/{second}/",
                f"./{first}",
                f"{first}/..",
                f"{first}/.",
            ]
        )

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        makers = {
            "pwd": dict,
            "ls": lambda: {"a": rng.random() < 0.5},
            "cd": lambda: {"folder": self.path() if rng.random() < 0.3 else self.name("dir")},
            "mkdir": lambda: {"dir_name": self.name()},
            "touch": lambda: {"file_name": self.name()},
            "echo": lambda: {
                "content": rng.choice(self.CONTENTS),
                "file_name": rng.choice([None, "", self.name("file")]),
            },
            "cat": lambda: {"file_name": self.name("file")},
            "find": lambda: {
                "path": self.path(),
                "name": rng.choice([None, "", "a", ".", "txt", self.name()]),
            },
            "wc": lambda: {"file_name": self.name("file"), "mode": rng.choice("lwcz")},
            "sort": lambda: {"file_name": self.name("file")},
            "grep": lambda: {
                "file_name": self.name("file"),
                "pattern": rng.choice(["", "line", "Error", "a"]),
            },
            "du": lambda: {"human_readable": rng.random() < 0.5},
            "tail": lambda: {"file_name": self.name("file"), "lines": rng.randint(-3, 12)},
            "diff": lambda: {"file_name1": self.name("file"), "file_name2": self.name("file")},
            "mv": lambda: {
                "source": self.name(rng.choice(["file", "dir"])),
                "destination": self.name(rng.choice(["", "dir"])),
            },
            "cp": lambda: {
                "source": self.name(rng.choice(["file", "dir"])),
                "destination": self.name(rng.choice(["", "dir"])),
            },
            "rm": lambda: {"file_name": self.name()},
            "rmdir": lambda: {"dir_name": self.name("dir")},
        }
        return makers[tool]()


def _reaches(start: Any, goal: Any) -> bool:
    """Whether goal's contents map is start's or one under it (moved directories share maps)."""
    stack, seen = [start.contents], set()
    while stack:
        entries = stack.pop()
        if entries is goal.contents:
            return True
        if id(entries) not in seen:
            seen.add(id(entries))
            stack.extend(child.contents for child in entries.values() if isinstance(child, RefDirectory))
    return False


def deliberate_deviation(reference: Any, ours: FileSystem, tool: str, bound: dict[str, Any]) -> bool:
    """mv/cp of a directory into a place inside itself: BFCL builds a cycle (or loses it), ours refuses."""
    if tool not in ("mv", "cp"):
        return False
    source, destination = bound["source"], bound["destination"]
    here = reference._current_dir
    if source not in here.contents or "/" in destination:
        return False  # BFCL fails before anything happens
    item = here._get_item(source)  # '.' gives the working directory itself, as BFCL looks it up
    place = here._get_item(destination) if destination in here.contents else here
    return isinstance(item, RefDirectory) and isinstance(place, RefDirectory) and _reaches(item, place)


SEQUENCES, CALLS_PER_SEQUENCE = 120, 60
SCENARIOS = bfcl.scenarios(
    "GorillaFileSystem",
    {
        "base": ["multi_turn_base_0", "multi_turn_base_1", "multi_turn_base_5"],
        "long_context": ["multi_turn_long_context_1", "multi_turn_long_context_3"],
    },
    extra=[("no root", {}, False)],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(
        DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE, deliberate_deviation
    )
    assert counts["agree_ok"] > 1000 and counts["agree_error"] > 1000 and counts["deviation"] > 0, counts
