"""An in-memory file system: a re-implementation of BFCL's ``GorillaFileSystem``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`). BFCL's quirks that show
in results or state are kept on purpose, and marked ``BFCL quirk`` where they are. Failures raise
:class:`ToolError` with a message that says what to do next, and leave the state as it was.

Deliberate differences: BFCL's error texts and its crashes (echo into a directory, cp onto an existing name)
become our own ToolError messages; moving or copying a directory into itself (which in BFCL builds a cycle or
loses the directory) is refused; names, echo content and find's walk are bounded (see the constants below).

Example:
    >>> fs = FileSystem()
    >>> fs.load_scenario({"root": {"alex": {"type": "directory", "contents": {
    ...     "docs": {"type": "directory", "contents": {"a.txt": {"type": "file", "content": "hi"}}}}}}})
    >>> fs.cd("docs"), fs.pwd(), fs.cat("a.txt")
    ({'current_working_directory': 'docs'}, {'current_working_directory': '/alex/docs'}, {'file_content': 'hi'})
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, Literal, NamedTuple

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.tools import tool

#: Longest name mkdir, touch, mv and cp will create.
MAX_NAME_CHARS = 255
#: Longest content echo accepts.
MAX_CONTENT_CHARS = 1_000_000
#: Most entries one find may visit, and most characters of paths it may build (copies share subtrees, so a
#: tree made with few calls can still be huge to walk).
MAX_FIND_ENTRIES = 100_000
MAX_FIND_CHARS = 2_000_000
#: Characters a name may not contain (BFCL's rule, checked by mkdir, touch, echo and cat).
INVALID_NAME_CHARS = '|/\\?%*:"><'
#: How many names an error message lists before it says "and N more".
_LISTED_NAMES = 20


class File:
    """A file: a name and text content. Two files are equal when name and content are (BFCL's rule)."""

    def __init__(self, name: str, content: str = "") -> None:
        self.name = name
        self.content = content

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and self.name == other.name and self.content == other.content

    def __repr__(self) -> str:
        return f"File({self.name!r}, {len(self.content)} chars)"

    def to_jsonable(self) -> str:
        """The file as state diffs show it: its content."""
        return self.content


class Directory:
    """A directory: a name, a parent link and an insertion-ordered map of entries.

    Two directories are equal when their names are and their entries are, recursively, whatever the order of
    entries; parent links are ignored (BFCL's rule). The comparison is iterative, so depth cannot overflow the
    stack, and pairs already found equal are not compared again (copies share subtrees).
    """

    def __init__(self, name: str, parent: Directory | None = None) -> None:
        self.name = name
        self.parent = parent
        self.contents: dict[str, File | Directory] = {}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Directory):
            return False
        pending: list[tuple[Directory, Directory]] = [(self, other)]
        done: set[tuple[int, int]] = set()
        while pending:
            left, right = pending.pop()
            if (id(left), id(right)) in done:
                continue
            done.add((id(left), id(right)))
            if left.name != right.name or left.contents.keys() != right.contents.keys():
                return False
            for key, entry in left.contents.items():
                twin = right.contents[key]
                if isinstance(entry, Directory) and isinstance(twin, Directory):
                    pending.append((entry, twin))
                elif not (isinstance(entry, File) and entry == twin):
                    return False
        return True

    def __repr__(self) -> str:
        return f"Directory({self.name!r}, {len(self.contents)} entries)"

    def to_jsonable(self) -> dict[str, Entry]:
        """The directory as state diffs show it: its entries by name (the diff walks them, depth-bounded)."""
        return dict(self.contents)


Entry = File | Directory


class _LongContext(NamedTuple):
    extension: str  # appended to every file's content...
    exempt: frozenset[str]  # ...except files with these names
    images: tuple[str, ...]  # empty files added to every directory without subdirectories


