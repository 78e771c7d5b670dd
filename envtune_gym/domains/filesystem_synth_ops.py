"""The operations of the file-system task generator, one drawing function each, registered in ``_OPS`` by
weight and depth (for :mod:`envtune_gym.domains.filesystem_synth`; the module docstring there lists them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envtune_gym.domains import filesystem_synth_vocab as V
from envtune_gym.domains.filesystem import Directory, File
from envtune_gym.domains.filesystem_synth_parts import (
    Path,
    _cap,
    _common,
    _cost,
    _Ctx,
    _dir_ref,
    _file_ref,
    _fresh_along,
    _nav_calls,
    _nav_text,
    _new_content,
    _new_name,
    _Part,
    _pick_dir,
    _pick_file,
    _say,
    _variant,
    _withheld,
)
from envtune_gym.results import serialize_result
from envtune_gym.synth.draft import Call, Reference
from envtune_gym.synth.phrasing import pick, quoted

# ------------------------------------------------------------------------------------------------------------
# Operations: each returns a part, or None when the state offers it nothing to do


@dataclass(frozen=True)
class _Op:
    name: str
    weight: int
    depth: int  # the dependency depth it needs (0: none)
    draw: Callable[[_Ctx], _Part | None]


_OPS: list[_Op] = []


def _op(name: str, weight: int, depth: int = 0) -> Callable[[Callable[[_Ctx], _Part | None]], Any]:
    def register(draw: Callable[[_Ctx], _Part | None]) -> Callable[[_Ctx], _Part | None]:
        _OPS.append(_Op(name, weight, depth, draw))
        return draw

    return register


def _read_part(
    ctx: _Ctx, path: Path, key: str, call: Call, withheld: tuple[str, str, str] | None = None, **fields: Any
) -> _Part | None:
    """A read of one file in folder ``path``, worth doing only if its result is new; ``withheld``: its vague
    action, the follow-up giving the value, and the value, used when the agent cannot know the value yet."""
    if not ctx.sim.fresh(ctx.sim.peek(path, call.name, **call.arguments)):
        return None
    file, refs = _file_ref(ctx, path, call.arguments["file_name"])
    vague_key = withheld[0] if withheld and not ctx.sim.knows(withheld[2]) else None
    text, vague = _say(ctx, _nav_text(ctx, path), key, vague_key, file=file, **fields)
    part = _Part(text, [*_nav_calls(ctx.sim.cwd, path), call], refs=refs)
    if vague is not None and withheld is not None:
        part.vague, part.supply, part.value = vague, withheld[1], withheld[2]
    return part


def _lines(ctx: _Ctx, path: Path, name: str) -> list[str]:
    entry = ctx.sim.directory(path).contents[name]
    return entry.content.splitlines() if isinstance(entry, File) else []


@_op("list", 5)
def _list(ctx: _Ctx) -> _Part | None:
    path = _pick_dir(ctx, 1)
    if path is None:
        return None
    hidden = any(name.startswith(".") for name in ctx.sim.directory(path).contents)
    arguments = {"a": True} if hidden and ctx.rng.random() < 0.6 else {}
    if not _fresh_along(ctx, path, "ls", arguments, ctx.sim.peek(path, "ls", **arguments)):
        return None
    text, _ = _say(ctx, _nav_text(ctx, path), "list_hidden" if arguments else "list")
    return _Part(text, [*_nav_calls(ctx.sim.cwd, path), Call("ls", arguments)])


@_op("pwd", 2)
def _pwd(ctx: _Ctx) -> _Part | None:
    path = _pick_dir(ctx, 1)
    if path is None or not ctx.sim.fresh(ctx.sim.peek(path, "pwd")):
        return None
    text, _ = _say(ctx, _nav_text(ctx, path), "pwd")
    return _Part(text, [*_nav_calls(ctx.sim.cwd, path), Call("pwd")])


@_op("goto", 3)
def _goto(ctx: _Ctx) -> _Part | None:
    sim = ctx.sim
    # It must end going down: the last cd's result is what the turn checks, and it must be new.
    path = _pick_dir(ctx, 0, lambda d: len(d) > _common(sim.cwd, d))
    if path is None or not sim.fresh(serialize_result({"current_working_directory": path[-1]})):
        return None
    nav = _nav_text(ctx, path)
    sentence = pick(ctx.rng, V.SENTENCES_PLAIN)
    return _Part(sentence.format(A=_cap(nav), a=nav), _nav_calls(sim.cwd, path))


@_op("read", 12)
def _read(ctx: _Ctx) -> _Part | None:
    target = _pick_file(ctx, 1)
    return target and _read_part(ctx, target[0], "read", Call("cat", {"file_name": target[1]}))


@_op("count", 7)
def _count(ctx: _Ctx) -> _Part | None:
    target = _pick_file(ctx, 1)
    mode = pick(ctx.rng, ("l", "w", "c"))
    call = Call("wc", {"file_name": target[1], "mode": mode}) if target else None
    return target and call and _read_part(ctx, target[0], "count", call, unit=V.UNITS[mode])


@_op("tail", 4)
def _tail(ctx: _Ctx) -> _Part | None:
    target = _pick_file(ctx, 1, lambda p, n: len(_lines(ctx, p, n)) >= 3)
    if target is None:
        return None
    lines = ctx.rng.randint(2, min(5, len(_lines(ctx, *target)) - 1))
    call = Call("tail", {"file_name": target[1], "lines": lines})
    withheld = ("tail_vague", pick(ctx.rng, V.SUPPLY_LINES).format(n=lines), str(lines))
    return _read_part(ctx, target[0], "tail", call, withheld, n=lines)


@_op("sort", 3)
def _sort(ctx: _Ctx) -> _Part | None:
    target = _pick_file(ctx, 1, lambda p, n: sorted(lines := _lines(ctx, p, n)) != lines)
    return target and _read_part(ctx, target[0], "sort", Call("sort", {"file_name": target[1]}))


@_op("grep", 7)
def _grep(ctx: _Ctx) -> _Part | None:
    target = _pick_file(ctx, 1)
    if target is None:
        return None
    words = sorted({w.strip(".,:;()'") for line in _lines(ctx, *target) for w in line.split()})
    words = [w for w in words if len(w) >= 4 and w.isalpha() and w not in V.PADDING_TEXT]
    if not words:
        return None
    word = pick(ctx.rng, words)
    pattern = quoted(ctx.rng, word)
    call = Call("grep", {"file_name": target[1], "pattern": word})
    withheld = ("grep_vague", pick(ctx.rng, V.SUPPLY_PATTERN).format(pattern=pattern), word)
    return _read_part(ctx, target[0], "grep", call, withheld, pattern=pattern)


@_op("diff", 3)
def _diff(ctx: _Ctx) -> _Part | None:
    sim = ctx.sim
    counts = sim.name_counts()
    path = _pick_dir(ctx, 1, lambda d: sum(counts[n] == 1 for n, _ in _files_in(sim, d)) >= 2)
    if path is None:
        return None
    first, second = ctx.rng.sample([n for n, _ in _files_in(sim, path) if counts[n] == 1], 2)
    call = Call("diff", {"file_name1": first, "file_name2": second})
    result = sim.peek(path, "diff", **call.arguments)
    if result == serialize_result({"diff_lines": ""}):
        return None
    file, refs = _file_ref(ctx, path, first)
    file2, refs2 = _file_ref(ctx, path, second)
    text, _ = _say(ctx, _nav_text(ctx, path), "diff", file=file, file2=file2)
    part = _Part(text, [*_nav_calls(sim.cwd, path), call], refs=refs + refs2)
    return part if sim.fresh(result) else None


def _files_in(sim: V.Sim, path: Path) -> list[tuple[str, File]]:
    return [(n, e) for n, e in sim.directory(path).contents.items() if isinstance(e, File) and n[:1] != "."]


@_op("du", 2)
def _du(ctx: _Ctx) -> _Part | None:
    path = _pick_dir(ctx, 1)
    human = ctx.rng.random() < 0.5
    arguments = {"human_readable": True} if human else {}
    if path is None or not _fresh_along(ctx, path, "du", arguments, ctx.sim.peek(path, "du", **arguments)):
        return None
    hr = pick(ctx.rng, V.HUMAN_READABLE) if human else ""
    text, _ = _say(ctx, _nav_text(ctx, path), "du", hr=hr)
    return _Part(text, [*_nav_calls(ctx.sim.cwd, path), Call("du", arguments)])


def _names(ctx: _Ctx) -> set[str]:
    return set(ctx.sim.name_counts())


def _create(ctx: _Ctx, tool: str) -> _Part | None:
    """mkdir or touch a new name in a folder within reach."""
    path, folder = _pick_dir(ctx, 1), tool == "mkdir"

    def make() -> str:
        if folder:
            return V.dir_name(ctx.rng, _names(ctx), V.NEW_DIR_NAMES)
        return V.file_name(ctx.rng, _names(ctx), V.NEW_TOPICS, V.TEXT_GROUPS)

    new = _new_name(ctx, make)
    if path is None or new is None:
        return None
    shown = quoted(ctx.rng, new)
    text, vague = _say(ctx, _nav_text(ctx, path), tool, f"{tool}_vague", new=shown)
    calls = [*_nav_calls(ctx.sim.cwd, path), Call(tool, {"dir_name" if folder else "file_name": new})]
    made = {"dir" if folder else "file": (path, new)}
    return _Part(text, calls, made=made, **_withheld(vague, V.SUPPLY_NAME, ctx, new=shown))


@_op("mkdir", 6)
def _mkdir(ctx: _Ctx) -> _Part | None:
    return _create(ctx, "mkdir")


@_op("touch", 4)
def _touch(ctx: _Ctx) -> _Part | None:
    return _create(ctx, "touch")


@_op("write_new", 5)
def _write_new(ctx: _Ctx) -> _Part | None:
    path = _pick_dir(ctx, 2)
    new = _new_name(ctx, lambda: V.file_name(ctx.rng, _names(ctx), V.NEW_TOPICS, V.TEXT_GROUPS))
    content = _new_content(ctx)
    if path is None or new is None or content is None:
        return None
    shown, said = quoted(ctx.rng, new), quoted(ctx.rng, content)
    text, vague = _say(ctx, _nav_text(ctx, path), "write_new", "write_new_vague", new=shown, content=said)
    calls = [*_nav_calls(ctx.sim.cwd, path), Call("touch", {"file_name": new})]
    calls.append(Call("echo", {"content": content, "file_name": new}))
    withheld = _withheld(vague, V.SUPPLY_CONTENT, ctx, content=said)
    return _Part(text, calls, made={"file": (path, new)}, **withheld)


def _existing(ctx: _Ctx, extra: int) -> tuple[Path, str] | None:
    """A file to change: not one this turn made (dropping its creation would then be the same as the edit)."""
    return _pick_file(ctx, extra, lambda p, n: n not in ctx.sim.busy)


@_op("overwrite", 5)
def _overwrite(ctx: _Ctx) -> _Part | None:
    target, content = _existing(ctx, 1), _new_content(ctx)
    if target is None or content is None:
        return None
    file, refs = _file_ref(ctx, *target)
    said = quoted(ctx.rng, content)
    text, vague = _say(
        ctx, _nav_text(ctx, target[0]), "overwrite", "overwrite_vague", file=file, content=said
    )
    calls = [*_nav_calls(ctx.sim.cwd, target[0]), Call("echo", {"content": content, "file_name": target[1]})]
    return _Part(text, calls, refs=refs, **_withheld(vague, V.SUPPLY_CONTENT, ctx, content=said))


def _to_new_name(ctx: _Ctx, tool: str, key: str, made: str) -> _Part | None:
    """Rename (mv) or copy (cp) a file to a new name in its folder."""
    target = _existing(ctx, 1)
    new = target and _variant(ctx, target[1])
    if target is None or new is None:
        return None
    file, refs = _file_ref(ctx, *target)
    shown = quoted(ctx.rng, new)
    text, vague = _say(ctx, _nav_text(ctx, target[0]), key, f"{key}_vague", file=file, new=shown)
    calls = [*_nav_calls(ctx.sim.cwd, target[0]), Call(tool, {"source": target[1], "destination": new})]
    withheld = _withheld(vague, V.SUPPLY_NAME, ctx, new=shown)
    return _Part(text, calls, refs=refs, made={made: (target[0], new)}, **withheld)


@_op("rename", 4)
def _rename(ctx: _Ctx) -> _Part | None:
    return _to_new_name(ctx, "mv", "rename", "renamed")


@_op("copy_as", 4)
def _copy_as(ctx: _Ctx) -> _Part | None:
    return _to_new_name(ctx, "cp", "copy_as", "copy")


def _into_folder(ctx: _Ctx, tool: str, key: str) -> _Part | None:
    """Move (mv) or copy (cp) a file into a folder next to it."""
    sim = ctx.sim

    def has_room(path: Path, name: str) -> bool:
        return any(
            isinstance(e, Directory) and name not in e.contents for e in sim.directory(path).contents.values()
        )

    target = _pick_file(ctx, 1, lambda p, n: n not in sim.busy and has_room(p, n))
    if target is None or not has_room(*target):
        return None
    path, name = target
    folders = [
        n
        for n, e in sim.directory(path).contents.items()
        if isinstance(e, Directory) and name not in e.contents
    ]
    folder = pick(ctx.rng, folders)
    file, refs = _file_ref(ctx, path, name)
    shown, dir_refs = _dir_ref(ctx, (*path, folder))
    text, _ = _say(ctx, _nav_text(ctx, path), key, file=file, dir=shown)
    calls = [*_nav_calls(sim.cwd, path), Call(tool, {"source": name, "destination": folder})]
    made = {"moved": ((*path, folder), name)} if tool == "mv" else {}
    return _Part(text, calls, refs=refs + dir_refs, made=made)


@_op("move", 5)
def _move(ctx: _Ctx) -> _Part | None:
    return _into_folder(ctx, "mv", "move")


@_op("copy_into", 3)
def _copy_into(ctx: _Ctx) -> _Part | None:
    return _into_folder(ctx, "cp", "copy_into")


@_op("delete", 4)
def _delete(ctx: _Ctx) -> _Part | None:
    target = _existing(ctx, 1)
    if target is None:
        return None
    file, refs = _file_ref(ctx, *target)
    text, _ = _say(ctx, _nav_text(ctx, target[0]), "delete", file=file)
    return _Part(text, [*_nav_calls(ctx.sim.cwd, target[0]), Call("rm", {"file_name": target[1]})], refs=refs)


def _removable(ctx: _Ctx, path: Path) -> bool:
    """A folder we are not in, named once, made before this turn."""
    sim = ctx.sim
    return (
        bool(path)
        and sim.cwd[: len(path)] != path
        and sim.name_counts()[path[-1]] == 1
        and (path[-1] not in sim.busy)
    )


def _busy_under(sim: V.Sim, folder: Path) -> bool:
    return any(name in sim.busy for path, name, _ in sim.entries() if path[: len(folder)] == folder)


@_op("delete_dir", 2)
def _delete_dir(ctx: _Ctx) -> _Part | None:
    path = _pick_dir(
        ctx,
        0,
        lambda d: _removable(ctx, d) and bool(ctx.sim.directory(d).contents) and not _busy_under(ctx.sim, d),
    )
    if path is None or _cost(ctx.sim.cwd, path[:-1]) + 1 > ctx.budget:
        return None
    shown, refs = _dir_ref(ctx, path)
    text, _ = _say(ctx, _nav_text(ctx, path[:-1]), "delete_dir", dir=shown)
    return _Part(text, [*_nav_calls(ctx.sim.cwd, path[:-1]), Call("rm", {"file_name": path[-1]})], refs=refs)


@_op("rmdir", 8)
def _rmdir(ctx: _Ctx) -> _Part | None:
    sim = ctx.sim

    def empty_made(d: Path) -> bool:  # only folders the task made: long context fills the others with images
        return d in sim.made_dirs and _removable(ctx, d) and not sim.directory(d).contents

    path = _pick_dir(ctx, 0, empty_made)
    if path is None or _cost(sim.cwd, path[:-1]) + 1 > ctx.budget:
        return None
    shown, refs = _dir_ref(ctx, path)
    text, _ = _say(ctx, _nav_text(ctx, path[:-1]), "rmdir", dir=shown)
    return _Part(text, [*_nav_calls(sim.cwd, path[:-1]), Call("rmdir", {"dir_name": path[-1]})], refs=refs)


@_op("organize", 4)
def _organize(ctx: _Ctx) -> _Part | None:
    target = _existing(ctx, 2)
    new = _new_name(ctx, lambda: V.dir_name(ctx.rng, _names(ctx), V.NEW_DIR_NAMES))
    if target is None or new is None:
        return None
    file, refs = _file_ref(ctx, *target)
    shown = quoted(ctx.rng, new)
    text, vague = _say(ctx, _nav_text(ctx, target[0]), "organize", "organize_vague", file=file, new=shown)
    calls = [*_nav_calls(ctx.sim.cwd, target[0]), Call("mkdir", {"dir_name": new})]
    calls.append(Call("mv", {"source": target[1], "destination": new}))
    withheld = _withheld(vague, V.SUPPLY_NAME, ctx, new=shown)
    return _Part(text, calls, refs=refs, made={"dir": (target[0], new)}, **withheld)


@_op("backup_edit", 2)
def _backup_edit(ctx: _Ctx) -> _Part | None:
    target = _existing(ctx, 2)
    new, content = (target and _variant(ctx, target[1])), _new_content(ctx)
    if target is None or new is None or content is None:
        return None
    file, refs = _file_ref(ctx, *target)
    shown, said = quoted(ctx.rng, new), quoted(ctx.rng, content)
    text, vague = _say(
        ctx, _nav_text(ctx, target[0]), "backup_edit", "backup_edit_vague", file=file, new=shown, content=said
    )
    calls = [*_nav_calls(ctx.sim.cwd, target[0]), Call("cp", {"source": target[1], "destination": new})]
    calls.append(Call("echo", {"content": content, "file_name": new}))
    withheld = _withheld(vague, V.SUPPLY_CONTENT, ctx, content=said)
    return _Part(text, calls, refs=refs, made={"copy": (target[0], new)}, **withheld)


def _patterns(name: str) -> list[str]:
    """Parts of a name a user might search for, none of which could match long-context padding images."""
    stem, _ = V.split_name(name)
    options = [part for part in stem.split("_") if len(part) >= 3] + [stem]
    return [p for p in dict.fromkeys(options) if not any(p in image for image in V.PADDING_IMAGES)]


@_op("find", 4)
def _find(ctx: _Ctx) -> _Part | None:
    sim = ctx.sim
    below = [name for path, name, _ in sim.entries() if path[: len(sim.cwd)] == sim.cwd and name[:1] != "."]
    patterns = _patterns(pick(ctx.rng, below)) if below else []
    if not patterns:
        return None
    pattern = pick(ctx.rng, patterns)
    call = Call("find", {"path": ".", "name": pattern})
    if not sim.fresh(sim.peek(sim.cwd, "find", **call.arguments)):
        return None
    text, _ = _say(ctx, "", "find", pattern=quoted(ctx.rng, pattern))
    return _Part(text, [call])


def _unique_pattern(ctx: _Ctx, name: str) -> str | None:
    """A part of ``name`` that no other entry's name contains (so "the file with X in its name" is one file)."""
    options = [p for p in _patterns(name) if ctx.sim.count(V.Contains(p)) == 1]
    return pick(ctx.rng, options) if options else None


