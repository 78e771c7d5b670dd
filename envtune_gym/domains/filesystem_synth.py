"""The task generator of the file-system domain (BFCL's ``GorillaFileSystem``): ``envtune synth filesystem``.

A task starts in a home folder of a few folders (up to two levels deep) and files with plausible names and
contents (spreadsheets as CSV rows, notes, scripts, configs, slides), sized by ``knobs.state_size``; up to
``knobs.distractors`` of the files are near misses of files the turns are likely to pick (``budget_q3_old.csv``
next to ``budget_q3.csv``), and a note file may mention another file by name. The drafted calls run on a private
:class:`~envtune_gym.domains.filesystem.FileSystem` as the turns are drawn, so every call is valid where it runs,
every read returns a result no earlier call produced (else BFCL's check would pass without it), and every write
changes the state.

Each turn is one operation, sometimes two, preceded by the ``cd`` calls that reach its folder (the request says
where to go: "go back up to 'alex' and into 'reports'"):

- reads: list (``ls``, hidden files with ``a=True``), where am I (``pwd``), go to a folder (``cd``), show a file
  (``cat``), count lines/words/characters (``wc``), last lines (``tail``), sorted lines (``sort``), lines with a
  word (``grep``), compare two files (``diff``), disk usage (``du``), search names (``find``);
- writes: new folder (``mkdir``), empty file (``touch``), new file with text (``touch`` + ``echo``), overwrite
  (``echo``), rename and move (``mv``), copy into a folder or as a new name (``cp``), delete (``rm``, a file or
  a whole folder), remove an empty folder (``rmdir``), organize (``mkdir`` + ``mv``), copy and edit (``cp`` +
  ``echo``);
- chains that use an earlier result (``knobs.max_depth``): find a file by part of its name, go to it and act on
  it (``find`` -> ``cd`` -> ``cat``/``wc``/``sort``/``rm``); list a folder and act on "the only PDF" in it
  (``ls`` -> ...); read a note and act on the file it mentions (``cat`` -> ``cat``/``rm``/``wc``), found first
  with ``find`` at depth 2.

Files are named by their exact name, by a unique description ("the budget spreadsheet", a :class:`Reference`), or
by what an earlier turn made ("the file you just created"). Operations whose request carries a value the user
chooses (a new name, a text, a word to search for, a line count) have a ``Withheld`` phrasing for miss_param.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from envtune_gym.domains import filesystem_synth_vocab as V
from envtune_gym.domains.base import Domain
from envtune_gym.domains.filesystem_synth_ops import (
    _OPS,
    _mkdir,
)
from envtune_gym.domains.filesystem_synth_parts import (
    COMPOUND_CHANCE,
    DOMAIN,
    TRIES,
    _Ctx,
    _Part,
)
from envtune_gym.synth.draft import Draft, Reference, Turn, Withheld
from envtune_gym.synth.generator import Generator, Knobs, register_generator
from envtune_gym.synth.phrasing import pick

# ------------------------------------------------------------------------------------------------------------
# Turns and the generator


#: Operations whose request always has a form without the value the user chooses (for miss_param).
WITHHOLDING = frozenset(
    ["mkdir", "touch", "write_new", "overwrite", "rename", "copy_as", "organize", "backup_edit"]
)


def _part(ctx: _Ctx, fallback: bool = True, withhold: bool = False, besides: str = "") -> _Part | None:
    """One operation that fits the budget and depth, drawn by weight (``withhold``: one with a vague form; not
    ``besides``, the turn's other one); a new folder here when none does."""
    ops = [
        op for op in _OPS
        if op.depth <= ctx.max_depth and (not withhold or op.name in WITHHOLDING) and op.name != besides
    ]  # fmt: skip
    weights = [op.weight for op in ops]
    for _ in range(TRIES):
        op = ctx.rng.choices(ops, weights)[0]
        part = op.draw(ctx)
        if part is not None and len(part.calls) <= ctx.budget and _valid_refs(ctx.sim, part.refs):
            part.op = op.name
            return part
    return _mkdir(_Ctx(ctx.rng, ctx.sim, 1, 0)) if fallback else None


def _valid_refs(sim: V.Sim, refs: list[Reference]) -> bool:
    """Whether each reference picks exactly its entity as the turn began (a second part may not point at what
    the first one made)."""
    return all(
        [name for name in V.entity_names(sim.start, ref.kind) if ref.matches(name)] == [ref.chosen]
        for ref in refs
    )


#: Arguments of writes that name what they change.
_WRITTEN = ("dir_name", "file_name", "source", "destination")


def _apply(sim: V.Sim, part: _Part) -> None:
    sim.run(part.calls)
    for call in part.calls:
        if call.name in ("mkdir", "touch", "echo", "mv", "cp", "rm", "rmdir"):
            sim.busy.update(call.arguments[key] for key in _WRITTEN if key in call.arguments)
    for kind, (path, name) in part.made.items():
        sim.recent[kind] = sim.made[kind] = (path, name)
        if kind == "dir":
            sim.made_dirs.add((*path, name))


def _turn(rng: random.Random, sim: V.Sim, knobs: Knobs, withhold: bool) -> tuple[Turn, int]:
    """One user turn (one operation, sometimes two) and its dependency depth; ``withhold``: the turn must have
    a vague form (the draft's last chance to take the miss_param category)."""
    sim.recent, sim.made, sim.busy = sim.made, {}, set()  # "just made" = made by the previous turn
    sim.start = list(sim.entries())
    first_withholds = withhold and (knobs.max_calls_per_turn == 1 or rng.random() < 0.75)
    parts = [_part(_Ctx(rng, sim, knobs.max_calls_per_turn, knobs.max_depth), withhold=first_withholds)]
    assert parts[0] is not None  # the fallback always fits
    _apply(sim, parts[0])
    left = knobs.max_calls_per_turn - len(parts[0].calls)
    second_withholds = withhold and parts[0].vague is None
    if left > 0 and (second_withholds or rng.random() < COMPOUND_CHANCE):
        ctx = _Ctx(rng, sim, left, knobs.max_depth, lead=False)
        second = _part(ctx, fallback=second_withholds, withhold=second_withholds, besides=parts[0].op)
        if second is not None:
            connector = pick(rng, V.CONNECTORS)
            second.text = f"{connector} {second.text}".lstrip()
            second.vague = second.vague and f"{connector} {second.vague}".lstrip()
            _apply(sim, second)
            parts.append(second)
    text = " ".join(part.text for part in parts)
    withheld = _vague_turn(parts)
    sim.corpus.append(text)
    calls = [call for part in parts for call in part.calls]
    refs = [ref for part in parts for ref in part.refs]
    return Turn(text, calls, withheld, refs), max(part.depth for part in parts)


def _vague_turn(parts: list[_Part]) -> Withheld | None:
    """The turn with one part's value left out, unless another part's request gives it away."""
    for chosen in parts:
        if chosen.vague is None or chosen.supply is None:
            continue
        vague = " ".join(chosen.vague if part is chosen else part.text for part in parts)
        if chosen.value not in vague:
            return Withheld(vague, chosen.supply)
    return None


class FileSystemGenerator(Generator):
    """Tasks over BFCL's GorillaFileSystem: a home folder, 1-6 requests to read, search, create, edit, move,
    copy and delete in it (see the module docstring for the operations)."""

    name = "filesystem"
    domains = (DOMAIN,)

    def draft(self, rng: random.Random, knobs: Knobs, turns: int) -> Draft:
        world = V.build_world(rng, knobs)
        sim = V.Sim(world)
        drawn: list[Turn] = []
        depth = 0
        for index in range(turns):
            last = index == turns - 1
            turn, turn_depth = _turn(rng, sim, knobs, last and all(t.withheld is None for t in drawn))
            drawn.append(turn)
            depth = max(depth, turn_depth)
        return Draft(
            domains=[DOMAIN],
            initial_config={DOMAIN: world.config},
            turns=drawn,
            depth=depth,
            state_size=world.size,
            distractors=world.distractors,
        )

    def entities(self, kind: str, domains: Mapping[str, Domain]) -> list[str]:
        """Names of the live tree's ``file``s, ``dir``s or any ``entry``; ``file:a/b``: the files in folder a/b."""
        return V.entity_names(V.walk(domains[DOMAIN].root), kind)

    def observable(self, domains: Mapping[str, Domain]) -> list[str]:
        """Every path in the tree (``find`` with no name lists them all, hidden ones included), the working
        folder (``pwd``), and cd's conventions ('..', '/'), which the cd tool's description states."""
        root = domains[DOMAIN].root
        paths = "\n".join("/".join((*path, name)) for path, name, _ in V.walk(root))
        return [paths, f"/{root.name}", "cd('..') goes up one folder, cd('/') to the top; '.' is here"]


register_generator(FileSystemGenerator)
