"""The catalog of registered envs (``envtune list``) and domains: tools and task counts, derived from the code.

Every number comes from the envs themselves: the tasks of ``gym.make(id).unwrapped``, the domains those tasks
involve and the tools those domain classes declare; the ids and domains come from the domain registry. Nothing
is kept by hand, so the catalog cannot drift from the code, and the docs' tables are rendered from it
(:func:`markdown_env_table`, :func:`markdown_domain_table`; a test checks the docs hold them). BFCL's counts need
its data (``bfcl-eval``); without it the catalog says so instead of failing.

Example:
    >>> entry = next(e for e in env_catalog(include_bfcl=False) if e.env_id == "EnvTune/FileSystem-v0")
    >>> entry.num_tools, entry.num_bundled
    (18, 53)
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

import envtune_gym  # noqa: F401  (registers the EnvTune/* ids)
from envtune_gym.domains import DOMAINS, domain_class, registered_domains
from envtune_gym.envs.registration import ENV_IDS, register_envs
from envtune_gym.tasks import CATEGORIES, Task
from envtune_gym.tasks.bfcl import BFCLDataNotFound, load_bfcl_tasks
from envtune_gym.tasks.sources import BFCL_SET
from envtune_gym.tools import tool_specs

#: The Environment Tuning splits of BFCL's tasks, as ``split=`` takes them.
SPLITS: tuple[str, ...] = ("train", "test")


@dataclass(frozen=True)
class EnvEntry:
    """What one registered env holds.

    Attributes:
        env_id: the Gymnasium id, e.g. ``"EnvTune/FileSystem-v0"``.
        domains: BFCL class names of the domains its tasks involve.
        tools: names of every tool those domains declare (held-out ones included), in domain order.
        bundled: bundled task count per category (empty for an env that runs BFCL's tasks only).
        bfcl: BFCL task count per category (for a domain env: BFCL's tasks that involve only its domains, with
            ``task_source="bfcl"``); ``None`` when not counted (see ``bfcl_note``).
        bfcl_splits: BFCL task count per Environment Tuning split (``EnvTune/BFCL-v0`` only), else ``None``.
        bfcl_note: why BFCL's tasks were not counted (bfcl-eval missing, or not asked for); ``""`` if counted.
    """

    env_id: str
    domains: tuple[str, ...]
    tools: tuple[str, ...]
    bundled: dict[str, int] = field(default_factory=dict)
    bfcl: dict[str, int] | None = None
    bfcl_splits: dict[str, int] | None = None
    bfcl_note: str = ""

    @property
    def num_tools(self) -> int:
        """How many tools the env's domains declare."""
        return len(self.tools)

    @property
    def num_bundled(self) -> int:
        """How many bundled tasks the env has."""
        return sum(self.bundled.values())

    @property
    def num_bfcl(self) -> int | None:
        """How many of BFCL's tasks the env can run, or ``None`` when they were not counted."""
        return None if self.bfcl is None else sum(self.bfcl.values())

    def to_dict(self, *, with_tools: bool = False) -> dict[str, Any]:
        """The entry as JSON-able data (tool names only with ``with_tools``).

        Example:
            >>> EnvEntry("X-v0", ("A",), ("f", "g"), {"base": 1}).to_dict()["num_tools"]
            2
        """
        data: dict[str, Any] = {
            "id": self.env_id,
            "domains": list(self.domains),
            "num_tools": self.num_tools,
            "bundled": {"total": self.num_bundled, **self.bundled} if self.bundled else None,
            "bfcl": None if self.bfcl is None else {"total": self.num_bfcl, **self.bfcl},
            "bfcl_splits": self.bfcl_splits,
        }
        if self.bfcl_note:
            data["bfcl_note"] = self.bfcl_note
        if with_tools:
            data["tools"] = list(self.tools)
        return data


def env_catalog(include_bfcl: bool = True) -> list[EnvEntry]:
    """One :class:`EnvEntry` per registered ``EnvTune/*`` id, derived from the envs.

    Args:
        include_bfcl: count BFCL's tasks too (reads bfcl-eval's data when it is installed; each entry's
            ``bfcl_note`` says how to install it when it is not).

    Example:
        >>> [entry.env_id for entry in env_catalog(include_bfcl=False)][:2]
        ['EnvTune/FileSystem-v0', 'EnvTune/Messaging-v0']
    """
    register_envs()  # a domain registered since `import envtune_gym` gets its id first
    return [_entry(env_id, dict(defaults), include_bfcl) for env_id, defaults in ENV_IDS.items()]


def _entry(env_id: str, defaults: dict[str, Any], include_bfcl: bool) -> EnvEntry:
    bfcl_only = defaults.get("tasks") == BFCL_SET
    bundled = () if bfcl_only else _env_tasks(env_id)
    bfcl: tuple[Task, ...] | None = None
    splits: dict[str, int] | None = None
    note = "not counted (include_bfcl=False)"
    if include_bfcl:
        try:
            bfcl = _env_tasks(env_id, **({} if bfcl_only else {"task_source": "bfcl"}))
            splits = {split: len(_env_tasks(env_id, split=split)) for split in SPLITS} if bfcl_only else None
            note = ""
        except BFCLDataNotFound as exc:  # its message says how to install bfcl-eval
            note = str(exc)
    domains = _domains(bundled or bfcl or ())
    return EnvEntry(
        env_id=env_id,
        domains=domains,
        tools=tuple(spec.name for name in domains for spec in tool_specs(domain_class(name))),
        bundled=_per_category(bundled) if bundled else {},
        bfcl=None if bfcl is None else _per_category(bfcl),
        bfcl_splits=splits,
        bfcl_note=note,
    )


def _env_tasks(env_id: str, **kwargs: Any) -> tuple[Task, ...]:
    """The tasks ``gym.make(env_id, **kwargs)`` runs; none when the filters leave none (the env refuses).

    Raises:
        BFCLDataNotFound: BFCL's tasks were asked for and bfcl-eval is not installed.
    """
    try:
        env = gym.make(env_id, **kwargs)
    except ValueError:
        # ToolUseEnv refuses an empty task set (e.g. BFCL has no MessageAPI-only task): that count is zero.
        return ()
    try:
        return tuple(env.unwrapped.tasks)
    finally:
        env.close()


def _domains(tasks: Iterable[Task]) -> tuple[str, ...]:
    """The domains the tasks involve in the registry's order; every known one for an env with no task loaded.

    The only env that can have none loaded is ``EnvTune/BFCL-v0`` without bfcl-eval, which runs tasks over
    every domain in :data:`envtune_gym.domains.DOMAINS`.
    """
    involved = {name for task in tasks for name in task.domains} or set(DOMAINS)
    return tuple(name for name in DOMAINS if name in involved) + tuple(sorted(involved - set(DOMAINS)))


def _per_category(tasks: Sequence[Task]) -> dict[str, int]:
    counts = Counter(task.category for task in tasks)
    return {category: counts.get(category, 0) for category in CATEGORIES}


# ----------------------------------------------------------------------------------------------------------------
# Output


def catalog_json(entries: Sequence[EnvEntry], *, with_tools: bool = False) -> str:
    """The catalog as indented JSON: ``{"categories": [...], "envs": [...]}``.

    Example:
        >>> json.loads(catalog_json(env_catalog(include_bfcl=False)))["categories"]
        ['base', 'miss_func', 'miss_param', 'long_context']
    """
    payload = {"categories": list(CATEGORIES), "envs": [e.to_dict(with_tools=with_tools) for e in entries]}
    return json.dumps(payload, indent=2)


def format_catalog(entries: Sequence[EnvEntry], *, with_tools: bool = False, width: int = 110) -> str:
    """The catalog as an aligned plain-text table with notes below (and each env's tools with ``with_tools``).

    Example:
        >>> format_catalog(env_catalog(include_bfcl=False)).splitlines()[0].split("  ")[0]
        'id'
    """
    header = ("id", "tools", "bundled tasks", "BFCL tasks", "domains")
    rows = [header] + [
        (e.env_id, str(e.num_tools), _counts_cell(e.bundled), _bfcl_cell(e), ", ".join(e.domains))
        for e in entries
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = [_table_line(row, widths) for row in rows]
    lines.append("")
    lines += [f"Task counts: total ({' / '.join(CATEGORIES)}).", *_notes(entries)]
    if with_tools:
        for entry in entries:
            lines += ["", f"{entry.env_id} ({entry.num_tools} tools):"]
            lines += textwrap.wrap(
                ", ".join(entry.tools), width=width, initial_indent="  ", subsequent_indent="  "
            )
    return "\n".join(lines)


def _table_line(row: Sequence[str], widths: Sequence[int]) -> str:
    # Numbers right-aligned, text left-aligned; the last column (domains) is free-width.
    pairs = enumerate(zip(row[:-1], widths, strict=True))
    cells = [cell.rjust(width) if column == 1 else cell.ljust(width) for column, (cell, width) in pairs]
    return "  ".join([*cells, row[-1]]).rstrip()


def _counts_cell(counts: dict[str, int]) -> str:
    if not counts:
        return "-"
    return f"{sum(counts.values())} ({' / '.join(str(counts[category]) for category in CATEGORIES)})"


def _bfcl_cell(entry: EnvEntry) -> str:
    if entry.bfcl is None:
        return "n/a (see below)"
    cell = _counts_cell(entry.bfcl) if entry.num_bfcl else "0"
    if entry.bfcl_splits:
        cell += "; " + ", ".join(f"{split} {count}" for split, count in entry.bfcl_splits.items())
    return cell


def _notes(entries: Sequence[EnvEntry]) -> list[str]:
    # One note a line, unwrapped: an install command must stay copy-pasteable.
    notes = [
        'BFCL tasks: for a domain env, BFCL\'s tasks that involve only its domains (task_source="bfcl");',
        "  train/test: the Environment Tuning split of BFCL's tasks (split=...).",
    ]
    missing = sorted({entry.bfcl_note for entry in entries if entry.bfcl_note})
    return notes + [f"BFCL tasks n/a: {note}" for note in missing]


# ----------------------------------------------------------------------------------------------------------------
# The docs' tables (README.md, docs/envs.md, docs/domains.md hold them; tests/test_catalog.py checks they match)


def markdown_env_table(entries: Sequence[EnvEntry]) -> str:
    """The envs as a Markdown table: the columns of ``envtune list``, ids in code style.

    Example:
        >>> print(markdown_env_table(env_catalog(include_bfcl=False)).splitlines()[2])
        | `EnvTune/FileSystem-v0` | 18 | 53 (14 / 13 / 13 / 13) | n/a (see below) | GorillaFileSystem |
    """
    rows = [
        (f"`{e.env_id}`", str(e.num_tools), _counts_cell(e.bundled), _bfcl_cell(e), _domains_cell(e.domains))
        for e in entries
    ]
    return _markdown(("id", "tools", "bundled tasks", "BFCL tasks", "domains"), rows)


def markdown_domain_table(include_bfcl: bool = True) -> str:
    """Every registered domain as a Markdown table: module, env, tools, compared state and BFCL's task counts.

    Args:
        include_bfcl: count BFCL's tasks that involve each domain (and it alone); "n/a" without bfcl-eval.

    Example:
        >>> print(markdown_domain_table(include_bfcl=False).splitlines()[2])
        | GorillaFileSystem | `domains/filesystem.py` | `EnvTune/FileSystem-v0` | 18 | `root`, `long_context` | n/a |
    """
    bfcl: Sequence[Task] | None = None
    if include_bfcl:
        try:
            bfcl = load_bfcl_tasks()
        except BFCLDataNotFound:
            bfcl = None
    rows = []
    for spec in registered_domains():
        module = spec.cls.__module__
        where = (
            f"`domains/{module.rpartition('.')[2]}.py`"
            if module.startswith("envtune_gym.domains.")
            else f"`{module}`"
        )
        state = spec.cls.from_scenario({}).state()
        rows.append(
            (
                spec.name,
                where,
                f"`{spec.env_id}`" if spec.env_id else "via `EnvTune/BFCL-v0`",
                str(len(tool_specs(spec.cls))),
                ", ".join(f"`{key}`" for key in state) or "none (stateless)",
                _involving_cell(spec.name, bfcl),
            )
        )
    header = ("BFCL class", "module", "env id", "tools", "compared state", "BFCL tasks involving it (alone)")
    return _markdown(header, rows)


def _domains_cell(domains: Sequence[str]) -> str:
    if len(domains) > 1 and set(domains) == set(DOMAINS):
        return f"all {len(domains)} domains"
    return ", ".join(domains)


def _involving_cell(name: str, tasks: Sequence[Task] | None) -> str:
    if tasks is None:
        return "n/a"
    involving = [task for task in tasks if name in task.domains]
    return f"{len(involving)} ({sum(1 for task in involving if list(task.domains) == [name])})"


def _markdown(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)