def _act_call(tool: str, name: str, mode: str | None) -> Call:
    return Call(tool, {"file_name": name, **({"mode": mode} if mode else {})})


@_op("find_chain", 8, depth=1)
def _find_chain(ctx: _Ctx) -> _Part | None:
    """find -> cd into the folder it shows -> act on the file (the name and folders come from find's result)."""
    sim = ctx.sim
    target = _pick_file(
        ctx, 0, lambda p, n: p[: len(sim.cwd)] == sim.cwd and len(p) - len(sim.cwd) + 2 <= ctx.budget
    )
    pattern = target and _unique_pattern(ctx, target[1])
    if target is None or pattern is None:
        return None
    tool, clause, mode = pick(ctx.rng, V.CHAIN_ACTS)
    find, act = Call("find", {"path": ".", "name": pattern}), _act_call(tool, target[1], mode)
    if not sim.fresh(sim.peek(sim.cwd, "find", **find.arguments)) or (
        tool != "rm" and not sim.fresh(sim.peek(target[0], tool, **act.arguments))
    ):
        return None
    shown = quoted(ctx.rng, pattern)
    text = pick(ctx.rng, V.FIND_LEADS).format(this="this folder", pattern=shown, act=clause)
    ref = Reference("entry", f"the file with {shown} in its name", target[1], V.Contains(pattern))
    return _Part(text, [find, *_nav_calls(sim.cwd, target[0]), act], refs=[ref], depth=1)


