"""An in-memory file system: a re-implementation of BFCL's ``GorillaFileSystem``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`). BFCL's quirks that show
in results or state are kept on purpose, and marked ``BFCL quirk`` where they are. Failures raise
:class:`ToolError` with a message that says what to do next, and leave the state as it was.

Deliberate differences: BFCL's error texts and its crashes (echo into a directory, cp onto an existing name)
become our own ToolError messages; moving or copying a directory into itself (which in BFCL builds a cycle or
loses the directory) is refused; names, echo content and find's walk are bounded (see the constants below,
and ``MAX_NAME_CHARS``).

The tree (:class:`File`, :class:`Directory`), the name limits and the helpers that need no FileSystem live in
:mod:`envtune_gym.domains.filesystem_tree`; the tree classes and the name limits are re-exported here.

Example:
    >>> fs = FileSystem()
    >>> fs.load_scenario({"root": {"alex": {"type": "directory", "contents": {
    ...     "docs": {"type": "directory", "contents": {"a.txt": {"type": "file", "content": "hi"}}}}}}})
    >>> fs.cd("docs"), fs.pwd(), fs.cat("a.txt")
    ({'current_working_directory': 'docs'}, {'current_working_directory': '/alex/docs'}, {'file_content': 'hi'})
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Literal

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.domains.filesystem_tree import (
    INVALID_NAME_CHARS,
    MAX_NAME_CHARS,
    Directory,
    Entry,
    File,
    LongContext,
    build_tree,
    check_name,
    dir_path,
    kind,
    quote,
    reaches,
    relocated,
    resolve_dir,
    tree_size,
)
from envtune_gym.domains.registry import register_domain
from envtune_gym.tools import tool

__all__ = ["INVALID_NAME_CHARS", "MAX_CONTENT_CHARS", "MAX_FIND_CHARS", "MAX_FIND_ENTRIES", "MAX_NAME_CHARS"]
__all__ += ["Directory", "Entry", "File", "FileSystem"]

#: Longest content echo accepts.
MAX_CONTENT_CHARS = 1_000_000
#: Most entries one find may visit, and most characters of paths it may build (copies share subtrees, so a
#: tree made with few calls can still be huge to walk). Sized so that a step of 64 finds stays well under 2 s on a
#: small CPU; BFCL's ground-truth finds return a few dozen paths.
MAX_FIND_ENTRIES = 20_000
MAX_FIND_CHARS = 1_000_000
#: How many names an error message lists before it says "and N more".
_LISTED_NAMES = 20


class FileSystem(Domain):
    """BFCL's GorillaFileSystem. Compared state: ``root`` and ``long_context``; the working directory is not."""

    name = "GorillaFileSystem"
    description = (
        "This tool belongs to the Gorilla file system. It is a simple file system that allows users to perform "
        "basic file operations such as navigating directories, creating files and directories, reading and "
        "writing to files, etc."
    )

    long_context_file = "long_context_filesystem.json"

    @classmethod
    def shape_long_context(cls, data: dict[str, Any]) -> LongContext:
        """BFCL's padding of file contents and its image files (see :class:`LongContext`)."""
        return LongContext.from_json(data)

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
            padding = self.long_context_padding() if long_context else None
            self.root = build_tree(Directory(name), top["contents"], padding)
        self._current_dir = self.root

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
            wrong = f"{tool}: {quote(name)} is a {kind(entry)}, not a {kind(want)}."
            raise ToolError(f"{wrong} {self._listing(want)}")
        return entry

    def _missing(self, tool: str, name: str, want: type[File] | type[Directory] | None) -> ToolError:
        if "/" in name:
            return ToolError(
                f"{tool}: {quote(name)} is a path, but {tool} only takes a name in the current directory. "
                f"cd into the directory first (one level per call), then pass the bare name."
            )
        what = "file or directory" if want is None else kind(want)
        where = f"the current directory ({dir_path(self._current_dir)})"
        return ToolError(f"{tool}: no {what} named {quote(name)} in {where}. {self._listing(want)}")

    def _listing(self, want: type[File] | type[Directory] | None = None) -> str:
        names = [n for n, e in self._current_dir.contents.items() if want is None or isinstance(e, want)]
        label = {File: "Files", Directory: "Directories", None: "Entries"}[want]
        if not names:
            return f"There are no {label.lower()} here; use ls() or find() to look around."
        more = f" and {len(names) - _LISTED_NAMES} more" if len(names) > _LISTED_NAMES else ""
        return f"{label} here: {', '.join(quote(n, 40) for n in names[:_LISTED_NAMES])}{more}."

    def _check_free(self, tool: str, name: str, directory: Directory) -> None:
        if name not in directory.contents:
            return
        clash = f"{tool}: {quote(name)} already exists"
        what = kind(directory.contents[name])
        if directory is self._current_dir:
            raise ToolError(f"{clash} here (a {what}). Pick another name, or rm the existing one first.")
        raise ToolError(
            f"{clash} inside {quote(directory.name)} (a {what}). Rename the source first with mv, or cd into "
            f"{quote(directory.name)} and rm the existing one."
        )

    # --------------------------------------------------------------------------------------------------------
    # Navigation

    @tool
    def pwd(self) -> dict[str, str]:
        """Return the current working directory path."""
        return {"current_working_directory": dir_path(self._current_dir)}

    @tool(lists=True)
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
                f"cd: {quote(folder)} is a path, but cd moves one level at a time. Call cd once per "
                f"directory name (e.g. cd('a') then cd('b')), or cd('..') to go up."
            )
        if folder == "..":
            if self._current_dir.parent is None:
                top = f"cd: already at the root ({dir_path(self._current_dir)}); there is no parent to go back to."
                raise ToolError(f"{top} {self._listing(Directory)}")
            self._current_dir = self._current_dir.parent
            return {}  # BFCL quirk: going up returns an empty dict
        # _get only runs when resolving failed, and then raises the reason (missing, or a file).
        target = resolve_dir(folder, self.root, self._current_dir) or self._get("cd", folder, Directory)
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
        check_name("mkdir", dir_name)
        self._check_free("mkdir", dir_name, self._current_dir)
        self._current_dir.contents[dir_name] = Directory(dir_name, self._current_dir)

    @tool
    def touch(self, file_name: str) -> None:
        """Create a new, empty file of any extension in the current directory.

        Args:
            file_name: The name of the new file, local to the current directory; paths are not allowed.
        """
        check_name("touch", file_name)
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
            check_name("echo", file_name, length=False)
        if not file_name:  # BFCL quirk: an empty file name also just prints
            return {"terminal_output": content}
        if self._entry(file_name) is None:
            raise ToolError(
                f"echo: no file named {quote(file_name)} in the current directory ({dir_path(self._current_dir)}); echo does "
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
        check_name("cat", file_name, length=False)
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
        start = resolve_dir(path, self.root, self._current_dir)
        if start is None:
            raise ToolError(
                f"find: no directory at {quote(path)}. Use '.' for the current directory ({dir_path(self._current_dir)}), "
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
                    f"find: too many entries under {quote(path)}; search from a deeper directory."
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
            raise ToolError(f"wc: invalid mode {quote(str(mode))}; use {valid}.")
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

    #: UTF-8 bytes of every file under a directory (a static method, so tests can stand in for it).
    _size = staticmethod(tree_size)

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
            self._current_dir.contents[destination] = relocated(
                item, destination, self._current_dir, share=True
            )
            return {"result": f"'{source}' moved to '{destination}'"}
        target.contents[source] = relocated(item, source, target, share=True)
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
                f"rmdir: {quote(dir_name)} is not empty ({len(directory.contents)} entries). Remove its "
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
            self._current_dir.contents[destination] = relocated(
                item, destination, self._current_dir, share=False
            )
            return {"result": f"'{source}' copied to '{destination}'"}
        target.contents[source] = relocated(item, source, target, share=False)
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
            check_name(tool, destination, chars=False)  # BFCL allows any character here
        elif not isinstance(target, Directory):
            raise ToolError(
                f"{tool}: {quote(destination)} is an existing file, not a directory. To replace it, rm it first; "
                f"to put the source in a directory, give a directory name. {self._listing(Directory)}"
            )
        else:
            self._check_free(tool, source, target)  # for cp, BFCL raises here
        # Deliberate: BFCL would build a cycle (or lose the directory) when the place is inside the source,
        # e.g. mv('d', 'd'), a source named '.', or a subdirectory that a shallow copy shares with the source.
        if isinstance(item, Directory) and reaches(item, target or self._current_dir):
            raise ToolError(
                f"{tool}: that would put the directory {quote(source)} inside itself ({quote(destination)} is "
                f"{quote(source)} or lies within it; copies share subdirectories). Pick another destination."
            )
        return item, target


register_domain(FileSystem, env_id="EnvTune/FileSystem-v0", task_set="filesystem", order=10)