@functools.cache
def _long_context() -> _LongContext:
    """BFCL's long-context padding, from the bundled data file (read once, on first use)."""
    source = resources.files("envtune_gym.domains") / "data" / "long_context_filesystem.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    return _LongContext(
        data["FILE_CONTENT_EXTENSION"],
        frozenset(data["FILES_TAIL_USED"]),
        tuple(data["POPULATE_FILE_EXTENSION"]),
    )


def _quote(text: str, limit: int = 80) -> str:
    """A name for a message: quoted, and cut short if long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def _kind(entry: Entry | type) -> str:
    return "directory" if entry is Directory or isinstance(entry, Directory) else "file"


def _reaches(start: Directory, goal: Directory) -> bool:
    """Whether ``goal``'s entries are those of ``start`` or of a directory under it.

    Entries maps, not objects, are followed and compared: a moved directory shares its map with the old object.
    """
    stack, seen = [start.contents], set()
    while stack:
        entries = stack.pop()
        if entries is goal.contents:
            return True
        if id(entries) not in seen:
            seen.add(id(entries))
            stack.extend(e.contents for e in entries.values() if isinstance(e, Directory))
    return False


def _relocated(item: Entry, name: str, parent: Directory, share: bool) -> Entry:
    """The new object BFCL builds when it moves (``share``) or copies ``item``.

    BFCL quirk: a moved directory takes over the very same contents map, and a copied one gets a shallow copy
    of it, so the children are the same objects and keep their parent link to the original directory: later
    ``pwd`` and ``cd ..`` from inside follow that stale link, and echo into a copied file changes both copies.
    """
    if isinstance(item, File):
        return File(name, item.content)
    moved = Directory(name, parent)
    moved.contents = item.contents if share else dict(item.contents)
    return moved


class FileSystem(Domain):
    """BFCL's GorillaFileSystem. Compared state: ``root`` and ``long_context``; the working directory is not."""

    name = "GorillaFileSystem"
    description = (
        "This tool belongs to the Gorilla file system. It is a simple file system that allows users to perform "
        "basic file operations such as navigating directories, creating files and directories, reading and "
        "writing to files, etc."
    )

    def __init__(self) -> None:
        self.root = Directory("/")
        self.long_context = False
        self._current_dir = self.root

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Build the tree from ``{"root": {name: {"type": "directory", "contents": {...}}}}``.

        BFCL quirks: only the first key under ``"root"`` is used; without ``"root"`` the root is an empty
        directory named ``/`` (and gets no long-context images, as the loader never runs).
        """
        self.long_context = long_context
        self.root = Directory("/")
        if "root" in config:
            if not config["root"]:
                raise ValueError("GorillaFileSystem config: 'root' must name one top directory")
            name, top = next(iter(config["root"].items()))
            self.root = self._load_into(Directory(name), top["contents"])
        self._current_dir = self.root

    def _load_into(self, directory: Directory, entries: Mapping[str, Any]) -> Directory:
        padding = _long_context() if self.long_context else None
        has_subdirectory = False
        for name, spec in entries.items():
            if spec["type"] == "directory":
                has_subdirectory = True
                directory.contents[name] = self._load_into(Directory(name, directory), spec["contents"])
            elif spec["type"] == "file":  # other types are ignored, as in BFCL
                content = spec["content"]
                if padding and name not in padding.exempt:
                    content += padding.extension
                directory.contents[name] = File(name, content)
        if padding and not has_subdirectory:
            for name in padding.images:
                if name in directory.contents:
                    raise ValueError(
                        f"GorillaFileSystem config: {name!r} clashes with a long-context image file"
                    )
                directory.contents[name] = File(name)
        return directory

    # --------------------------------------------------------------------------------------------------------
    # Copy and pickle without recursion: the tree is flattened into records that refer to each other by index,
    # so shared maps, shared children and stale parent links survive, and depth cannot overflow the stack.

    def __getstate__(self) -> dict[str, Any]:
        index: dict[int, int] = {}
        objects: list[Any] = []

        def ref(obj: Any) -> int:
            if id(obj) not in index:
                index[id(obj)] = len(objects)
                objects.append(obj)
            return index[id(obj)]

        root, cwd = ref(self.root), ref(self._current_dir)
        records: list[tuple[Any, ...]] = []
        for obj in objects:  # grows while we walk it
            if isinstance(obj, File):
                records.append(("file", obj.name, obj.content))
            elif isinstance(obj, Directory):
                parent = -1 if obj.parent is None else ref(obj.parent)
                records.append(("dir", obj.name, parent, ref(obj.contents)))
            else:
                records.append(("map", [(key, ref(entry)) for key, entry in obj.items()]))
        return {"records": records, "root": root, "cwd": cwd, "long_context": self.long_context}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        records = state["records"]
        built: list[Any] = [
            File(r[1], r[2]) if r[0] == "file" else Directory(r[1]) if r[0] == "dir" else {} for r in records
        ]
        for obj, record in zip(built, records, strict=True):
            if record[0] == "dir":
                obj.parent = None if record[2] < 0 else built[record[2]]
                obj.contents = built[record[3]]
            elif record[0] == "map":
                obj.update((key, built[i]) for key, i in record[1])
        self.root = built[state["root"]]
        self.long_context = state["long_context"]
        self._current_dir = built[state["cwd"]]

    # --------------------------------------------------------------------------------------------------------
    # Lookups and messages

    def _entry(self, name: str) -> Entry | None:
        """The entry ``name`` of the working directory, or None.

        BFCL quirk: if an entry is literally named ``.``, looking it up gives the working directory itself.
        """
        if name not in self._current_dir.contents:
            return None
        return self._current_dir if name == "." else self._current_dir.contents[name]

    def _get(self, tool: str, name: str, want: type[File] | type[Directory] | None = None) -> Any:
        """The entry ``name`` of the working directory if it is a ``want`` (any if None); else a ToolError."""
        entry = self._entry(name)
        if entry is None:
            raise self._missing(tool, name, want)
        if want is not None and not isinstance(entry, want):
            wrong = f"{tool}: {_quote(name)} is a {_kind(entry)}, not a {_kind(want)}."
            raise ToolError(f"{wrong} {self._listing(want)}")
        return entry

    def _missing(self, tool: str, name: str, want: type[File] | type[Directory] | None) -> ToolError:
        if "/" in name:
            return ToolError(
                f"{tool}: {_quote(name)} is a path, but {tool} only takes a name in the current directory. "
                f"cd into the directory first (one level per call), then pass the bare name."
            )
        what = "file or directory" if want is None else _kind(want)
        where = f"the current directory ({self._path()})"
        return ToolError(f"{tool}: no {what} named {_quote(name)} in {where}. {self._listing(want)}")

    def _listing(self, want: type[File] | type[Directory] | None = None) -> str:
        names = [n for n, e in self._current_dir.contents.items() if want is None or isinstance(e, want)]
        label = {File: "Files", Directory: "Directories", None: "Entries"}[want]
        if not names:
            return f"There are no {label.lower()} here; use ls() or find() to look around."
        more = f" and {len(names) - _LISTED_NAMES} more" if len(names) > _LISTED_NAMES else ""
        return f"{label} here: {', '.join(_quote(n, 40) for n in names[:_LISTED_NAMES])}{more}."

    def _path(self) -> str:
        # BFCL quirk: the root's own name is part of the path, and stale parent links are followed as they are.
        names = []
        node: Directory | None = self._current_dir
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))

    def _resolve(self, path: str) -> Directory | None:
        """The directory at ``path`` (BFCL's rules), or None.

        ``.`` is the working directory and ``/`` the root; other paths are split on ``/`` and followed from the
        root if they start with ``/``, else from the working directory. BFCL quirks: ``..`` is not understood,
        and absolute paths leave out the root's own name (``/docs``, not ``/alex/docs``).
        """
        if path == ".":
            return self._current_dir
        if path == "/":
            return self.root
        node = self.root if path.startswith("/") else self._current_dir
        for part in path.strip("/").split("/"):
            child = node if part == "." else node.contents.get(part)
            if not isinstance(child, Directory):
                return None
            node = child
        return node

    @staticmethod
    def _check_name(tool: str, name: str, chars: bool = True, length: bool = True) -> None:
        bad = sorted({c for c in name if c in INVALID_NAME_CHARS}) if chars else []
        if bad:
            hint = (
                " Paths are not allowed: cd to the directory, then pass the bare name." if "/" in bad else ""
            )
            raise ToolError(
                f"{tool}: {_quote(name)} contains {', '.join(map(repr, bad))}; names cannot contain any of "
                f"{' '.join(INVALID_NAME_CHARS)}.{hint}"
            )
        if length and len(name) > MAX_NAME_CHARS:
            raise ToolError(f"{tool}: the name is {len(name)} characters long; use at most {MAX_NAME_CHARS}.")

    def _check_free(self, tool: str, name: str, directory: Directory) -> None:
        if name not in directory.contents:
            return
        clash = f"{tool}: {_quote(name)} already exists"
        kind = _kind(directory.contents[name])
        if directory is self._current_dir:
            raise ToolError(f"{clash} here (a {kind}). Pick another name, or rm the existing one first.")
        raise ToolError(
            f"{clash} inside {_quote(directory.name)} (a {kind}). Rename the source first with mv, or cd into "
            f"{_quote(directory.name)} and rm the existing one."
        )

    # --------------------------------------------------------------------------------------------------------
    # Navigation

    @tool
    def pwd(self) -> dict[str, str]:
        """Return the current working directory path."""
        return {"current_working_directory": self._path()}

    @tool
    def ls(self, a: bool = False) -> dict[str, list[str]]:
        """List the contents of the current directory.

        Args:
            a: Also show hidden files and directories (names starting with '.'). Defaults to False.
        """
        names = list(self._current_dir.contents)
        return {"current_directory_content": names if a else [n for n in names if not n.startswith(".")]}

    @tool
    def cd(self, folder: str) -> dict[str, str]:
        """Change the current working directory to the specified folder.

        Args:
            folder: The directory to change to: a name in the current directory, '..' for the parent, or '/'
                for the root. Only one folder level can be changed at a time.

        Returns:
            current_working_directory: The name of the new current directory.
        """
        folder = folder.rstrip("/") or "/"
        if folder not in (".", "..", "/") and "/" in folder:
            raise ToolError(
                f"cd: {_quote(folder)} is a path, but cd moves one level at a time. Call cd once per "
                f"directory name (e.g. cd('a') then cd('b')), or cd('..') to go up."
            )
        if folder == "..":
            if self._current_dir.parent is None:
                top = f"cd: already at the root ({self._path()}); there is no parent to go back to."
                raise ToolError(f"{top} {self._listing(Directory)}")
            self._current_dir = self._current_dir.parent
            return {}  # BFCL quirk: going up returns an empty dict
        # _get only runs when resolving failed, and then raises the reason (missing, or a file).
        target = self._resolve(folder) or self._get("cd", folder, Directory)
        self._current_dir = target
        return {"current_working_directory": target.name}  # BFCL quirk: only the name, not the path

    # --------------------------------------------------------------------------------------------------------
    # Creating and writing

    @tool
    def mkdir(self, dir_name: str) -> None:
        """Create a new directory in the current directory.

        Args:
            dir_name: The name of the new directory. It is created in the current directory; paths are not
                allowed.
        """
        self._check_name("mkdir", dir_name)
        self._check_free("mkdir", dir_name, self._current_dir)
        self._current_dir.contents[dir_name] = Directory(dir_name, self._current_dir)

    @tool
    def touch(self, file_name: str) -> None:
        """Create a new, empty file of any extension in the current directory.

        Args:
            file_name: The name of the new file, local to the current directory; paths are not allowed.
        """
        self._check_name("touch", file_name)
        self._check_free("touch", file_name, self._current_dir)
        self._current_dir.contents[file_name] = File(file_name)

    @tool
    def echo(self, content: str, file_name: str | None = None) -> dict[str, str] | None:
        """Write content to a file in the current directory, or display it in the terminal.

        Args:
            content: The content to write or display.
            file_name: The name of an existing file in the current directory whose content is replaced. If
                omitted, the content is displayed instead. Defaults to None.

        Returns:
            terminal_output: The content, when no file name is given; nothing when it is written to a file.
        """
        if len(content) > MAX_CONTENT_CHARS:
            raise ToolError(
                f"echo: the content is {len(content)} characters; write at most {MAX_CONTENT_CHARS}."
            )
        if file_name is not None:
            self._check_name("echo", file_name, length=False)
        if not file_name:  # BFCL quirk: an empty file name also just prints
            return {"terminal_output": content}
        if self._entry(file_name) is None:
            raise ToolError(
                f"echo: no file named {_quote(file_name)} in the current directory ({self._path()}); echo does "
                f"not create files, so create it with touch first. {self._listing(File)}"
            )
        self._get("echo", file_name, File).content = content  # BFCL raises here for a directory
        return None

    # --------------------------------------------------------------------------------------------------------
    # Reading

    @tool
    def cat(self, file_name: str) -> dict[str, str]:
        """Display the contents of a file of any extension from the current directory.

        Args:
            file_name: The name of a file in the current directory. No path is allowed.
        """
        self._check_name("cat", file_name, length=False)
        return {"file_content": self._get("cat", file_name, File).content}

    @tool
    def find(self, path: str = ".", name: str | None = None) -> dict[str, list[str]]:
        """Find files and directories under a path whose names contain a given string.

        The search goes recursively through every subdirectory of the path, and matches files of any extension
        and directories. If no name is given, every file and directory under the path is returned.

        Args:
            path: The directory to search from. Defaults to the current directory ('.').
            name: The string the names must contain (case-sensitive). If None, all entries are returned.

        Returns:
            matches: The paths of the matching entries, each starting with the given path.
        """
        start = self._resolve(path)
        if start is None:
            raise ToolError(
                f"find: no directory at {_quote(path)}. Use '.' for the current directory ({self._path()}), "
                f"'/' for the root, or a path of directory names such as 'a/b'. {self._listing(Directory)}"
            )
        matches: list[str] = []
        visited = chars = 0
        # Depth-first, pre-order, in insertion order, as BFCL's recursion; an explicit stack of iterators.
        stack: list[tuple[Iterator[tuple[str, Entry]], str]] = [
            (iter(start.contents.items()), path.rstrip("/"))
        ]
        while stack:
            entries, base = stack[-1]
            item = next(entries, None)
            if item is None:
                stack.pop()
                continue
            entry_path = f"{base}/{item[0]}"
            visited, chars = visited + 1, chars + len(entry_path)
            if visited > MAX_FIND_ENTRIES or chars > MAX_FIND_CHARS:
                raise ToolError(
                    f"find: too many entries under {_quote(path)}; search from a deeper directory."
                )
            if name is None or name in item[0]:
                matches.append(entry_path)
            if isinstance(item[1], Directory):
                stack.append((iter(item[1].contents.items()), entry_path))
        return {"matches": matches}

    @tool
    def wc(self, file_name: str, mode: Literal["l", "w", "c"] = "l") -> dict[str, Any]:
        """Count the lines, words or characters of a file of any extension in the current directory.

        Args:
            file_name: The name of a file in the current directory.
            mode: What to count: 'l' for lines, 'w' for words, 'c' for characters. Defaults to 'l'.

        Returns:
            count: The number of lines, words or characters.
            type: The unit counted: 'lines', 'words' or 'characters'.
        """
        if mode not in ("l", "w", "c"):
            valid = "'l' (lines), 'w' (words) or 'c' (characters)"
            raise ToolError(f"wc: invalid mode {_quote(str(mode))}; use {valid}.")
        content = self._get("wc", file_name, File).content
        if mode == "l":
            return {"count": len(content.splitlines()), "type": "lines"}
        if mode == "w":
            return {"count": len(content.split()), "type": "words"}
        return {"count": len(content), "type": "characters"}

    @tool
    def sort(self, file_name: str) -> dict[str, str]:
        """Sort the lines of a file in the current directory.

        Args:
            file_name: The name of a file in the current directory.
        """
        content = self._get("sort", file_name, File).content
        return {"sorted_content": "\n".join(sorted(content.splitlines()))}

    @tool
    def grep(self, file_name: str, pattern: str) -> dict[str, list[str]]:
        """Search a file of any extension in the current directory for lines containing a pattern.

        Args:
            file_name: The name of a file in the current directory. No path is allowed.
            pattern: The text to look for (a plain, case-sensitive substring).
        """
        content = self._get("grep", file_name, File).content
        return {"matching_lines": [line for line in content.splitlines() if pattern in line]}

    @tool
    def du(self, human_readable: bool = False) -> dict[str, str]:
        """Estimate the disk usage of the current directory and everything under it.

        Args:
            human_readable: If True, give the size in human-readable units (e.g. KB, MB). Defaults to False.
        """
        try:
            size: float = self._size(self._current_dir)
        except UnicodeEncodeError:  # lone surrogates in some content; BFCL fails here too
            raise ToolError("du: a file under this directory holds text that is not valid Unicode.") from None
        if not human_readable:
            return {"disk_usage": f"{size} bytes"}
        for unit in ("B", "KB", "MB", "GB", "TB"):
            if size < 1024:
                return {"disk_usage": f"{size:.2f} {unit}"}
            size /= 1024
        return {"disk_usage": f"{size:.2f} PB"}

    @staticmethod
    def _size(top: Directory) -> int:
        """UTF-8 bytes of every file under ``top``, shared subtrees counted once per place (as BFCL does)."""
        sizes: dict[int, int] = {}
        stack = [top]
        while stack:  # post-order without recursion, each directory object computed once
            node = stack[-1]
            if id(node) in sizes:
                stack.pop()
                continue
            todo = [e for e in node.contents.values() if isinstance(e, Directory) and id(e) not in sizes]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            sizes[id(node)] = sum(
                sizes[id(e)] if isinstance(e, Directory) else len(e.content.encode("utf-8"))
                for e in node.contents.values()
            )
        return sizes[id(top)]

    @tool
    def tail(self, file_name: str, lines: int = 10) -> dict[str, str]:
        """Display the last lines of a file of any extension in the current directory.

        Args:
            file_name: The name of a file in the current directory. No path is allowed.
            lines: How many lines to show from the end of the file. Defaults to 10.
        """
        content = self._get("tail", file_name, File).content.splitlines()
        # BFCL quirk: Python slicing, so lines=0 gives the whole file and a negative n drops the first |n|.
        return {"last_lines": "\n".join(content[-min(lines, len(content)) :])}

    @tool
    def diff(self, file_name1: str, file_name2: str) -> dict[str, str]:
        """Compare two files of any extension in the current directory line by line.

        Args:
            file_name1: The name of the first file in the current directory.
            file_name2: The name of the second file in the current directory.

        Returns:
            diff_lines: The differing lines, each pair shown as '- <line of file 1>' then '+ <line of file 2>'.
        """
        first = self._get("diff", file_name1, File).content.splitlines()
        second = self._get("diff", file_name2, File).content.splitlines()
        # BFCL quirk: lines are paired by position, only as far as the shorter file goes.
        pairs = [f"- {a}\n+ {b}" for a, b in zip(first, second, strict=False) if a != b]
        return {"diff_lines": "\n".join(pairs)}

    # --------------------------------------------------------------------------------------------------------
    # Moving, copying, removing

    @tool
    def mv(self, source: str, destination: str) -> dict[str, str]:
        """Move or rename a file or directory in the current directory.

        Args:
            source: The name of the file or directory to move, in the current directory.
            destination: The name of an existing directory in the current directory to move the source into,
                or else the new name for the source. It cannot be a path.
        """
        item, target = self._transfer_target("mv", source, destination)
        del self._current_dir.contents[source]
        if target is None:  # a rename goes to the end of the listing, as in BFCL
            self._current_dir.contents[destination] = _relocated(
                item, destination, self._current_dir, share=True
            )
            return {"result": f"'{source}' moved to '{destination}'"}
        target.contents[source] = _relocated(item, source, target, share=True)
        return {"result": f"'{source}' moved to '{destination}/{source}'"}

    @tool
    def rm(self, file_name: str) -> dict[str, str]:
        """Remove a file or directory (with everything in it) from the current directory.

        Args:
            file_name: The name of the file or directory to remove.
        """
        self._get("rm", file_name)
        del self._current_dir.contents[file_name]
        return {"result": f"'{file_name}' removed"}

    @tool
    def rmdir(self, dir_name: str) -> dict[str, str]:
        """Remove an empty directory from the current directory.

        Args:
            dir_name: The name of the directory to remove, in the current directory.
        """
        directory = self._get("rmdir", dir_name, Directory)
        if directory.contents:
            raise ToolError(
                f"rmdir: {_quote(dir_name)} is not empty ({len(directory.contents)} entries). Remove its "
                f"entries first, or use rm({dir_name!r}) to remove it with everything in it."
            )
        del self._current_dir.contents[dir_name]
        return {"result": f"'{dir_name}' removed"}

    @tool
    def cp(self, source: str, destination: str) -> dict[str, str]:
        """Copy a file or directory in the current directory.

        If the destination is an existing directory, the source is copied into it. Both source and
        destination must be in the current directory.

        Args:
            source: The name of the file or directory to copy.
            destination: The name of an existing directory in the current directory to copy the source into,
                or else the name of the copy. No paths allowed.
        """
        item, target = self._transfer_target("cp", source, destination)
        if target is None:
            self._current_dir.contents[destination] = _relocated(
                item, destination, self._current_dir, share=False
            )
            return {"result": f"'{source}' copied to '{destination}'"}
        target.contents[source] = _relocated(item, source, target, share=False)
        return {"result": f"'{source}' copied to '{destination}/{source}'"}

    def _transfer_target(self, tool: str, source: str, destination: str) -> tuple[Entry, Directory | None]:
        """Check an mv/cp; return the source entry and the directory to put it in (None: a new name here)."""
        item = self._get(tool, source)
        if "/" in destination:
            raise ToolError(
                f"{tool}: the destination must be a name in the current directory, not a path. To reach "
                f"another place, move it step by step into a subdirectory, then cd there."
            )
        target = self._entry(destination)
        if target is None:
            self._check_name(tool, destination, chars=False)  # BFCL allows any character here
        elif not isinstance(target, Directory):
            raise ToolError(
                f"{tool}: {_quote(destination)} is an existing file, not a directory. To replace it, rm it first; "
                f"to put the source in a directory, give a directory name. {self._listing(Directory)}"
            )
        else:
            self._check_free(tool, source, target)  # for cp, BFCL raises here
        # Deliberate: BFCL would build a cycle (or lose the directory) when the place is inside the source,
        # e.g. mv('d', 'd'), a source named '.', or a subdirectory that a shallow copy shares with the source.
        if isinstance(item, Directory) and _reaches(item, target or self._current_dir):
            raise ToolError(
                f"{tool}: that would put the directory {_quote(source)} inside itself ({_quote(destination)} is "
                f"{_quote(source)} or lies within it; copies share subdirectories). Pick another destination."
            )
        return item, target