@_op("list_pick", 4, depth=1)
def _list_pick(ctx: _Ctx) -> _Part | None:
    """ls a folder -> act on "the only PDF" in it (its name comes from the listing)."""
    sim = ctx.sim
    counts = sim.name_counts()

    def singles(path: Path) -> dict[str, str]:
        groups: dict[str, list[str]] = {}
        for name, _ in _files_in(sim, path):
            groups.setdefault(V.group_of(name) or "", []).append(name)
        return {g: names[0] for g, names in groups.items() if g and len(names) == 1 and counts[names[0]] == 1}

    path = _pick_dir(ctx, 2, lambda d: bool(singles(d)))
    if path is None:
        return None
    group, name = pick(ctx.rng, sorted(singles(path).items()))
    tool, verb = pick(ctx.rng, V.PICK_ACTS)
    act = _act_call(tool, name, "w" if tool == "wc" else None)
    ls = sim.peek(path, "ls")
    if not _fresh_along(ctx, path, "ls", {}, ls) or (
        tool != "rm" and not sim.fresh(sim.peek(path, tool, **act.arguments))
    ):
        return None
    text, _ = _say(ctx, _nav_text(ctx, path), "list_pick", act=verb, kind=group)
    ref = Reference(f"file:{'/'.join(path)}", f"the {group}", name, V.Describes("", V.EXT_GROUPS[group]))
    return _Part(text, [*_nav_calls(sim.cwd, path), Call("ls"), act], refs=[ref], depth=1)


