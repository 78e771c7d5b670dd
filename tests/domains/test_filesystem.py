"""Unit tests of the GorillaFileSystem re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import pickle
import sys
from importlib import resources
from typing import Any

import pytest

from envtune_gym.domains import domain_class
from envtune_gym.domains import filesystem as fsmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.filesystem import Directory, File, FileSystem
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

CONFIG = {
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
                "odd": {"type": "link", "target": "ignored"},
            },
        },
        "second_root_is_dropped": {"type": "directory", "contents": {}},
    }
}
BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
BFCL_ORDER = [
    "pwd", "ls", "cd", "mkdir", "touch", "echo", "cat", "find", "wc", "sort", "grep", "du", "tail", "diff", "mv",
    "rm", "rmdir", "cp",
]  # fmt: skip


@pytest.fixture
def fs() -> FileSystem:
    system = FileSystem()
    system.load_scenario(copy.deepcopy(CONFIG))
    return system


def tree(node: Any) -> tuple:
    if isinstance(node, Directory):
        return ("dir", node.name, tuple((key, tree(child)) for key, child in node.contents.items()))
    return ("file", node.name, node.content)


def observe(system: FileSystem) -> tuple:
    """Everything a failing call must leave alone: the tree and where we are."""
    return tree(system.root), system.long_context, system.pwd(), system.ls(a=True)


def fails(system: FileSystem, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(system)
    with pytest.raises(ToolError) as info:
        getattr(system, tool)(*args, **kwargs)
    assert observe(system) == before, f"{tool} failed but changed the state"
    return str(info.value)


def cd_path(system: FileSystem, *names: str) -> None:
    for name in names:
        system.cd(name)


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata_and_registration() -> None:
    assert FileSystem.name == "GorillaFileSystem"
    assert FileSystem.description.startswith("This tool belongs to the Gorilla file system.")
    assert domain_class("GorillaFileSystem") is FileSystem


def test_load_uses_only_first_root_key_and_ignores_unknown_types(fs: FileSystem) -> None:
    assert fs.root.name == "alex"
    assert list(fs.root.contents) == ["docs", "readme.md", ".hidden", "empty"]
    assert fs.root.contents["docs"].parent is fs.root
    assert fs.pwd() == {"current_working_directory": "/alex"}


def test_load_without_root_gives_empty_slash_root() -> None:
    system = FileSystem()
    system.load_scenario({}, long_context=True)  # BFCL's loader never runs: no images either
    assert system.root.name == "/" and system.root.contents == {}
    assert system.pwd() == {"current_working_directory": "//"}
    assert system.cd("/") == {"current_working_directory": "/"}
    with pytest.raises(ValueError):
        system.load_scenario({"root": {}})


def test_public_state_is_root_and_long_context(fs: FileSystem) -> None:
    assert set(fs.state()) == {"root", "long_context"}
    fs.cd("docs")
    other = FileSystem()
    other.load_scenario(copy.deepcopy(CONFIG))
    assert fs.state() == other.state()  # the working directory is not compared


def test_long_context_padding_and_images() -> None:
    system = FileSystem()
    system.load_scenario(copy.deepcopy(CONFIG), long_context=True)
    data = json.loads(
        resources.files("envtune_gym.domains").joinpath("data/long_context_filesystem.json").read_text()
    )
    extension, images = data["FILE_CONTENT_EXTENSION"], data["POPULATE_FILE_EXTENSION"]
    assert len(extension) == 3251 and len(images) == 30 and "BFCL" in data["_source"]
    docs = system.root.contents["docs"]
    assert docs.contents["notes.txt"].content == "b line\na line\nc budget line" + extension
    assert system.root.contents["readme.md"].content.endswith(extension)
    # directories without subdirectories get the 30 images after their own entries; others get none
    assert list(docs.contents["deep"].contents) == ["leaf.md", *images]
    assert list(system.root.contents["empty"].contents) == images
    assert not any(name.startswith("image_") for name in docs.contents)
    assert system.long_context is True


def test_long_context_exempt_names_are_not_padded() -> None:
    system = FileSystem()
    system.load_scenario(
        {
            "root": {
                "r": {
                    "type": "directory",
                    "contents": {
                        "log.txt": {"type": "file", "content": "x"},
                        "config.py": {"type": "file", "content": "y"},
                    },
                }
            }
        },
        True,
    )
    assert system.root.contents["log.txt"].content == "x" and system.root.contents["config.py"].content == "y"
    assert len(system.root.contents) == 32  # the root has no subdirectory: it gets the images


def test_long_context_data_is_loaded_once() -> None:
    assert FileSystem.long_context_padding() is FileSystem.long_context_padding()


def test_long_context_data_matches_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.long_context", reason=NO_BFCL)

    data = json.loads(
        resources.files("envtune_gym.domains").joinpath("data/long_context_filesystem.json").read_text()
    )
    assert data["FILE_CONTENT_EXTENSION"] == reference.FILE_CONTENT_EXTENSION
    assert data["FILES_TAIL_USED"] == list(reference.FILES_TAIL_USED)
    assert data["POPULATE_FILE_EXTENSION"] == list(reference.POPULATE_FILE_EXTENSION)


# ------------------------------------------------------------------------------------------------------------
# File and Directory


def test_equality_semantics() -> None:
    assert File("a", "x") == File("a", "x") and File("a", "x") != File("a", "y") and File("a") != File("b")
    left, right = Directory("d"), Directory("d", parent=Directory("elsewhere"))
    left.contents = {"f": File("f", "1"), "s": Directory("s")}
    right.contents = {"s": Directory("s"), "f": File("f", "1")}  # order and parents are ignored
    assert left == right
    right.contents["s"].contents["new"] = File("new")
    assert left != right
    assert Directory("d") != Directory("e") and Directory("f") != File("f") and File("f") != Directory("f")
    assert "File('a'" in repr(File("a")) and "Directory('d'" in repr(Directory("d"))


def deep_chain(depth: int) -> Directory:
    root = node = Directory("r")
    for level in range(depth):
        child = Directory(f"d{level}", node)
        node.contents[child.name] = child
        node = child
    node.contents["end.txt"] = File("end.txt", "end")
    return root


def test_deep_trees_do_not_overflow_the_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsmod, "MAX_FIND_CHARS", 10**9)  # the paths alone are ~60M characters
    depth = 5 * sys.getrecursionlimit()
    assert deep_chain(depth) == deep_chain(depth)
    system = FileSystem()
    system.root = system._current_dir = deep_chain(depth)
    assert len(system.find()["matches"]) == depth + 1
    assert system.du() == {"disk_usage": "3 bytes"}
    for clone in (system.clone(), pickle.loads(pickle.dumps(system))):
        assert clone.root == system.root and clone.root is not system.root


# ------------------------------------------------------------------------------------------------------------
# Navigation


def test_pwd_ls_cd(fs: FileSystem) -> None:
    assert fs.ls() == {"current_directory_content": ["docs", "readme.md", "empty"]}
    assert fs.ls(a=True) == {"current_directory_content": ["docs", "readme.md", ".hidden", "empty"]}
    assert fs.cd("docs/") == {"current_working_directory": "docs"}  # only the name
    assert fs.cd("deep") == {"current_working_directory": "deep"}
    assert fs.pwd() == {"current_working_directory": "/alex/docs/deep"}  # the root's name is included
    assert fs.cd("..") == {} and fs.cd("../") == {}
    assert fs.cd(".") == {"current_working_directory": "alex"}
    fs.cd("docs")
    assert fs.cd("/") == {"current_working_directory": "alex"} and fs.cd("") == {
        "current_working_directory": "alex"
    }
    fs.cd("docs")
    assert serialize_result(fs.cd("..")) == "{}"


def test_cd_failures_explain_what_to_do(fs: FileSystem) -> None:
    assert "one level at a time" in fails(fs, "cd", "docs/deep")
    assert "one level at a time" in fails(fs, "cd", "/docs")
    assert "already at the root" in fails(fs, "cd", "..")
    message = fails(fs, "cd", "readme.md")
    assert "is a file" in message and "'docs'" in message
    message = fails(fs, "cd", "nope")
    assert "no directory named 'nope'" in message and "Directories here: 'docs', 'empty'" in message


# ------------------------------------------------------------------------------------------------------------
# Creating and writing


def test_mkdir_and_touch(fs: FileSystem) -> None:
    assert fs.mkdir("new") is None and fs.touch("n.txt") is None
    assert list(fs.root.contents)[-2:] == ["new", "n.txt"]
    assert fs.root.contents["new"].parent is fs.root and fs.root.contents["n.txt"].content == ""
    assert "already exists" in fails(fs, "mkdir", "new")
    assert "already exists" in fails(fs, "touch", "docs")
    message = fails(fs, "mkdir", "a/b")
    assert "'/'" in message and "cd" in message
    assert "':'" in fails(fs, "touch", "a:b")
    assert f"at most {fsmod.MAX_NAME_CHARS}" in fails(fs, "touch", "x" * (fsmod.MAX_NAME_CHARS + 1))
    fs.touch("x" * fsmod.MAX_NAME_CHARS)


def test_echo(fs: FileSystem) -> None:
    assert fs.echo("hi") == {"terminal_output": "hi"}
    assert fs.echo("hi", "") == {"terminal_output": "hi"}  # an empty name also prints
    assert fs.echo("new text", "readme.md") is None
    assert fs.cat("readme.md") == {"file_content": "new text"}
    message = fails(fs, "echo", "x", "nope.txt")
    assert "does not create files" in message and "touch" in message
    assert "is a directory" in fails(fs, "echo", "x", "docs")  # BFCL raises AttributeError here
    assert "'/'" in fails(fs, "echo", "x", "docs/notes.txt")
    assert f"at most {fsmod.MAX_CONTENT_CHARS}" in fails(fs, "echo", "x" * (fsmod.MAX_CONTENT_CHARS + 1))


# ------------------------------------------------------------------------------------------------------------
# Reading


def test_cat(fs: FileSystem) -> None:
    assert fs.cat("readme.md") == {"file_content": "hello world\nsecond line"}
    assert "is a directory" in fails(fs, "cat", "docs")
    message = fails(fs, "cat", "nope.txt")
    assert "no file named 'nope.txt'" in message and "'readme.md'" in message and "/alex" in message
    assert "'/'" in fails(fs, "cat", "docs/notes.txt")


def test_find_paths(fs: FileSystem) -> None:
    every = ["./docs", "./docs/notes.txt", "./docs/old.txt", "./docs/deep", "./docs/deep/leaf.md",
             "./readme.md", "./.hidden", "./empty"]  # fmt: skip
    assert fs.find() == {"matches": every}
    assert fs.find("/")["matches"][0] == "/docs"
    assert fs.find("docs/", "txt") == {"matches": ["docs/notes.txt", "docs/old.txt"]}
    assert fs.find("./docs/./deep") == {"matches": ["./docs/./deep/leaf.md"]}
    assert fs.find(name="") == fs.find(name=None)
    assert fs.find(name="E") == {"matches": []}  # case-sensitive
    fs.cd("docs")
    assert fs.find("/docs/deep") == {"matches": ["/docs/deep/leaf.md"]}  # absolute paths skip the root's name
    for bad in ("/alex/docs", "..", "deep/..", "notes.txt", "nope"):
        assert "no directory at" in fails(fs, "find", bad)


def test_find_is_bounded(fs: FileSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsmod, "MAX_FIND_ENTRIES", 4)
    assert "too many entries" in fails(fs, "find", "/")
    assert len(fs.find("docs")["matches"]) == 4
    monkeypatch.setattr(fsmod, "MAX_FIND_CHARS", 20)
    assert "too many entries" in fails(fs, "find", "docs")


def test_wc_sort_grep(fs: FileSystem) -> None:
    fs.cd("docs")
    assert fs.wc("old.txt") == {"count": 4, "type": "lines"}
    assert fs.wc("old.txt", "w") == {"count": 7, "type": "words"}
    assert fs.wc("old.txt", mode="c") == {"count": 34, "type": "characters"}
    assert "'l' (lines), 'w' (words) or 'c' (characters)" in fails(fs, "wc", "old.txt", "x")
    assert fs.sort("old.txt") == {"sorted_content": "b line\nc budget line\nchanged\nextra"}
    assert fs.grep("old.txt", "line") == {"matching_lines": ["b line", "c budget line"]}
    for tool in ("wc", "sort"):
        assert "no file named" in fails(fs, tool, "nope")
    assert "is a directory" in fails(fs, "grep", "deep", "x")


def test_du(fs: FileSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    assert fs.du() == {"disk_usage": "88 bytes"}
    assert fs.du(human_readable=True) == {"disk_usage": "88.00 B"}
    fs.echo("é" * 1536, "readme.md")  # 2 bytes each in UTF-8
    assert fs.du(True) == {"disk_usage": "3.06 KB"}
    for size, text in (
        (1024**2, "1.00 MB"),
        (5 * 1024**3, "5.00 GB"),
        (1024**4, "1.00 TB"),
        (3 * 1024**5, "3.00 PB"),
    ):
        monkeypatch.setattr(FileSystem, "_size", staticmethod(lambda top, size=size: size))
        assert fs.du(True) == {"disk_usage": text}
    assert fs.du() == {"disk_usage": f"{3 * 1024**5} bytes"}


def test_tail_slicing_quirks(fs: FileSystem) -> None:
    fs.cd("docs")
    whole = "b line\nchanged\nc budget line\nextra"
    assert fs.tail("old.txt") == {"last_lines": whole}
    assert fs.tail("old.txt", 2) == {"last_lines": "c budget line\nextra"}
    assert fs.tail("old.txt", 0) == {"last_lines": whole}  # [-0:]
    assert fs.tail("old.txt", -1) == {"last_lines": "changed\nc budget line\nextra"}  # drops the first line
    assert "no file named" in fails(fs, "tail", "nope")


def test_diff_pairs_lines_by_position(fs: FileSystem) -> None:
    fs.cd("docs")
    assert fs.diff("notes.txt", "old.txt") == {"diff_lines": "- a line\n+ changed"}  # 'extra' is never seen
    assert fs.diff("old.txt", "old.txt") == {"diff_lines": ""}
    assert "no file named 'nope'" in fails(fs, "diff", "old.txt", "nope")


# ------------------------------------------------------------------------------------------------------------
# Moving, copying, removing


def test_mv_rename_goes_last_and_into_directory(fs: FileSystem) -> None:
    assert fs.mv("readme.md", "a.md") == {"result": "'readme.md' moved to 'a.md'"}
    assert list(fs.root.contents) == ["docs", ".hidden", "empty", "a.md"]
    assert fs.mv("a.md", "empty") == {"result": "'a.md' moved to 'empty/a.md'"}
    assert fs.root.contents["empty"].contents["a.md"] == File("a.md", "hello world\nsecond line")
    assert fs.mv("docs", "y|z") == {"result": "'docs' moved to 'y|z'"}  # BFCL checks no characters here


def test_mv_failures(fs: FileSystem) -> None:
    fs.touch("clash")
    fs.cd("empty")
    fs.touch("clash")
    fs.cd("..")
    assert "no file or directory named 'nope'" in fails(fs, "mv", "nope", "x")
    assert "not a path" in fails(fs, "mv", "readme.md", "docs/x")
    assert "is an existing file" in fails(fs, "mv", "docs", "readme.md")
    assert "already exists inside 'empty'" in fails(fs, "mv", "clash", "empty")
    assert "inside itself" in fails(fs, "mv", "docs", "docs")  # BFCL would lose 'docs' in a cycle
    assert f"at most {fsmod.MAX_NAME_CHARS}" in fails(fs, "mv", "readme.md", "y" * 300)


def test_moved_directory_keeps_stale_parent_links(fs: FileSystem) -> None:
    fs.mv("docs", "papers")
    cd_path(fs, "papers", "deep")
    # BFCL quirk: the children still point at the old 'docs' object, so the path shows the old name
    assert fs.pwd() == {"current_working_directory": "/alex/docs/deep"}
    fs.cd("..")
    assert fs.pwd() == {"current_working_directory": "/alex/docs"}
    fs.touch("made_in_old_object.txt")  # the old object shares its entries with 'papers'
    fs.cd("..")
    assert "made_in_old_object.txt" in fs.root.contents["papers"].contents


def test_cp_is_shallow(fs: FileSystem) -> None:
    assert fs.cp("docs", "copy") == {"result": "'docs' copied to 'copy'"}
    assert fs.cp("readme.md", "empty") == {"result": "'readme.md' copied to 'empty/readme.md'"}
    cd_path(fs, "copy", "deep")
    fs.echo("changed", "leaf.md")  # the copy shares its children with the original
    assert fs.pwd() == {"current_working_directory": "/alex/docs/deep"}
    cd_path(fs, "..", "..", "docs")
    assert fs.root.contents["docs"].contents["deep"].contents["leaf.md"].content == "changed"
    fs.touch("only_in_docs.txt")  # but the entry maps themselves are separate
    assert "only_in_docs.txt" not in fs.root.contents["copy"].contents


def test_cp_failures(fs: FileSystem) -> None:
    fs.cp("readme.md", "empty")
    assert "already exists inside 'empty'" in fails(fs, "cp", "readme.md", "empty")  # BFCL raises here
    assert "is an existing file" in fails(fs, "cp", "docs", "readme.md")
    assert "not a path" in fails(fs, "cp", "docs", "/x")
    assert "inside itself" in fails(fs, "cp", "docs", "docs")
    fs.cp("docs", "twin")  # 'twin' shares 'deep' with 'docs'...
    fs.mv("twin", "docs")  # ...and now lies in 'docs'
    fs.cd("docs")
    assert "inside itself" in fails(fs, "mv", "twin", "deep")  # 'deep' is also inside 'twin'


def test_dot_entry_quirk(fs: FileSystem) -> None:
    assert fs.mkdir(".") is None  # BFCL allows it; looking '.' up then gives the current directory
    assert fs.ls(a=True)["current_directory_content"][-1] == "."
    assert "is a directory" in fails(fs, "cat", ".")
    assert "not empty" in fails(fs, "rmdir", ".")
    assert "inside itself" in fails(fs, "mv", ".", "elsewhere")
    assert "inside itself" in fails(fs, "cp", ".", "empty")
    assert fs.rm(".") == {"result": "'.' removed"}


def test_rm_and_rmdir(fs: FileSystem) -> None:
    assert "not empty" in fails(fs, "rmdir", "docs")
    assert "is a file" in fails(fs, "rmdir", "readme.md")
    assert "no directory named" in fails(fs, "rmdir", "nope")
    assert fs.rmdir("empty") == {"result": "'empty' removed"}
    assert fs.rm("docs") == {"result": "'docs' removed"}  # even when not empty
    assert fs.rm("readme.md") == {"result": "'readme.md' removed"}
    assert "no file or directory named" in fails(fs, "rm", "readme.md")
    assert list(fs.root.contents) == [".hidden"]


def test_messages_list_a_bounded_number_of_names(fs: FileSystem) -> None:
    for number in range(30):
        fs.touch(f"f{number}")
    assert "and 12 more" in fails(fs, "cat", "nope")


# ------------------------------------------------------------------------------------------------------------
# Copying the domain


def test_clone_and_pickle_keep_sharing_and_stale_links(fs: FileSystem) -> None:
    fs.cp("docs", "copy")
    fs.mv("docs", "papers")
    cd_path(fs, "copy", "deep")
    for clone in (fs.clone(), pickle.loads(pickle.dumps(fs)), copy.copy(fs)):
        assert clone.state() == fs.state() and clone.root is not fs.root
        assert clone.pwd() == {"current_working_directory": "/alex/docs/deep"}
        clone.echo("shared", "leaf.md")
        clone.cd("..")
        clone.cd("..")
        clone.cd("papers")  # papers took over docs' entries, which share 'deep' with the copy
        clone.cd("deep")
        assert clone.cat("leaf.md") == {"file_content": "shared"}
    assert fs.cat("leaf.md") == {"file_content": "leaf"}


# ------------------------------------------------------------------------------------------------------------
# Schemas and the registry


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(FileSystem)}
    assert sorted(specs) == sorted(BFCL_ORDER) and len(specs) == 18
    expected = {
        "pwd": ([], {}), "ls": ([], {"a": False}), "cd": (["folder"], {}), "mkdir": (["dir_name"], {}),
        "touch": (["file_name"], {}), "echo": (["content"], {"file_name": None}), "cat": (["file_name"], {}),
        "find": ([], {"path": ".", "name": None}), "wc": (["file_name"], {"mode": "l"}),
        "sort": (["file_name"], {}), "grep": (["file_name", "pattern"], {}), "du": ([], {"human_readable": False}),
        "tail": (["file_name"], {"lines": 10}), "diff": (["file_name1", "file_name2"], {}),
        "mv": (["source", "destination"], {}), "rm": (["file_name"], {}), "rmdir": (["dir_name"], {}),
        "cp": (["source", "destination"], {}),
    }  # fmt: skip
    for name, (required, defaults) in expected.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert {k: v["default"] for k, v in params["properties"].items() if "default" in v} == defaults, name
        assert specs[name].param_order == tuple(required) + tuple(defaults), name
        assert specs[name].description.startswith(FileSystem.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    assert specs["wc"].parameters["properties"]["mode"]["enum"] == ["l", "w", "c"]
    assert specs["echo"].parameters["properties"]["file_name"]["type"] == ["string", "null"]
    assert specs["tail"].parameters["properties"]["lines"]["type"] == "integer"


def test_registry_dispatch(fs: FileSystem) -> None:
    tools = ToolRegistry([fs])
    assert (
        tools.execute("cd", tools.bind("cd", ("docs",), {})).result == '{"current_working_directory": "docs"}'
    )
    assert tools.execute("touch", {"file_name": "x"}).result == "None"
    outcome = tools.execute("cat", {"file_name": "nope"})
    assert outcome.error == "tool_error" and json.loads(outcome.result)["error"].startswith("cat: no file")
    assert tools.execute("wc", {"file_name": "old.txt", "mode": "z"}).error == "invalid_arguments"
    assert tools.execute("find", {"name": None}).error is None
