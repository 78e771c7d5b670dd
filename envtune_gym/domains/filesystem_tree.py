"""The in-memory tree of the file system domain (:mod:`envtune_gym.domains.filesystem`), and its pure helpers.

:class:`File` and :class:`Directory` model BFCL's tree, quirks included (shared entries maps, stale parent
links). The helpers load a scenario's entries, resolve paths, check names, measure and relocate entries, and
word parts of error messages; they take what they need as arguments and keep no state of their own.

Example:
    >>> root = build_tree(Directory("alex"), {"docs": {"type": "directory", "contents": {}}}, None)
    >>> docs = resolve_dir("/docs", root, root)
    >>> docs == Directory("docs"), dir_path(docs), kind(docs), quote("x" * 90, 10)
    (True, '/alex/docs', 'directory', "'xxxxxxx...'")
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from envtune_gym.domains.base import ToolError

#: Longest name mkdir, touch, mv and cp will create.
MAX_NAME_CHARS = 255
#: Characters a name may not contain (BFCL's rule, checked by mkdir, touch, echo and cat).
INVALID_NAME_CHARS = '|/\\?%*:"><'


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


# ------------------------------------------------------------------------------------------------------------
# Loading


class LongContext(NamedTuple):
    """BFCL's long-context padding of a scenario's tree."""

    extension: str  # appended to every file's content...
    exempt: frozenset[str]  # ...except files with these names
    images: tuple[str, ...]  # empty files added to every directory without subdirectories

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LongContext:
        """The padding from ``long_context_filesystem.json`` (BFCL's constants, by their names)."""
        return cls(
            data["FILE_CONTENT_EXTENSION"],
            frozenset(data["FILES_TAIL_USED"]),
            tuple(data["POPULATE_FILE_EXTENSION"]),
        )


def build_tree(directory: Directory, entries: Mapping[str, Any], padding: LongContext | None) -> Directory:
    """Fill ``directory`` from a scenario's ``contents`` map, padded for long context if ``padding`` is given."""
    has_subdirectory = False
    for name, spec in entries.items():
        if spec["type"] == "directory":
            has_subdirectory = True
            directory.contents[name] = build_tree(Directory(name, directory), spec["contents"], padding)
        elif spec["type"] == "file":  # other types are ignored, as in BFCL
            content = spec["content"]
            if padding and name not in padding.exempt:
                content += padding.extension
            directory.contents[name] = File(name, content)
    if padding and not has_subdirectory:
        for name in padding.images:
            if name in directory.contents:
                raise ValueError(f"GorillaFileSystem config: {name!r} clashes with a long-context image file")
            directory.contents[name] = File(name)
    return directory


# ------------------------------------------------------------------------------------------------------------
# Paths, names and messages


def dir_path(node: Directory | None) -> str:
    """The path of ``node``, as pwd shows it.

    BFCL quirk: the root's own name is part of the path, and stale parent links are followed as they are.
    """
    names = []
    while node is not None:
        names.append(node.name)
        node = node.parent
    return "/" + "/".join(reversed(names))


def resolve_dir(path: str, root: Directory, cwd: Directory) -> Directory | None:
    """The directory at ``path`` (BFCL's rules), or None.

    ``.`` is the working directory ``cwd`` and ``/`` the root; other paths are split on ``/`` and followed from
    the root if they start with ``/``, else from the working directory. BFCL quirks: ``..`` is not understood,
    and absolute paths leave out the root's own name (``/docs``, not ``/alex/docs``).
    """
    if path == ".":
        return cwd
    if path == "/":
        return root
    node = root if path.startswith("/") else cwd
    for part in path.strip("/").split("/"):
        child = node if part == "." else node.contents.get(part)
        if not isinstance(child, Directory):
            return None
        node = child
    return node


def quote(text: str, limit: int = 80) -> str:
    """A name for a message: quoted, and cut short if long."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")


def kind(entry: Entry | type) -> str:
    """``"directory"`` for a directory or the Directory class, else ``"file"``."""
    return "directory" if entry is Directory or isinstance(entry, Directory) else "file"


def check_name(tool: str, name: str, chars: bool = True, length: bool = True) -> None:
    """Raise a ToolError if ``name`` has an invalid character (``chars``) or is too long (``length``)."""
    bad = sorted({c for c in name if c in INVALID_NAME_CHARS}) if chars else []
    if bad:
        hint = " Paths are not allowed: cd to the directory, then pass the bare name." if "/" in bad else ""
        raise ToolError(
            f"{tool}: {quote(name)} contains {', '.join(map(repr, bad))}; names cannot contain any of "
            f"{' '.join(INVALID_NAME_CHARS)}.{hint}"
        )
    if length and len(name) > MAX_NAME_CHARS:
        raise ToolError(f"{tool}: the name is {len(name)} characters long; use at most {MAX_NAME_CHARS}.")


# ------------------------------------------------------------------------------------------------------------
# Sizes, containment and relocation


def tree_size(top: Directory) -> int:
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


def reaches(start: Directory, goal: Directory) -> bool:
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


def relocated(item: Entry, name: str, parent: Directory, share: bool) -> Entry:
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
