"""Parts of a file-system task turn: one operation with the navigation that reaches its folder, and the helpers
that phrase it and pick its files (for :mod:`envtune_gym.domains.filesystem_synth`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envtune_gym.domains import filesystem_synth_vocab as V
from envtune_gym.domains.filesystem import File
from envtune_gym.synth.draft import Call, Reference
from envtune_gym.synth.phrasing import pick, quoted

Path = tuple[str, ...]
DOMAIN = "GorillaFileSystem"
#: Chance that a turn with calls to spare asks for a second operation.
COMPOUND_CHANCE = 0.15
#: Operations drawn per part before falling back to a new folder (which always fits).
TRIES = 24
# ------------------------------------------------------------------------------------------------------------
# Parts of a turn: one operation, with the navigation that reaches its folder


@dataclass
class _Part:
    text: str
    calls: list[Call]
    vague: str | None = None  # the request without the value the user chooses (miss_param)
    supply: str | None = None  # the follow-up that gives it
    value: str = ""  # the value the vague form leaves out
    refs: list[Reference] = field(default_factory=list)
    depth: int = 0
    op: str = "mkdir"  # the operation that drew it
    made: dict[str, tuple[Path, str]] = field(default_factory=dict)  # a kind of V.RECENT_FILES or "dir"


@dataclass
class _Ctx:
    rng: random.Random
    sim: V.Sim
    budget: int  # calls this part may use
    max_depth: int
    lead: bool = True  # may open with "Thanks." (not a turn's second part)


def _common(a: Path, b: Path) -> int:
    length = 0
    while length < min(len(a), len(b)) and a[length] == b[length]:
        length += 1
    return length


def _cost(cwd: Path, target: Path) -> int:
    common = _common(cwd, target)
    return len(cwd) + len(target) - 2 * common


def _nav_calls(cwd: Path, target: Path) -> list[Call]:
    """The cd calls from ``cwd`` to ``target``: up with '..' to the common folder, then down one name a call."""
    common = _common(cwd, target)
    ups = [Call("cd", {"folder": ".."}) for _ in range(len(cwd) - common)]
    return ups + [Call("cd", {"folder": name}) for name in target[common:]]


def _nav_text(ctx: _Ctx, target: Path) -> str:
    """How the user says where to go ("" when the work is here)."""
    rng, cwd = ctx.rng, ctx.sim.cwd
    common = _common(cwd, target)
    ups, downs = len(cwd) - common, target[common:]
    down = quoted(rng, "/".join(downs)) if downs else ""
    place = quoted(rng, ctx.sim.root if common == 0 else target[common - 1])
    if not ups:
        return pick(rng, V.NAV_DOWN).format(d=down) if downs else ""
    if downs:
        return pick(rng, V.NAV_ACROSS).format(p=place, d=down)
    if common == 0:
        return pick(rng, V.NAV_UP_ROOT).format(r=place)
    return pick(rng, V.NAV_UP_ONE if ups == 1 and rng.random() < 0.5 else V.NAV_UP).format(p=place)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _say(
    ctx: _Ctx, nav: str, key: str, vague_key: str | None = None, **fields: Any
) -> tuple[str, str | None]:
    """The request for action ``key`` after navigation ``nav``, and its vague form (action ``vague_key``)."""
    rng = ctx.rng
    fields.setdefault("here", "there" if nav else "here")
    fields.setdefault("this", "that folder" if nav else "this folder")
    action = pick(rng, V.ACTIONS[key]).format(**fields)
    vague = pick(rng, V.ACTIONS[vague_key]).format(**fields) if vague_key else None
    sentence = pick(rng, V.SENTENCES_NAV if nav else V.SENTENCES_PLAIN)
    lead = pick(rng, V.LEADS) + " " if ctx.lead and rng.random() < 0.2 else ""

    def fill(clause: str) -> str:
        return lead + sentence.format(A=_cap(clause), a=clause, N=_cap(nav), n=nav)

    return fill(action), (fill(vague) if vague is not None else None)


def _fresh_along(ctx: _Ctx, path: Path, tool: str, arguments: dict[str, Any], result: str | None) -> bool:
    """A folder-level read is fresh, and no folder on the way gives the same result (else a cd is idle)."""
    sim = ctx.sim
    if not sim.fresh(result):
        return False
    common = _common(sim.cwd, path)
    route = [sim.cwd[:depth] for depth in range(len(sim.cwd), common - 1, -1)]
    route += [path[:depth] for depth in range(common + 1, len(path))]
    return all(sim.peek(stop, tool, **arguments) != result for stop in route if stop != path)


def _pick_dir(ctx: _Ctx, extra: int, test: Callable[[Path], bool] | None = None) -> Path | None:
    """A folder within reach of the call budget (the current one half the time, when it fits)."""
    sim = ctx.sim
    options = [d for d in sim.dirs() if _cost(sim.cwd, d) + extra <= ctx.budget and (test is None or test(d))]
    if not options:
        return None
    return sim.cwd if sim.cwd in options and ctx.rng.random() < 0.6 else pick(ctx.rng, options)


def _pick_file(
    ctx: _Ctx, extra: int, test: Callable[[Path, str], bool] | None = None
) -> tuple[Path, str] | None:
    """A visible file with a unique name within reach; files with a near miss or just made come first."""
    sim = ctx.sim
    counts = sim.name_counts()
    options = [
        (path, name)
        for path, name in sim.files()
        if counts[name] == 1 and not name.startswith(".") and _cost(sim.cwd, path) + extra <= ctx.budget
        and (test is None or test(path, name))
    ]  # fmt: skip
    if not options:
        return None
    recent = set(sim.recent.values())
    preferred = [option for option in options if option[1] in sim.focus or option in recent]
    here = [option for option in options if option[0] == sim.cwd]
    draw = ctx.rng.random()
    if preferred and draw < 0.4:
        return pick(ctx.rng, preferred)
    return pick(ctx.rng, here if here and draw < 0.7 else options)


def _file_ref(ctx: _Ctx, path: Path, name: str) -> tuple[str, list[Reference]]:
    """How the user names a file: what an earlier turn made, a unique description, or its name."""
    rng, sim = ctx.rng, ctx.sim
    for kind, phrases in V.RECENT_FILES.items():
        if sim.recent.get(kind) == (path, name) and rng.random() < 0.6:
            phrase = pick(rng, phrases)
            return phrase, [Reference("file", phrase, name, V.Is(name))]
    group = V.group_of(name)
    topic = next((part for part in V.split_name(name)[0].split("_") if part in V.TOPICS), None)
    if group and topic and rng.random() < 0.4:
        test = V.Describes(topic, V.EXT_GROUPS[group])
        if sim.count(test, File) == 1:
            phrase = f"the {topic} {group}"
            return phrase, [Reference("file", phrase, name, test)]
    return quoted(rng, name), []


def _dir_ref(ctx: _Ctx, path: Path) -> tuple[str, list[Reference]]:
    if ctx.sim.recent.get("dir") == (path[:-1], path[-1]) and ctx.rng.random() < 0.6:
        phrase = pick(ctx.rng, V.RECENT_DIR)
        return phrase, [Reference("dir", phrase, path[-1], V.Is(path[-1]))]
    return quoted(ctx.rng, path[-1]), []


def _new_name(ctx: _Ctx, make: Callable[[], str]) -> str | None:
    """A new name nobody has seen (so a miss_param turn that leaves it out really withholds it)."""
    for _ in range(12):
        name = make()
        if not ctx.sim.knows(name):
            return name
    return None


def _new_content(ctx: _Ctx) -> str | None:
    options = [text for text in V.NEW_CONTENT if not ctx.sim.knows(text)]
    return pick(ctx.rng, options) if options else None


def _variant(ctx: _Ctx, name: str) -> str | None:
    """A new name for a copy or a rename of ``name``: ``budget_q3_backup.csv`` or a fresh stem, same extension."""
    stem, ext = V.split_name(name)

    def make() -> str:
        if ctx.rng.random() < 0.6:
            return f"{stem}_{pick(ctx.rng, V.RENAME_SUFFIXES)}{ext}"
        return f"{pick(ctx.rng, V.NEW_TOPICS)}_{pick(ctx.rng, V.QUALIFIERS)}{ext}"

    return _new_name(ctx, make)


def _withheld(vague: str | None, template: tuple[str, ...], ctx: _Ctx, **value: str) -> dict[str, str | None]:
    """The vague form's fields of a part: the request, the follow-up (``template`` with ``value``), the value."""
    if vague is None:
        return {}
    return {
        "vague": vague,
        "supply": pick(ctx.rng, template).format(**value),
        "value": _bare(*value.values()),
    }


def _bare(shown: str) -> str:
    return shown.strip("'\"`")