@_op("note", 10, depth=1)
def _note(ctx: _Ctx) -> _Part | None:
    """cat a note -> act on the file it mentions (in the note's folder or below); found first with find at depth 2."""
    sim = ctx.sim
    counts = sim.name_counts()
    pairs = [
        (path, name, other_path, other)
        for path, name in sim.files() if name.startswith(V.POINTER_STEMS) and counts[name] == 1
        for other_path, other in sim.files()
        if other != name and other_path[: len(path)] == path and counts[other] == 1
        and other in sim.directory(path).contents[name].content
    ]  # fmt: skip
    if not pairs:
        return None
    path, note, where, target = pick(ctx.rng, pairs)
    tool, verb = pick(ctx.rng, V.NOTE_ACTS)
    act = _act_call(tool, target, "l" if tool == "wc" else None)
    pattern = _unique_pattern(ctx, note) if ctx.max_depth >= 2 and ctx.rng.random() < 0.7 else None
    calls = [Call("cat", {"file_name": note}), *_nav_calls(path, where), act]
    if pattern is not None and path[: len(sim.cwd)] == sim.cwd:
        calls = [Call("find", {"path": ".", "name": pattern}), *_nav_calls(sim.cwd, path), *calls]
        lead, obj = pick(ctx.rng, V.NOTE_FIND_LEADS)
        clause = verb.format(obj=obj)
        text = lead.format(this="this folder", pattern=quoted(ctx.rng, pattern), act=clause, Act=_cap(clause))
        refs, depth = [Reference("entry", "the note", note, V.Contains(pattern))], 2
    else:
        file, refs = _file_ref(ctx, path, note)
        nav = _nav_text(ctx, path)
        lead, obj = pick(ctx.rng, V.NOTE_LEADS)
        lead = lead.format(file=file, File=_cap(file), act=verb.format(obj=obj))
        text, depth = (f"{_cap(nav)}. {lead}" if nav else lead), 1
        calls = [*_nav_calls(sim.cwd, path), *calls]
    fresh = sim.fresh(sim.peek(path, "cat", file_name=note)) and (
        tool == "rm" or sim.fresh(sim.peek(where, tool, **act.arguments))
    )
    if calls[0].name == "find":
        fresh = fresh and sim.fresh(sim.peek(sim.cwd, "find", **calls[0].arguments))
    return _Part(text, calls, refs=refs, depth=depth) if fresh else None
